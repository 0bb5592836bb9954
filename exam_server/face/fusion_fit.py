"""Measure every model on labelled pairs and fit the operating points and fusion that fusion.py decides with.

The pairs are read as `face verify` reads them (exam_server/face/pairs.py: each distinct image analysed
once, each use's quality gate applied), so the fitted numbers describe the decisions the server takes.
A `set` column in the pairs file names each pair's set: every set then weighs the same in the
regression and every threshold must hold on each set with enough pairs to measure it.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .cohort import Population
from .errors import FaceError, FaceRefusal
from .fusion import (
    PARAMS_FILE,
    CohortNorm,
    FaceModelParams,
    Fusion,
    ModelPoint,
    fit_fusion,
    load_params,
    normalised_scores,
    operating_point,
    refit_threshold,
)
from .pairs import AnalysisCache, Cohort, analyse_pair_images, load_cohort, usable
from .samples import FaceSample

DEFAULT_TARGET_FAR = 0.0005
DEFAULT_REVIEW_FAR = 0.04
DEFAULT_VETO_FRR = 0.002
DEFAULT_COHORT_SAMPLE = 400
DEFAULT_COHORT_TOP_K = 20


@dataclass
class PairDistances:
    """Each model's distance (and cohort-normalised score) for every usable pair, and the refused pairs."""

    models: tuple[str, ...]
    model_keys: tuple[str, ...]
    pairs: list[Mapping[str, str]]
    same: np.ndarray
    groups: np.ndarray
    matrix: np.ndarray
    refused: list[dict[str, str]]
    normalised: np.ndarray | None = None

    def split(self, normalised: bool = False) -> tuple[np.ndarray, np.ndarray]:
        """Return the (genuine, impostor) distance matrices (or normalised-score matrices)."""
        matrix = self.normalised if normalised else self.matrix
        assert matrix is not None
        return matrix[self.same], matrix[~self.same]

    def split_groups(self) -> tuple[np.ndarray, np.ndarray]:
        return self.groups[self.same], self.groups[~self.same]


def pair_distances(
    settings: Any,
    models: Sequence[str],
    pairs: Sequence[Mapping[str, str]],
    images: str | os.PathLike[str],
    id_card: bool = False,
    processes: int | None = None,
    cache_dir: str | os.PathLike[str] | None = None,
    cohort_dir: str | os.PathLike[str] | None = None,
    cohort_sample: int = DEFAULT_COHORT_SAMPLE,
    cohort_top_k: int = DEFAULT_COHORT_TOP_K,
    engine: Any = None,
) -> PairDistances:
    """Analyse every distinct image once with all the models and measure each model's distance per pair.

    engine: one holding these models (and maybe more, so that one analysis cache serves several runs).
    """
    from .calibration import parse_same
    from .engine import FaceEngine

    names = [m.strip().lower() for m in models]
    if engine is None:
        engine = FaceEngine(settings.replace(model=names[0], extra_models=tuple(names[1:])))
    held = [engine.model_for(name) for name in names]
    cache = AnalysisCache(cache_dir, engine) if cache_dir else None
    root = Path(images)
    kind = "id_card" if id_card else "upload"
    firsts, seconds = analyse_pair_images(engine, pairs, root, id_card, cache, processes)
    cohort: Cohort | None = load_cohort(engine, Path(cohort_dir), cache, processes) if cohort_dir else None
    keys = tuple(m.key for m in held)
    stand_in = CohortNorm(cohort_sample, cohort_top_k, _placeholder(names, keys))
    kept, same, groups, rows, scores, refused = [], [], [], [], [], []
    for pair in pairs:
        left = usable(firsts[root / pair["a"]], kind, engine)
        right = usable(seconds[root / pair["b"]], "live", engine)
        bad = next(((s, r) for s, r in (("a", left), ("b", right)) if isinstance(r, FaceRefusal)), None)
        if bad is not None:
            refused.append({**pair, "image": bad[0], "error": bad[1].code, "detail": bad[1].detail})
            continue
        if not pair.get("same"):
            raise ValueError(f"pair {pair['a']},{pair['b']} has no 'same' label")
        assert isinstance(left, FaceSample) and isinstance(right, FaceSample)
        kept.append(pair)
        same.append(parse_same(pair["same"]))
        groups.append(pair.get("set", ""))
        distances = [m.distance(left.embedding_for(m.key).vector, right.embedding_for(m.key).vector) for m in held]
        rows.append(distances)
        if cohort is not None:
            population: Population = cohort.population(root / pair["a"], root / pair["b"], None)
            scores.append(normalised_scores(engine, keys, population, [right], left.templates(), distances, stand_in))
    matrix = np.asarray(rows, dtype=np.float64).reshape(len(rows), len(held))
    return PairDistances(
        tuple(m.name for m in held),
        keys,
        kept,
        np.asarray(same, dtype=bool),
        np.asarray(groups, dtype=object),
        matrix,
        refused,
        np.asarray(scores, dtype=np.float64).reshape(len(rows), len(held)) if cohort is not None else None,
    )


def _placeholder(names: Sequence[str], keys: Sequence[str]) -> Fusion:
    """Return a fusion object only to carry model names while the cohort scores are measured."""
    from .fusion import OperatingPoint

    zero = (0.0,) * len(names)
    return Fusion(tuple(names), tuple(keys), zero, (1.0,) * len(names), zero, 0.0, OperatingPoint(0.0, 0.0))


def calibrate_models(
    settings: Any,
    pairs: Sequence[Mapping[str, str]],
    images: str | os.PathLike[str],
    models: Sequence[str] = (),
    fused: bool = False,
    id_card: bool = False,
    target_far: float = DEFAULT_TARGET_FAR,
    review_far: float = DEFAULT_REVIEW_FAR,
    keep_weights: bool = False,
    write: str | os.PathLike[str] | None = None,
    gallery_size: int = 310_000,
    max_false_hits: float = 0.01,
    description: str = "",
    veto_frr: float = DEFAULT_VETO_FRR,
    cohort_dir: str | os.PathLike[str] | None = None,
    cache_dir: str | os.PathLike[str] | None = None,
    processes: int | None = None,
    cohort_sample: int = DEFAULT_COHORT_SAMPLE,
    cohort_top_k: int = DEFAULT_COHORT_TOP_K,
    engine: Any = None,
) -> dict[str, Any]:
    """Calibrate one model (or the fusion of several, and its cohort-normalised twin); optionally write the file.

    Returns a JSON-ready report: the usual FAR/FRR table per model (and for the fused distance), the
    operating point chosen at target_far, and where the parameters were written.
    """
    from .calibration import calibrate as error_table

    try:
        current = load_params(settings.fusion_file)
    except (FaceError, ValueError):
        if settings.fusion_file and Path(settings.fusion_file).exists() and not write:
            raise
        current = FaceModelParams({}, None, str(PARAMS_FILE))  # first calibration, or an older format replaced
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
        if cohort_dir:
            raise ValueError("--cohort calibrates the fused decision: give --fused")
    kind = "id_card" if id_card else "live"
    data = pair_distances(
        settings, names, pairs, images, id_card, processes, cache_dir, cohort_dir, cohort_sample, cohort_top_k, engine
    )
    gen, imp = data.split()
    gen_groups, imp_groups = data.split_groups()
    labelled: dict[str, Any] = {"genuine_groups": gen_groups, "impostor_groups": imp_groups} if any(data.groups) else {}
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
                gen[:, i], imp[:, i], target_far, review_far, kind, existing.point if existing else None, **labelled
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
        fusion = _fit(
            current.fused, keep_weights, gen, imp, data, target_far, review_far, veto_frr, kind, description, labelled
        )
        params = params.with_fusion(fusion)
        report["fused"] = _fused_report(fusion, gen, imp, target_far, gallery_size, max_false_hits)
        if data.normalised is not None:
            ngen, nimp = data.split(normalised=True)
            previous = current.cohort.fusion if current.cohort is not None else None
            if current.cohort is not None and (current.cohort.sample_size, current.cohort.top_k) != (
                cohort_sample,
                cohort_top_k,
            ):
                previous = None  # other cohort statistics: the old weights do not apply
            cohort_fusion = _fit(
                previous, keep_weights, ngen, nimp, data, target_far, review_far, veto_frr, kind, description, labelled
            )
            params = params.with_cohort(CohortNorm(cohort_sample, cohort_top_k, cohort_fusion))
            report["cohort"] = {
                "sample_size": cohort_sample,
                "top_k": cohort_top_k,
                **_fused_report(cohort_fusion, ngen, nimp, target_far, gallery_size, max_false_hits, scale=None),
            }
    if write:
        report["written"] = str(params.save(write))
    return report


def _fit(
    previous: Fusion | None,
    keep_weights: bool,
    gen: np.ndarray,
    imp: np.ndarray,
    data: PairDistances,
    target_far: float,
    review_far: float,
    veto_frr: float,
    kind: str,
    description: str,
    labelled: dict[str, Any],
) -> Fusion:
    if keep_weights:
        if previous is None or tuple(previous.model_keys) != data.model_keys:
            raise ValueError(
                f"--keep-weights: the current fusion is of {previous.model_keys if previous else None}, "
                f"not {data.model_keys}"
            )
        return refit_threshold(previous, gen, imp, target_far, review_far, veto_frr, kind, description, **labelled)
    return fit_fusion(
        gen,
        imp,
        data.models,
        data.model_keys,
        target_far,
        review_far,
        veto_frr,
        kind=kind,
        description=description,
        **labelled,
    )


def _fused_report(
    fusion: Fusion,
    gen: np.ndarray,
    imp: np.ndarray,
    target_far: float,
    gallery_size: int,
    max_false_hits: float,
    scale: tuple[float, float] | None = (0.0, 1.0),
) -> dict[str, Any]:
    from .calibration import calibrate as error_table

    fused_gen, fused_imp = fusion.distances(gen), fusion.distances(imp)
    table = error_table(
        fused_gen,
        fused_imp,
        thresholds=[round(float(t), 2) for t in np.arange(0.0, 1.0001, 0.05)] if scale else None,
        target_far=target_far,
        gallery_size=gallery_size,
        max_false_hits=max_false_hits,
    )
    return {**fusion.to_dict(), "report": table.to_dict()}


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

    kind = report["kind"]
    lines = [
        f"{'ID-card photo vs live' if kind == 'id_card' else 'live vs live'}: "
        f"{report['genuine_pairs']} genuine and {report['impostor_pairs']} impostor pairs, "
        f"{len(report['refused'])} refused"
    ]
    for _name, entry in report["per_model"].items():
        lines += ["", f"== model {entry['model_key']}", table(entry["report"])]
        if "operating_point" in entry:
            op = entry["operating_point"]
            lines.append(
                f"operating point: threshold {op[kind + '_threshold']:.4f}, review band "
                f"-{op['review_below']:.4f}/+{op['review_above']:.4f}"
            )
        if "note" in entry:
            lines.append(f"note: {entry['note']}")
    for section, title in (("fused", "fused distance"), ("cohort", "cohort-normalised fused score")):
        if section not in report:
            continue
        fused = report[section] if section == "fused" else report[section]
        lines += [
            "",
            f"== {title}: {' + '.join(fused['models'])}",
            table(fused["report"]),
            f"weights on z-normalised scores {fused['coef']}, intercept {fused['intercept']}",
            f"operating point: threshold {fused[kind + '_threshold']:.4f}, review band "
            f"-{fused['review_below']:.4f}/+{fused['review_above']:.4f}",
        ]
        for name, member in fused["members"].items():
            lines.append(
                f"  {name} inside the fusion: match at or below {member[kind + '_threshold']:.4f}, "
                f"confident mismatch above {member[kind + '_threshold'] + member['review_above']:.4f}"
            )
    for refused in report["refused"][:50]:
        lines.append(f"refused {refused['image']} of {refused['a']},{refused['b']}: {refused['error']}")
    if len(report["refused"]) > 50:
        lines.append(f"... and {len(report['refused']) - 50} more refused pairs (--json lists them all)")
    if "written" in report:
        lines.append(f"parameters written to {report['written']} (set EXAM_FACE_FUSION_FILE to use them)")
    return "\n".join(lines)
