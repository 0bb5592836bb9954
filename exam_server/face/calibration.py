"""Calibrate thresholds from labelled pairs: false-accept and false-reject rates, equal-error point, 1:N bound."""

from __future__ import annotations

import csv
import os
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from statistics import NormalDist
from typing import Any

import numpy as np

from .batch import analyse_files
from .engine import FaceEngine, FaceSample, Template
from .errors import FaceRefusal

# dlib on a labelled East-Asian set (threshold: false-accept rate, false-reject rate), from the issue.
EAST_ASIAN_REFERENCE: dict[float, tuple[float, float]] = {
    0.35: (0.0045, 0.75),
    0.40: (0.049, 0.42),
    0.45: (0.215, 0.17),
    0.50: (0.52, 0.04),
    0.60: (0.95, 0.0),
}
_TRUE = {"1", "true", "yes", "y", "same", "genuine", "t"}
_FALSE = {"0", "false", "no", "n", "different", "impostor", "f"}


@dataclass(frozen=True)
class PairOutcome:
    """The distance between the two images of a pair, or why it could not be measured."""

    a: str
    b: str
    same: bool | None
    verification: Any = None
    error: str | None = None
    message_zh: str | None = None
    detail: str = ""
    refused_image: str | None = None

    @property
    def distance(self) -> float | None:
        return None if self.verification is None else self.verification.distance

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"a": self.a, "b": self.b}
        if self.same is not None:
            out["same"] = self.same
        if self.verification is not None:
            out.update(self.verification.to_dict())
        else:
            out.update(
                {"error": self.error, "message_zh": self.message_zh, "detail": self.detail, "image": self.refused_image}
            )
        return out


@dataclass
class CalibrationReport:
    """Error rates against thresholds, the equal-error point and the thresholds that meet the targets."""

    genuine: int
    impostor: int
    rows: list[dict[str, float]]
    eer_threshold: float | None
    eer_rate: float | None
    target_far: float
    threshold_at_target_far: float | None
    frr_at_target_far: float | None
    far_resolution: float | None
    gallery_size: int
    max_false_hits: float
    one_to_n_threshold: float | None
    impostor_fit: dict[str, float] | None
    genuine_summary: dict[str, float] = field(default_factory=dict)
    impostor_summary: dict[str, float] = field(default_factory=dict)
    refused: int = 0
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "genuine_pairs": self.genuine,
            "impostor_pairs": self.impostor,
            "refused_pairs": self.refused,
            "table": self.rows,
            "equal_error": {"threshold": self.eer_threshold, "rate": self.eer_rate},
            "target_far": self.target_far,
            "threshold_at_target_far": self.threshold_at_target_far,
            "frr_at_target_far": self.frr_at_target_far,
            "far_resolution": self.far_resolution,
            "one_to_n": {
                "gallery_size": self.gallery_size,
                "max_false_hits_per_query": self.max_false_hits,
                "threshold": self.one_to_n_threshold,
                "impostor_fit": self.impostor_fit,
            },
            "genuine_distances": self.genuine_summary,
            "impostor_distances": self.impostor_summary,
            "notes": self.notes,
        }


def read_pairs(path: str | os.PathLike[str]) -> list[dict[str, str]]:
    """Read a pairs CSV with columns a and b (and same, for calibration; set, to fit per set); others are ignored."""
    with open(path, newline="", encoding="utf-8-sig") as handle:
        reader = csv.DictReader(handle)
        names = {name.strip().lower(): name for name in reader.fieldnames or []}
        if "a" not in names or "b" not in names:
            raise ValueError(f"{path}: needs columns a and b, has {reader.fieldnames}")
        rows = []
        for row in reader:
            item = {"a": (row[names["a"]] or "").strip(), "b": (row[names["b"]] or "").strip()}
            if "same" in names:
                item["same"] = (row[names["same"]] or "").strip()
            if "set" in names:  # which set a pair belongs to: thresholds must hold on each (fusion_fit)
                item["set"] = (row[names["set"]] or "").strip()
            if item["a"] and item["b"]:
                rows.append(item)
        return rows


def parse_same(value: str) -> bool:
    """Read a same-person label (1/0, true/false, yes/no, same/different, genuine/impostor)."""
    text = value.strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise ValueError(f"cannot read {value!r} as a same-person label")


def verify_pairs(
    engine: FaceEngine,
    pairs: Sequence[dict[str, str]],
    images: str | os.PathLike[str],
    id_card: bool = False,
    processes: int | None = None,
) -> Iterator[PairOutcome]:
    """Verify every pair, analysing each distinct image once (first images as ID-card photos if asked)."""
    root = Path(images)
    firsts = sorted({p["a"] for p in pairs})
    seconds = sorted({p["b"] for p in pairs})
    template_kind = "id_card" if id_card else "upload"
    analysed_a = _analyse_all(engine, root, firsts, template_kind, id_card, processes)
    analysed_b = _analyse_all(engine, root, seconds, "live", False, processes)
    for pair in pairs:
        same = parse_same(pair["same"]) if pair.get("same") else None
        left, right = analysed_a[pair["a"]], analysed_b[pair["b"]]
        for name, outcome in (("a", left), ("b", right)):
            if isinstance(outcome, FaceRefusal):
                yield PairOutcome(
                    pair["a"], pair["b"], same, None, outcome.code, outcome.message_zh, outcome.detail, name
                )
                break
        else:
            assert isinstance(left, FaceSample) and isinstance(right, FaceSample)
            template = Template(left.embedding, "id_card" if id_card else "live")
            yield PairOutcome(pair["a"], pair["b"], same, engine.verify(right, template))


def _analyse_all(
    engine: FaceEngine, root: Path, names: Sequence[str], kind: str, id_card: bool, processes: int | None
) -> dict[str, FaceSample | FaceRefusal]:
    results: dict[str, FaceSample | FaceRefusal] = {}
    paths = [root / name for name in names]
    for name, result in zip(
        names, analyse_files(paths, kind, processes, engine.settings, id_card=id_card), strict=False
    ):
        results[name] = (
            result.sample if result.sample is not None else FaceRefusal(result.error or "not_an_image", result.detail)
        )
    return results


def calibrate(
    genuine: Iterable[float],
    impostor: Iterable[float],
    thresholds: Sequence[float] | None = None,
    target_far: float = 0.001,
    gallery_size: int = 310_000,
    max_false_hits: float = 0.01,
) -> CalibrationReport:
    """Tabulate false-accept and false-reject rates and find the operating points."""
    gen = np.sort(np.asarray(list(genuine), dtype=np.float64))
    imp = np.sort(np.asarray(list(impostor), dtype=np.float64))
    grid = np.round(np.arange(0.20, 0.8001, 0.01), 2) if thresholds is None else np.asarray(thresholds, np.float64)
    rows = []
    for t in grid:
        fa = int(np.searchsorted(imp, t, side="right"))
        fr = int(len(gen) - np.searchsorted(gen, t, side="right"))
        rows.append(
            {
                "threshold": round(float(t), 4),
                "far": _rate(fa, len(imp)),
                "frr": _rate(fr, len(gen)),
                "false_accepts": fa,
                "false_rejects": fr,
            }
        )
    report = CalibrationReport(
        len(gen),
        len(imp),
        rows,
        None,
        None,
        target_far,
        None,
        None,
        1.0 / len(imp) if len(imp) else None,
        gallery_size,
        max_false_hits,
        None,
        None,
        _summary(gen),
        _summary(imp),
    )
    if len(gen) and len(imp):
        report.eer_threshold, report.eer_rate = equal_error_point(gen, imp)
        fine = np.round(np.arange(0.0, 1.5, 0.001), 3)
        far = np.searchsorted(imp, fine, side="right") / len(imp)
        ok = np.flatnonzero(far <= target_far)
        if ok.size:
            best = float(fine[ok[-1]])
            report.threshold_at_target_far = best
            report.frr_at_target_far = float(np.mean(gen > best))
        if target_far < 1.0 / len(imp):
            report.notes.append(
                f"{len(imp)} impostor pairs cannot measure a false-accept rate of {target_far:g}: "
                f"the threshold at that rate is only where the first impostor would be accepted"
            )
    if len(imp) >= 2:
        mu, sigma = float(imp.mean()), float(imp.std(ddof=1))
        report.impostor_fit = {"mean": round(mu, 4), "std": round(sigma, 4)}
        report.one_to_n_threshold = one_to_n_threshold(mu, sigma, gallery_size, max_false_hits)
        report.notes.append(
            "the 1:N threshold extrapolates a normal fit of the impostor distances far into its "
            "tail; treat it as an upper bound and send every hit to human review"
        )
    return report


def equal_error_point(genuine: np.ndarray, impostor: np.ndarray) -> tuple[float, float]:
    """Return the threshold where false-accept and false-reject rates meet (middle of a tie) and that rate."""
    fine = np.round(np.arange(0.0, 1.5, 0.001), 3)
    far = np.searchsorted(impostor, fine, side="right") / len(impostor)
    frr = 1.0 - np.searchsorted(genuine, fine, side="right") / len(genuine)
    gap = np.abs(far - frr)
    best = np.flatnonzero(gap == gap.min())
    # On separable data every threshold between the classes ties: take the middle of that run.
    middle = int(best[len(best) // 2])
    return float(fine[middle]), round(float((far[middle] + frr[middle]) / 2), 6)


def one_to_n_threshold(
    impostor_mean: float, impostor_std: float, gallery_size: int, max_false_hits: float = 0.01
) -> float:
    """Return the distance below which a query against gallery_size impostors expects max_false_hits false hits."""
    rate = max_false_hits / max(gallery_size, 1)
    return round(impostor_mean + impostor_std * NormalDist().inv_cdf(rate), 4)


def fit_far_curve(points: dict[float, tuple[float, float]]) -> tuple[float, float]:
    """Fit a normal impostor-distance distribution (mean, std) to (threshold: (far, frr)) points by probit regression."""
    usable = [(t, far) for t, (far, _) in points.items() if 0.0 < far < 1.0]
    z = np.array([NormalDist().inv_cdf(far) for _, far in usable])
    t = np.array([t for t, _ in usable])
    sigma, mu = np.polyfit(z, t, 1)
    return float(mu), float(sigma)


def format_report(report: CalibrationReport, every: int = 2) -> str:
    """Return the report as a plain-text table and summary."""
    lines = [
        f"pairs: {report.genuine} genuine, {report.impostor} impostor, {report.refused} refused",
        "",
        f"{'threshold':>9}  {'FAR':>8}  {'FRR':>8}  {'false acc':>9}  {'false rej':>9}",
    ]
    for row in report.rows[::every]:
        lines.append(
            f"{row['threshold']:>9.2f}  {_pct(row['far']):>8}  {_pct(row['frr']):>8}  "
            f"{row['false_accepts']:>9}  {row['false_rejects']:>9}"
        )
    lines.append("")
    if report.eer_threshold is not None:
        lines.append(f"equal-error point: threshold {report.eer_threshold:.3f}, rate {_pct(report.eer_rate)}")
    if report.threshold_at_target_far is not None:
        lines.append(
            f"threshold at FAR <= {report.target_far:g}: {report.threshold_at_target_far:.3f} "
            f"(FRR there {_pct(report.frr_at_target_far)})"
        )
    if report.one_to_n_threshold is not None:
        lines.append(
            f"1:N threshold for <= {report.max_false_hits:g} false hits per query among "
            f"{report.gallery_size:,}: {report.one_to_n_threshold:.3f}"
        )
    for name, summary in (("genuine", report.genuine_summary), ("impostor", report.impostor_summary)):
        if summary:
            lines.append(
                f"{name} distances: min {summary['min']:.3f}, median {summary['median']:.3f}, max {summary['max']:.3f}"
            )
    lines.extend(f"note: {note}" for note in report.notes)
    return "\n".join(lines)


def _rate(count: int, total: int) -> float:
    return round(count / total, 6) if total else 0.0


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.2f}%"


def _summary(values: np.ndarray) -> dict[str, float]:
    if not len(values):
        return {}
    return {
        "min": round(float(values.min()), 4),
        "median": round(float(np.median(values)), 4),
        "max": round(float(values.max()), 4),
    }
