"""`exam-server face ...` commands; they need no app context, only FaceSettings (from EXAM_FACE_* variables)."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from .calibration import calibrate as run_calibration
from .calibration import format_report, read_pairs, verify_pairs
from .engine import FaceEngine, Template
from .errors import FaceRefusal
from .settings import FaceSettings

T = TypeVar("T")


def _engine() -> FaceEngine:
    ctx = click.get_current_context(silent=True)
    settings = ctx.obj.get("face_settings") if ctx is not None and isinstance(ctx.obj, dict) else None
    return FaceEngine(settings if isinstance(settings, FaceSettings) else FaceSettings.from_env())


def _emit(data: dict[str, Any]) -> None:
    click.echo(json.dumps(data, ensure_ascii=False))


@click.group("face")
def face() -> None:
    """Face verification and calibration tools."""


@face.command("verify")
@click.argument("image_a", required=False, type=click.Path(dir_okay=False, path_type=Path))
@click.argument("image_b", required=False, type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--pairs",
    "pairs_csv",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="CSV with columns a,b (other columns ignored): verify every pair in one process.",
)
@click.option(
    "--images",
    "images_dir",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    help="Directory the names in --pairs are relative to.",
)
@click.option("--id-card", is_flag=True, help="Treat the first image as an ID-card photo (cut to 102x126).")
def verify_command(
    image_a: Path | None, image_b: Path | None, pairs_csv: Path | None, images_dir: Path | None, id_card: bool
) -> None:
    """Verify IMAGE_B (a live frame) against IMAGE_A (the enrolled photo); print one JSON object per pair."""
    engine = _engine()
    if pairs_csv is not None:
        if image_a or image_b:
            raise click.UsageError("give either IMAGE_A IMAGE_B or --pairs, not both")
        pairs = read_pairs(pairs_csv)
        for outcome in verify_pairs(engine, pairs, images_dir or pairs_csv.parent, id_card):
            _emit(outcome.to_dict())
        return
    if image_a is None or image_b is None:
        raise click.UsageError("give IMAGE_A and IMAGE_B, or --pairs PAIRS.csv --images DIR")
    try:
        data_a = _read(image_a, "a")
        if id_card:
            data_a = _refusing(lambda: engine.id_card_photo(data_a), "a")
        template_sample = _refusing(lambda: engine.analyse(data_a, "id_card" if id_card else "upload"), "a")
        probe = _refusing(lambda: engine.analyse(_read(image_b, "b"), "live"), "b")
    except _Refused as refused:
        _emit({"a": str(image_a), "b": str(image_b), **refused.refusal.to_dict(), "image": refused.image})
        sys.exit(1)
    template = Template(template_sample.embedding, "id_card" if id_card else "live")
    _emit({"a": str(image_a), "b": str(image_b), **engine.verify(probe, template).to_dict()})


@face.command("calibrate")
@click.option(
    "--pairs",
    "pairs_csv",
    required=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="CSV with columns a,b,same (same: 1/0, true/false, yes/no).",
)
@click.option(
    "--images",
    "images_dir",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    help="Directory the names in --pairs are relative to.",
)
@click.option("--id-card", is_flag=True, help="Cut the first image of each pair to a 102x126 ID-card photo.")
@click.option("--target-far", default=0.001, show_default=True, help="False-accept rate to find a threshold for.")
@click.option("--gallery-size", default=310_000, show_default=True, help="Enrolled people, for the 1:N threshold.")
@click.option("--max-false-hits", default=0.01, show_default=True, help="Expected false hits per 1:N query to allow.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object instead of a table.")
@click.option(
    "--model",
    "models",
    multiple=True,
    help="Calibrate this embedding model (e.g. sface_2021dec_int8bq); with --fused, repeat for each model fused.",
)
@click.option("--fused", is_flag=True, help="Fit the fusion of several models' distances and its thresholds.")
@click.option(
    "--write",
    "write_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write the operating points / fusion to this JSON file (use it with EXAM_FACE_FUSION_FILE).",
)
@click.option(
    "--keep-weights", is_flag=True, help="With --fused: keep the current fusion weights, refit thresholds only."
)
@click.option(
    "--review-frr",
    default=0.01,
    show_default=True,
    help="With --model/--fused: the review band reaches past all but this share of genuine pairs.",
)
def calibrate_command(
    pairs_csv: Path,
    images_dir: Path | None,
    id_card: bool,
    target_far: float,
    gallery_size: int,
    max_false_hits: float,
    as_json: bool,
    models: tuple[str, ...] = (),
    fused: bool = False,
    write_path: Path | None = None,
    keep_weights: bool = False,
    review_frr: float = 0.01,
) -> None:
    """Print false-accept and false-reject rates against thresholds, the equal-error point and target thresholds."""
    engine = _engine()
    pairs = read_pairs(pairs_csv)
    if any("same" not in p for p in pairs):
        raise click.UsageError(f"{pairs_csv} needs a 'same' column")
    if models or fused or write_path:  # per-model and fused calibration: exam_server/face/fusion_fit.py
        from .fusion_fit import calibrate_models, format_models_report

        try:
            report = calibrate_models(
                engine.settings,
                pairs,
                images_dir or pairs_csv.parent,
                models,
                fused,
                id_card,
                target_far,
                review_frr,
                keep_weights,
                write_path,
                gallery_size,
                max_false_hits,
                description=f"{pairs_csv.name}: {len(pairs)} pairs",
            )
        except (ValueError, KeyError, PermissionError) as exc:
            raise click.UsageError(str(exc)) from exc
        _emit(report) if as_json else click.echo(format_models_report(report))
        return
    genuine: list[float] = []
    impostor: list[float] = []
    refused = []
    for outcome in verify_pairs(engine, pairs, images_dir or pairs_csv.parent, id_card):
        if outcome.distance is None:
            refused.append(outcome)
        else:
            (genuine if outcome.same else impostor).append(outcome.distance)
    report = run_calibration(
        genuine, impostor, target_far=target_far, gallery_size=gallery_size, max_false_hits=max_false_hits
    )
    report.refused = len(refused)
    for outcome in refused:
        report.notes.append(f"refused {outcome.refused_image} of {outcome.a},{outcome.b}: {outcome.error}")
    if as_json:
        _emit({**report.to_dict(), "id_card": id_card, "model": engine.model.key})
    else:
        click.echo(f"model {engine.model.key}, {'ID-card photo vs live' if id_card else 'live vs live'}")
        click.echo(format_report(report))


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
