"""Measure every model on labelled pairs and fit the operating points and fusion that fusion.py decides with."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .errors import FaceError
from .fusion import PARAMS_FILE, FaceModelParams, ModelPoint, fit_fusion, load_params, operating_point, refit_threshold


@dataclass
class PairDistances:
    """Each model's distance for every pair whose two images were both usable, and the refused pairs."""

    models: tuple[str, ...]
    model_keys: tuple[str, ...]
    pairs: list[dict[str, str]]
    same: np.ndarray
    matrix: np.ndarray
    refused: list[dict[str, str]]

    def split(self) -> tuple[np.ndarray, np.ndarray]:
        """Return the (genuine, impostor) distance matrices."""
        return self.matrix[self.same], self.matrix[~self.same]


def pair_distances(
    settings: Any,
    models: Sequence[str],
    pairs: Sequence[dict[str, str]],
    images: str | os.PathLike[str],
    id_card: bool = False,
    processes: int | None = None,
) -> PairDistances:
    """Analyse every distinct image once with all the models and measure each model's distance per pair."""
    from .batch import analyse_files
    from .calibration import parse_same
    from .engine import FaceEngine

    names = [m.strip().lower() for m in models]
    settings = settings.replace(model=names[0], extra_models=tuple(names[1:]))
    engine = FaceEngine(settings)
    held = [engine.model_for(name) for name in names]
    root = Path(images)
    firsts = sorted({p["a"] for p in pairs})
    seconds = sorted({p["b"] for p in pairs})
    analysed: dict[tuple[str, str], Any] = {}
    for side, items, kind, cut in (
        ("a", firsts, "id_card" if id_card else "upload", id_card),
        ("b", seconds, "live", False),
    ):
        results = analyse_files([root / n for n in items], kind, processes, settings, id_card=cut)
        for name, result in zip(items, results, strict=False):
            analysed[(side, name)] = result
    kept, same, rows, refused = [], [], [], []
    for pair in pairs:
        left, right = analysed[("a", pair["a"])], analysed[("b", pair["b"])]
        bad = next(((s, r) for s, r in (("a", left), ("b", right)) if r.sample is None), None)
        if bad is not None:
            refused.append({**pair, "image": bad[0], "error": bad[1].error or "", "detail": bad[1].detail})
            continue
        if "same" not in pair or not pair["same"]:
            raise ValueError(f"pair {pair['a']},{pair['b']} has no 'same' label")
        kept.append(pair)
        same.append(parse_same(pair["same"]))
        rows.append(
            [
                m.distance(left.sample.embedding_for(m.key).vector, right.sample.embedding_for(m.key).vector)
                for m in held
            ]
        )
    matrix = np.asarray(rows, dtype=np.float64).reshape(len(rows), len(held))
    return PairDistances(
        tuple(m.name for m in held), tuple(m.key for m in held), kept, np.asarray(same, dtype=bool), matrix, refused
    )


def calibrate_models(
    settings: Any,
    pairs: Sequence[dict[str, str]],
    images: str | os.PathLike[str],
    models: Sequence[str] = (),
    fused: bool = False,
    id_card: bool = False,
    target_far: float = 0.001,
    review_frr: float = 0.01,
    keep_weights: bool = False,
    write: str | os.PathLike[str] | None = None,
    gallery_size: int = 310_000,
    max_false_hits: float = 0.01,
    description: str = "",
) -> dict[str, Any]:
    """Calibrate one model (or the fusion of several) on labelled pairs; optionally write the parameters file.

    Returns a JSON-ready report: the usual FAR/FRR table per model (and for the fused distance), the
    operating point chosen at target_far, and where the parameters were written.
    """
    from .calibration import calibrate as error_table

    try:
        current = load_params(settings.fusion_file)
    except FaceError:
        if settings.fusion_file:
            raise
        current = FaceModelParams({}, None, str(PARAMS_FILE))  # first calibration: nothing shipped yet
    if fused:
        names = list(models) or (
            list(current.fused.models) if current.fused is not None else [settings.model, *settings.extra_models]
        )
        if len(names) < 2:
            raise ValueError("--fused needs at least two models")
    else:
        names = list(models) or [settings.model]
        if len(names) != 1:
            raise ValueError("give one --model (or --fused with several)")
    kind = "id_card" if id_card else "live"
    data = pair_distances(settings, names, pairs, images, id_card)
    gen, imp = data.split()
    report: dict[str, Any] = {
        "kind": kind,
        "models": list(data.model_keys),
        "genuine_pairs": int(len(gen)),
        "impostor_pairs": int(len(imp)),
        "refused": data.refused,
        "per_model": {},
    }
    params = current
    for i, (name, key) in enumerate(zip(data.models, data.model_keys, strict=False)):
        table = error_table(
            gen[:, i], imp[:, i], target_far=target_far, gallery_size=gallery_size, max_false_hits=max_false_hits
        )
        entry: dict[str, Any] = {"model_key": key, "report": table.to_dict()}
        if not fused and name != "dlib_resnet_v1":
            existing = current.models.get(name)
            if existing is not None and existing.model_key != key:
                existing = None  # fitted for other weights: start again
            point, stats = operating_point(
                gen[:, i], imp[:, i], target_far, review_frr, kind, existing.point if existing else None
            )
            fitted = {**(existing.fitted_on if existing else {}), kind: {"description": description, **stats}}
            params = params.with_model(name, ModelPoint(key, point, fitted))
            entry["operating_point"] = {**point.to_dict(), **stats}
        elif not fused:
            entry["note"] = (
                "dlib's thresholds are FaceSettings fields (EXAM_FACE_LIVE_THRESHOLD, ...): choose them from this table"
            )
        report["per_model"][name] = entry
    if fused:
        if keep_weights:
            if current.fused is None or tuple(current.fused.model_keys) != data.model_keys:
                raise ValueError(
                    f"--keep-weights: the current fusion is of "
                    f"{current.fused.model_keys if current.fused else None}, not {data.model_keys}"
                )
            fusion = refit_threshold(current.fused, gen, imp, target_far, review_frr, kind, description)
        else:
            fusion = fit_fusion(
                gen, imp, data.models, data.model_keys, target_far, review_frr, kind=kind, description=description
            )
        params = params.with_fusion(fusion)
        fused_gen, fused_imp = fusion.distances(gen), fusion.distances(imp)
        table = error_table(
            fused_gen,
            fused_imp,
            thresholds=np.round(np.arange(0.0, 1.0001, 0.05), 2),
            target_far=target_far,
            gallery_size=gallery_size,
            max_false_hits=max_false_hits,
        )
        report["fused"] = {**fusion.to_dict(), "report": table.to_dict()}
    if write:
        report["written"] = str(params.save(write))
    return report


def format_models_report(report: Mapping[str, Any]) -> str:
    """Return a calibrate --model/--fused report as text."""
    from .calibration import CalibrationReport, format_report

    def table(data: Mapping[str, Any]) -> str:
        rep = CalibrationReport(
            data["genuine_pairs"],
            data["impostor_pairs"],
            data["table"],
            data["equal_error"]["threshold"],
            data["equal_error"]["rate"],
            data["target_far"],
            data["threshold_at_target_far"],
            data["frr_at_target_far"],
            data["far_resolution"],
            data["one_to_n"]["gallery_size"],
            data["one_to_n"]["max_false_hits_per_query"],
            data["one_to_n"]["threshold"],
            data["one_to_n"]["impostor_fit"],
            data["genuine_distances"],
            data["impostor_distances"],
            len(report["refused"]),
            list(data["notes"]),
        )
        return format_report(rep)

    lines = [
        f"{'ID-card photo vs live' if report['kind'] == 'id_card' else 'live vs live'}: "
        f"{report['genuine_pairs']} genuine and {report['impostor_pairs']} impostor pairs, "
        f"{len(report['refused'])} refused"
    ]
    for _name, entry in report["per_model"].items():
        lines += ["", f"== model {entry['model_key']}", table(entry["report"])]
        if "operating_point" in entry:
            op = entry["operating_point"]
            lines.append(
                f"operating point: threshold {op[report['kind'] + '_threshold']:.4f}, review band "
                f"-{op['review_below']:.4f}/+{op['review_above']:.4f} (FRR at threshold "
                f"{100 * op['frr_at_threshold']:.1f}%, beyond band {100 * op['frr_beyond_band']:.1f}%)"
            )
        if "note" in entry:
            lines.append(f"note: {entry['note']}")
    if "fused" in report:
        fused = report["fused"]
        lines += [
            "",
            f"== fused {' + '.join(fused['models'])} (distance = P(different) at even odds)",
            table(fused["report"]),
            f"weights on z-normalised distances {fused['coef']}, intercept {fused['intercept']}",
            f"operating point: threshold {fused[report['kind'] + '_threshold']:.4f}, review band "
            f"-{fused['review_below']:.4f}/+{fused['review_above']:.4f}",
        ]
    for refused in report["refused"]:
        lines.append(f"refused {refused['image']} of {refused['a']},{refused['b']}: {refused['error']}")
    if "written" in report:
        lines.append(f"parameters written to {report['written']} (set EXAM_FACE_FUSION_FILE to use them)")
    return "\n".join(lines)
