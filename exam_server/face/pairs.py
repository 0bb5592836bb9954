"""Decide labelled pairs of photos exactly as the server decides check-ins and captures.

`exam-server face verify|calibrate|evaluate` all come through here. Each distinct image is analysed
once (per detection setting; an ID-card cut is an image of its own) and the quality gate of each use
is applied to its figures: the enrolled side as an uploaded photo (or an ID-card photo with
`id_card`), the live side as an in-exam capture. Each pair is then decided by `fusion.verify_fused`,
the function check-in and captures call, or by one model's own operating point (`model`).

A cohort directory stands for the enrolled population (cohort normalisation and the rank check):
each of its photos is one enrolled worker; its sub-folders name people, so that when it holds the
pairs' own people (the same folder names as the pairs' paths) the claimed person is left out of his
pair's population and the live person counts once, as a worker enrolled once would.
"""

from __future__ import annotations

import hashlib
import json
import os
import pickle
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from .batch import BatchResult, analyse_files
from .cohort import ArrayGallery, Population
from .engine import FaceEngine
from .errors import FaceRefusal, ModelMismatchError
from .models import EmbeddingModel
from .quality import check_quality
from .samples import FaceSample, Template

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png")
# Bumped whenever detection, landmarks or the quality figures change, so that older cached analyses are not used.
ANALYSIS_VERSION = 3


@dataclass(frozen=True)
class PairResult:
    """One pair's decision, or which image was refused and why."""

    a: str
    b: str
    same: bool | None
    group: str = ""
    verification: Any = None  # fusion.MultiVerification, or samples.Verification with one model
    refusal: FaceRefusal | None = None
    refused_image: str | None = None

    @property
    def decision(self) -> str | None:
        return None if self.verification is None else self.verification.decision

    @property
    def distance(self) -> float | None:
        return None if self.verification is None else self.verification.distance

    def model_distances(self) -> dict[str, float]:
        """Return each model's distance by model name (one entry when one model judged)."""
        v = self.verification
        if v is None:
            return {}
        if hasattr(v, "model_distances"):
            return {m: float(d) for m, d in zip(v.models, v.model_distances, strict=True)}
        return {v.model_name: float(v.distance)}

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"a": self.a, "b": self.b}
        if self.same is not None:
            out["same"] = self.same
        if self.group:
            out["set"] = self.group
        if self.verification is not None:
            out.update(self.verification.to_dict())
            out["distances"] = {m: round(d, 6) for m, d in self.model_distances().items()}
            out["match"] = self.verification.decision == "match"
        else:
            assert self.refusal is not None
            out.update({**self.refusal.to_dict(), "image": self.refused_image})
        return out


class AnalysisCache:
    """Analyses kept by image content and engine settings (on disk with a directory), so that re-running costs no face work."""

    def __init__(self, directory: str | os.PathLike[str] | None, engine: FaceEngine) -> None:
        self.directory = Path(directory) if directory else None
        self._memory: dict[str, BatchResult] = {}
        if self.directory is not None:
            self.directory.mkdir(parents=True, exist_ok=True)
        s = engine.settings
        # The models are not part of the key: an analysis holding every model the engine needs serves it.
        self.model_keys = {m.key for m in engine.models}
        identity = {
            "analysis": ANALYSIS_VERSION,
            "intake": [s.max_bytes, s.max_pixels, list(s.allowed_formats), s.work_max_side],
            "upsample": [s.detect_upsample_live, s.detect_upsample_upload, s.detect_upsample_id_card],
            "fast": [s.detect_fast_live, s.detect_fast_side],
            "detector": engine.detector.name,
            "landmarks": engine.landmarker.name,
        }
        self.fingerprint = hashlib.sha256(json.dumps(identity, sort_keys=True).encode()).hexdigest()[:16]

    def _name(self, data_digest: str, kind: str, id_card: bool) -> str:
        return f"{data_digest[:32]}-{kind}-{int(id_card)}-{self.fingerprint}.pkl"

    def get(self, data_digest: str, kind: str, id_card: bool) -> BatchResult | None:
        name = self._name(data_digest, kind, id_card)
        if name in self._memory or self.directory is None:
            return self._memory.get(name)
        path = self.directory / name
        if not path.is_file():
            return None
        try:
            result = pickle.loads(path.read_bytes())  # written by this class only, in the operator's own directory
        except (OSError, pickle.UnpicklingError, EOFError, AttributeError):
            return None
        if result.sample is not None and not self.model_keys <= set(result.sample.embeddings):
            return None  # analysed with fewer models: analyse again (and replace it)
        self._memory[name] = result
        return result

    def put(self, data_digest: str, kind: str, id_card: bool, result: BatchResult) -> None:
        name = self._name(data_digest, kind, id_card)
        self._memory[name] = result
        if self.directory is not None:
            path = self.directory / name
            tmp = path.with_name(f".{name}.{os.getpid()}.tmp")
            tmp.write_bytes(pickle.dumps(result))
            os.replace(tmp, path)


def _detection_kind(engine: FaceEngine, kind: str) -> str:
    """Return the kind whose detection settings this kind shares (live and uploads detect alike by default)."""
    s = engine.settings
    if kind == "upload" and s.detect_upsample_upload == s.detect_upsample_live and not s.detect_fast_live:
        return "live"
    return kind


def analyse_images(
    engine: FaceEngine,
    paths: Sequence[Path],
    kind: str,
    id_card: bool = False,
    cache: AnalysisCache | None = None,
    processes: int | None = None,
) -> dict[Path, BatchResult]:
    """Analyse each distinct file once (no quality refusal: apply `usable` per use), reusing the cache."""
    detect_as = _detection_kind(engine, kind)
    results: dict[Path, BatchResult] = {}
    digests: dict[Path, str] = {}
    todo: list[Path] = []
    for path in dict.fromkeys(paths):
        try:
            digests[path] = hashlib.sha256(path.read_bytes()).hexdigest()
        except OSError as exc:
            results[path] = BatchResult(str(path), None, "unreadable", "无法读取文件。", str(exc))
            continue
        cached = cache.get(digests[path], detect_as, id_card) if cache is not None else None
        if cached is not None:
            results[path] = cached
        else:
            todo.append(path)
    if todo:
        fresh = analyse_files(todo, detect_as, processes, engine.settings, id_card=id_card, check=False)
        for path, result in zip(todo, fresh, strict=True):
            results[path] = result
            if cache is not None:
                cache.put(digests[path], detect_as, id_card, result)
    return results


def usable(result: BatchResult, kind: str, engine: FaceEngine) -> FaceSample | FaceRefusal:
    """Return the sample of an analysis as this kind of image, or its refusal (the kind's quality gate applied)."""
    if result.sample is None:
        return FaceRefusal(result.error or "not_an_image", result.detail)
    try:
        check_quality(result.sample.quality, kind, engine.settings)
    except FaceRefusal as refusal:
        return refusal
    return replace(result.sample, kind=kind, source=kind)


@dataclass
class Cohort:
    """Photos standing for the enrolled population: one row per photo, with its person (sub-folder)."""

    paths: list[Path]
    people: list[str]
    samples: list[FaceSample]
    refused: int = 0
    galleries: dict[str, ArrayGallery] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._row_of = {path: row for row, path in enumerate(self.paths)}
        self._rows_of: dict[str, list[int]] = {}
        for row, person in enumerate(self.people):
            self._rows_of.setdefault(person, []).append(row)

    def population(self, claimed: Path, live: Path, search_key: str | None) -> Population:
        """Return the population of one pair: the pair's photos and the claimed person left out, the live person once."""
        claimed_person, live_person = claimed.parent.name, live.parent.name
        drop = set(self._rows_of.get(claimed_person, ()))
        drop.update(self._row_of[p] for p in (claimed.resolve(), live.resolve()) if p in self._row_of)
        if live_person != claimed_person:
            own = [row for row in self._rows_of.get(live_person, ()) if row not in drop]
            drop.update(own[1:])  # enrolled once: his first other photo stays
        galleries = {key: gallery.restricted(drop_rows=sorted(drop)) for key, gallery in self.galleries.items()}
        rank = galleries.get(search_key) if search_key else None
        return Population(galleries, None, rank)


def load_cohort(
    engine: FaceEngine, directory: Path, cache: AnalysisCache | None = None, processes: int | None = None
) -> Cohort:
    """Analyse every photo of a cohort directory (as enrolment uploads) and build one gallery per model."""
    paths = sorted(
        (Path(folder) / name).resolve()
        for folder, _, names in os.walk(directory, followlinks=True)
        for name in names
        if name.lower().endswith(IMAGE_SUFFIXES)
    )
    analysed = analyse_images(engine, paths, "upload", cache=cache, processes=processes)
    kept, people, samples, refused = [], [], [], 0
    for path in paths:
        sample = usable(analysed[path], "upload", engine)
        if isinstance(sample, FaceRefusal):
            refused += 1
            continue
        kept.append(path)
        people.append(path.parent.name)
        samples.append(sample)
    cohort = Cohort(kept, people, samples, refused)
    ids = np.arange(len(kept))
    for model in engine.models:
        vectors = np.array([s.embedding_for(model.key).vector for s in samples], dtype=np.float32)
        cohort.galleries[model.key] = ArrayGallery(model.key, ids, vectors.reshape(len(kept), model.dim), model.metric)
    return cohort


def analyse_pair_images(
    engine: FaceEngine,
    pairs: Sequence[Mapping[str, str]],
    root: Path,
    id_card: bool = False,
    cache: AnalysisCache | None = None,
    processes: int | None = None,
) -> tuple[dict[Path, BatchResult], dict[Path, BatchResult]]:
    """Return the analyses of the enrolled (a) and live (b) images, each distinct image analysed once."""
    lefts, rights = [root / p["a"] for p in pairs], [root / p["b"] for p in pairs]
    if id_card or _detection_kind(engine, "upload") != "live":
        firsts = analyse_images(engine, lefts, "id_card" if id_card else "upload", id_card, cache, processes)
        return firsts, analyse_images(engine, rights, "live", False, cache, processes)
    both = analyse_images(engine, lefts + rights, "live", False, cache, processes)  # both sides detect alike
    return both, both


def decide_pairs(
    engine: FaceEngine,
    pairs: Sequence[Mapping[str, str]],
    images: str | os.PathLike[str],
    id_card: bool = False,
    model: EmbeddingModel | None = None,
    cohort: Cohort | None = None,
    cache: AnalysisCache | None = None,
    processes: int | None = None,
) -> Iterator[PairResult]:
    """Decide every pair in order: a is the enrolled photo, b the live one (analysis once per distinct image)."""
    from .calibration import parse_same
    from .fusion import verify_fused

    root = Path(images)
    enrolled_kind = "id_card" if id_card else "upload"
    firsts, seconds = analyse_pair_images(engine, pairs, root, id_card, cache, processes)
    fusion = None if model is not None else engine.fusion
    search_key_ = search_key(engine) if cohort is not None else None
    for pair in pairs:
        same = parse_same(pair["same"]) if pair.get("same") else None
        path_a, path_b = root / pair["a"], root / pair["b"]
        left = usable(firsts[path_a], enrolled_kind, engine)
        right = usable(seconds[path_b], "live", engine)
        refused = next(((n, r) for n, r in (("a", left), ("b", right)) if isinstance(r, FaceRefusal)), None)
        if refused is not None:
            yield PairResult(pair["a"], pair["b"], same, pair.get("set", ""), None, refused[1], refused[0])
            continue
        assert isinstance(left, FaceSample) and isinstance(right, FaceSample)
        if model is not None:
            template = Template(left.embedding_for(model.key), enrolled_kind)
            verification: Any = engine.verify(right, template)
        else:
            population = cohort.population(path_a, path_b, search_key_) if cohort is not None else None
            verification = verify_fused(engine, [right], left.templates(), fusion, population)
        yield PairResult(pair["a"], pair["b"], same, pair.get("set", ""), verification)


def search_key(engine: FaceEngine) -> str | None:
    """Return the key of the model the rank check searches (settings.search_model), if the engine holds it."""
    if not engine.settings.rank_check:
        return None
    try:
        return engine.model_for(engine.settings.search_model).key
    except ModelMismatchError:  # a model the engine does not hold: no rank check
        return None


def read_images(engine: FaceEngine, paths: Iterable[Path], kind: str, check: bool) -> list[FaceSample]:
    """Analyse a few image files as the server would (check=False: a burst's frames, as liveness reads them)."""
    samples = []
    for path in paths:
        data = path.read_bytes()
        if check:
            samples.append(engine.analyse(data, kind))
        else:
            samples.append(engine.analyse_rgb(engine.decode(data, kind).rgb, kind, check=False))
    return samples
