"""`exam-server face evaluate`: the server's decisions on labelled pairs, counted as a person would count them.

For each model alone (its own operating point) and for the fused decision (the default the server
takes), the share of same-person and of different-person pairs let in (match), sent to review and
refused (mismatch); pairs with a refused image are counted apart. From each decision's score: the
equal-error rate, the same-person rate let in at 1% and 0.1% false accepts, and a DET curve (PNG).
For the model the 1:N index searches, the false-hit rate of a search over a large gallery is estimated
from the tail of the different-person distances (`tail_fit`), as duplicate detection and the rank
check depend on it.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from statistics import NormalDist
from typing import Any

import numpy as np

from .pairs import PairResult

FUSED = "fused"
GALLERIES = (50, 500, 5_000, 310_000)


@dataclass(frozen=True)
class TailFit:
    """A normal fitted to the lowest different-person distances: d = centre + spread * z at quantile Phi(z)."""

    centre: float
    spread: float
    share: float
    pairs: int

    def rate(self, distance: float) -> float:
        """Return the estimated share of different-person distances at or below a distance."""
        return (
            NormalDist().cdf((distance - self.centre) / self.spread)
            if self.spread > 0
            else float(distance >= self.centre)
        )

    def distance_at(self, rate: float) -> float:
        return self.centre + self.spread * NormalDist().inv_cdf(rate)


def tail_fit(impostor: Sequence[float] | np.ndarray, share: float = 0.05) -> TailFit | None:
    """Fit the lower tail (the lowest `share`) of different-person distances by probit regression on its quantiles."""
    values = np.sort(np.asarray(impostor, dtype=np.float64))
    count = max(int(len(values) * share), 0)
    if count < 20:
        return None
    ranks = (np.arange(count) + 0.5) / len(values)
    z = np.array([NormalDist().inv_cdf(float(r)) for r in ranks])
    spread, centre = np.polyfit(z, values[:count], 1)
    return TailFit(float(centre), float(spread), share, int(len(values)))


def one_to_n(
    genuine: np.ndarray, impostor: np.ndarray, tail: TailFit, galleries: Sequence[int] = GALLERIES
) -> dict[str, Any]:
    """Estimate 1:N false hits over galleries of these sizes, and how often a stranger out-ranks the true person."""
    rows = []
    for threshold in np.round(np.arange(0.15, 0.5001, 0.05), 2):
        rate = tail.rate(float(threshold))
        rows.append(
            {
                "threshold": float(threshold),
                "false_hit_rate_per_comparison": rate,
                "false_hits_per_query": {str(n): n * rate for n in galleries},
                "same_person_found": round(float(np.mean(genuine <= threshold)), 4) if len(genuine) else None,
            }
        )
    # The rank check: the chance that at least one of n strangers is nearer than the true person's distance.
    nearer = {
        str(n): round(
            float(np.mean([1.0 - math.exp(n * math.log1p(-min(tail.rate(float(d)), 1 - 1e-12))) for d in genuine])), 4
        )
        if len(genuine)
        else None
        for n in galleries
    }
    return {
        "tail_fit": {
            "centre": round(tail.centre, 4),
            "spread": round(tail.spread, 4),
            "lowest_share": tail.share,
            "pairs": tail.pairs,
        },
        "thresholds": rows,
        "stranger_nearer_than_same_person": nearer,
        "threshold_for_0.01_false_hits": {str(n): round(tail.distance_at(0.01 / n), 4) for n in galleries},
    }


def _share(count: int, total: int) -> float | None:
    return round(count / total, 6) if total else None


def rates(results: Sequence[PairResult]) -> dict[str, Any]:
    """Count one decision's outcomes: same-person and different-person pairs let in / to review / refused."""
    out: dict[str, Any] = {}
    for label, want in (("same_person", True), ("different_people", False)):
        chosen = [r for r in results if r.same is want]
        decided = [r for r in chosen if r.verification is not None]
        counts = Counter(r.decision for r in decided)
        total = len(decided)
        out[label] = {
            "pairs": len(chosen),
            "decided": total,
            "let_in": _share(counts["match"], total),
            "review": _share(counts["review"], total),
            "refused": _share(counts["mismatch"], total),
            "image_refused": len(chosen) - total,
            # A refused image of a face a person would accept counts against the same person too.
            "let_in_counting_image_refusals": _share(counts["match"], len(chosen)),
        }
    return out


def scores_of(results: Sequence[PairResult]) -> tuple[np.ndarray, np.ndarray]:
    """Return the (same-person, different-person) scores the decisions were taken on (lower is more alike)."""
    gen = [r.distance for r in results if r.same and r.distance is not None]
    imp = [r.distance for r in results if r.same is False and r.distance is not None]
    return np.asarray(gen, dtype=np.float64), np.asarray(imp, dtype=np.float64)


def error_figures(genuine: np.ndarray, impostor: np.ndarray) -> dict[str, Any]:
    """Return the equal-error rate and the same-person share let in at 1% and 0.1% false accepts."""
    if not len(genuine) or not len(impostor):
        return {"eer": None, "tar_at_far_1pct": None, "tar_at_far_0.1pct": None}
    gen, imp = np.sort(genuine), np.sort(impostor)
    cuts = np.unique(np.r_[gen, imp])
    far = np.searchsorted(imp, cuts, side="right") / len(imp)
    frr = 1.0 - np.searchsorted(gen, cuts, side="right") / len(gen)
    best = int(np.argmin(np.abs(far - frr)))
    out: dict[str, Any] = {"eer": round(float((far[best] + frr[best]) / 2), 6)}
    for name, target in (("tar_at_far_1pct", 0.01), ("tar_at_far_0.1pct", 0.001)):
        if target * len(imp) < 1:
            out[name] = None  # too few different-person pairs to measure that rate
            continue
        ok = np.flatnonzero(far <= target)
        out[name] = round(float(1.0 - frr[ok[-1]]), 6) if ok.size else 0.0
    return out


def summarise(by_scorer: Mapping[str, Sequence[PairResult]]) -> dict[str, Any]:
    """Return rates and error figures per scorer (each model alone, and fused), and the image refusals."""
    summary: dict[str, Any] = {"scorers": {}}
    for name, results in by_scorer.items():
        gen, imp = scores_of(results)
        summary["scorers"][name] = {**rates(results), **error_figures(gen, imp)}
        if "image_refusals" not in summary:
            refused = [r for r in results if r.verification is None]
            summary["image_refusals"] = {
                "pairs": len(refused),
                "by_reason": dict(Counter(r.refusal.code for r in refused if r.refusal is not None)),
                "images": len({(r.refused_image, r.a if r.refused_image == "a" else r.b) for r in refused}),
            }
    return summary


def det_plot(path: str | Path, by_scorer: Mapping[str, Sequence[PairResult]], title: str) -> Path:
    """Draw each scorer's DET curve (false non-match against false match, probit axes) and its decision point."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    probit = NormalDist().inv_cdf
    ticks = [0.0001, 0.001, 0.01, 0.05, 0.2, 0.5]
    lo, hi = probit(0.00005), probit(0.6)
    fig, ax = plt.subplots(figsize=(6.4, 5.2), dpi=110)
    for name, results in by_scorer.items():
        gen, imp = scores_of(results)
        if not len(gen) or not len(imp):
            continue
        gen, imp = np.sort(gen), np.sort(imp)
        cuts = np.unique(np.r_[gen, imp])
        far = np.searchsorted(imp, cuts, side="right") / len(imp)
        frr = 1.0 - np.searchsorted(gen, cuts, side="right") / len(gen)
        keep = (far > 0) & (frr > 0)
        x = [probit(min(max(v, 1e-6), 1 - 1e-6)) for v in far[keep]]
        y = [probit(min(max(v, 1e-6), 1 - 1e-6)) for v in frr[keep]]
        (line,) = ax.plot(x, y, lw=2 if name == FUSED else 1.2, label=name)
        counts = rates(results)
        let_in, not_in = counts["different_people"]["let_in"], counts["same_person"]["let_in"]
        if let_in is not None and not_in is not None:
            px = probit(min(max(let_in, 0.00006), 0.59))
            py = probit(min(max(1.0 - not_in, 0.00006), 0.59))
            ax.plot([px], [py], "o", color=line.get_color(), ms=7, mec="black")
    ax.set_xticks([probit(t) for t in ticks], [f"{100 * t:g}%" for t in ticks])
    ax.set_yticks([probit(t) for t in ticks], [f"{100 * t:g}%" for t in ticks])
    ax.set_xlim(lo, hi)
    ax.set_ylim(lo, hi)
    ax.set_xlabel("different people let in (false match rate)")
    ax.set_ylabel("same person not let in (false non-match rate)")
    ax.set_title(title, fontsize=10)
    ax.grid(True, alpha=0.3)
    ax.legend(loc="upper right", fontsize=8, title="dot: the shipped decision", title_fontsize=8)
    fig.tight_layout()
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(target)
    plt.close(fig)
    return target


def format_summary(summary: Mapping[str, Any], title: str) -> str:
    """Return the summary as a plain-text table."""

    def pct(value: float | None) -> str:
        return "-" if value is None else f"{100 * value:.2f}%"

    lines = [title, ""]
    lines.append(
        f"{'decision':<24} {'same: in':>9} {'review':>8} {'refused':>8}   {'diff: in':>9} {'review':>8} "
        f"{'refused':>8}   {'EER':>7} {'TAR@1%':>8} {'TAR@0.1%':>9}"
    )
    for name, row in summary["scorers"].items():
        s, d = row["same_person"], row["different_people"]
        lines.append(
            f"{name:<24} {pct(s['let_in']):>9} {pct(s['review']):>8} {pct(s['refused']):>8}   "
            f"{pct(d['let_in']):>9} {pct(d['review']):>8} {pct(d['refused']):>8}   "
            f"{pct(row['eer']):>7} {pct(row['tar_at_far_1pct']):>8} {pct(row['tar_at_far_0.1pct']):>9}"
        )
    first = next(iter(summary["scorers"].values()), None)
    if first is not None:
        s, d = first["same_person"], first["different_people"]
        lines.append(
            f"\npairs: {s['pairs']} same-person, {d['pairs']} different-person; decided {s['decided']} and "
            f"{d['decided']}; with a refused image {s['image_refused']} and {d['image_refused']}"
        )
    refusals = summary.get("image_refusals", {})
    if refusals.get("pairs"):
        lines.append(
            f"image refusals: {refusals['images']} images in {refusals['pairs']} pairs, {refusals['by_reason']}"
        )
    if "one_to_n" in summary:
        one = summary["one_to_n"]
        fit = one["tail_fit"]
        lines.append(
            f"\n1:N on {one['model']}: tail of {fit['pairs']} different-person distances fitted "
            f"(lowest {100 * fit['lowest_share']:g}%): centre {fit['centre']}, spread {fit['spread']}"
        )
        lines.append(
            f"{'threshold':>9} {'same found':>11} "
            + " ".join(f"{'hits/q @' + n:>14}" for n in one["thresholds"][0]["false_hits_per_query"])
        )
        for row in one["thresholds"]:
            hits = " ".join(f"{v:>14.3g}" for v in row["false_hits_per_query"].values())
            lines.append(f"{row['threshold']:>9.2f} {pct(row['same_person_found']):>11} {hits}")
        lines.append(f"threshold for 0.01 false hits per query: {one['threshold_for_0.01_false_hits']}")
        lines.append(
            f"a stranger nearer than the same person (rank check), by gallery size: {one['stranger_nearer_than_same_person']}"
        )
    if "det" in summary:
        lines.append(f"\nDET curve: {summary['det']}")
    return "\n".join(lines)
