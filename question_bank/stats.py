"""Item statistics from graded sittings: facility, discrimination and quality flags."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from .grading import GradeResult

FLAG_LABELS: dict[str, str] = {
    "too_easy": "过易 / too easy",
    "too_hard": "过难 / too hard",
    "negative_discrimination": "区分度为负 / negative discrimination",
}


@dataclass(frozen=True)
class ItemStats:
    """Statistics for one question over the sittings that contained it."""

    code: str
    n: int
    facility: float
    point_biserial: float | None
    upper_lower: float | None
    flags: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready dict (values rounded to 4 places)."""

        def r(v: float | None) -> float | None:
            return None if v is None else round(v, 4)

        return {
            "code": self.code,
            "n": self.n,
            "facility": r(self.facility),
            "point_biserial": r(self.point_biserial),
            "upper_lower": r(self.upper_lower),
            "flags": list(self.flags),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ItemStats:
        """Build from a dict made by to_dict."""
        return cls(
            data["code"],
            int(data["n"]),
            float(data["facility"]),
            data.get("point_biserial"),
            data.get("upper_lower"),
            tuple(data.get("flags", ())),
        )


def item_statistics(
    sittings: Iterable[GradeResult | Mapping[str, Any]],
    *,
    min_responses: int = 10,
    easy_above: float = 0.9,
    hard_below: float = 0.2,
    group_fraction: float = 0.27,
) -> list[ItemStats]:
    """Compute per-question statistics; flags are set only for questions with >= min_responses sittings.

    facility: proportion of sittings answering the item fully correctly.
    point_biserial: corrected item-rest correlation of correctness with the sitting's score
    without this item (as a fraction of the rest's maximum, so papers of different size compare).
    upper_lower: facility in the top 27% of sittings by total score minus that in the bottom 27%.
    """
    data: dict[str, list[tuple[int, float, float]]] = {}
    for s in sittings:
        result = s if isinstance(s, GradeResult) else GradeResult.from_dict(s)
        if result.max_total <= 0:
            continue
        total_frac = result.total / result.max_total
        for g in result.items:
            rest_max = result.max_total - g.points_possible
            rest = (result.total - g.points_awarded) / rest_max if rest_max > 0 else math.nan
            data.setdefault(g.code, []).append((1 if g.correct else 0, rest, total_frac))
    out = []
    for code in sorted(data):
        rows = data[code]
        xs = [r[0] for r in rows]
        facility = sum(xs) / len(xs)
        pb = None if any(math.isnan(r[1]) for r in rows) else _pearson(xs, [r[1] for r in rows])
        ul = _upper_lower(rows, group_fraction)
        flags: list[str] = []
        if len(rows) >= min_responses:
            if facility > easy_above:
                flags.append("too_easy")
            if facility < hard_below:
                flags.append("too_hard")
            disc = pb if pb is not None else ul
            if disc is not None and disc < 0:
                flags.append("negative_discrimination")
        out.append(ItemStats(code, len(rows), facility, pb, ul, tuple(flags)))
    return out


def _pearson(xs: list[int], ys: list[float]) -> float | None:
    """Return the Pearson correlation, or None when either variable is constant."""
    n = len(xs)
    if n < 2:
        return None
    mx, my = sum(xs) / n, sum(ys) / n
    sxy = sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=False))
    sxx = sum((x - mx) ** 2 for x in xs)
    syy = sum((y - my) ** 2 for y in ys)
    if sxx <= 1e-12 or syy <= 1e-12:
        return None
    return sxy / math.sqrt(sxx * syy)


def _upper_lower(rows: list[tuple[int, float, float]], fraction: float) -> float | None:
    """Return p(upper group) - p(lower group), groups being the top/bottom `fraction` by total score."""
    n = len(rows)
    if n < 2:
        return None
    g = min(max(1, math.floor(fraction * n + 0.5)), n // 2)
    # Stable sort: ties keep input order, so results are deterministic.
    ranked = sorted(rows, key=lambda r: -r[2])
    upper = sum(r[0] for r in ranked[:g]) / g
    lower = sum(r[0] for r in ranked[-g:]) / g
    return upper - lower
