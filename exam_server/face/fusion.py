"""Operating points per embedding model and calibrated score fusion of several models.

Every model other than dlib (whose thresholds are FaceSettings fields) takes its thresholds and review
band from a small JSON file: `fusion_params.json` beside this module as shipped, or the file named by
`FaceSettings.fusion_file` (written by `exam-server face calibrate --model NAME --write FILE` or
`--fused --write FILE`). The same file holds the fusion of several models:

1. each model's distance d_i is z-normalised by that model's impostor distances on the fitting set,
   z_i = (d_i - centre_i) / scale_i, so that impostors are about N(0, 1) whatever the model's scale;
2. a logistic regression with balanced classes and a small L2 penalty, fitted on labelled pairs,
   gives a score s = b + sum(w_i z_i) (log-odds of "same person" at even prior odds), reported as
   `same_probability`;
3. the fused distance is f = 1 + 0.1 * sum(u_i z_i) with u = -w / sum(|w|): the regression's
   direction, scaled so that the fitting set's impostors sit around 1.0 and every 0.1 below is one
   impostor standard deviation (a logistic probability saturates near 0 and 1, where thresholds
   could not be told apart). Lower is more alike, so f is decided like any distance (threshold and
   review band), with thresholds chosen on the fitting pairs (`operating_point`). f is clamped at 0.

The fused decision (`Fusion.decide`) cannot be worse than its best member: each model also has its own
operating point inside the fusion (`members`), and

- a model alone beyond its band (a confident mismatch) refuses, whatever the others say;
- a fused "match" needs at least one model alone to say "match": two reviews never make a match;
- a fused "mismatch" that a model alone calls a "match" is a disagreement: it goes to review;
- `match` is true exactly when the final decision is "match", after every rule above.

With an enrolled population (cohort.Population) the same is done on cohort-normalised scores
(`FaceModelParams.cohort`, fitted like the plain fusion), and the rank check can only lower a match.

Nothing here compares vectors of different models: each model's distance is computed between its
own vectors, and fusion combines distances.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from statistics import NormalDist
from typing import TYPE_CHECKING, Any

import numpy as np

from .cohort import Population, cohort_stats, mean_vector, normalised
from .errors import FaceError, ModelMismatchError
from .samples import Decided, Template

if TYPE_CHECKING:
    from .engine import FaceEngine
    from .samples import Embedding, FaceSample, Verification

PARAMS_FILE = Path(__file__).with_name("fusion_params.json")
FORMAT_VERSION = 2
FUSED_NAME = "fused"


@dataclass(frozen=True)
class OperatingPoint:
    """Thresholds and review band of one score (a model's distance or the fused distance)."""

    live_threshold: float
    id_card_threshold: float
    review_below: float = 0.0
    review_above: float = 0.0

    def threshold_for(self, template_kind: str) -> float:
        return self.id_card_threshold if template_kind == "id_card" else self.live_threshold

    def band(self, template_kind: str) -> tuple[float, float, float]:
        """Return (threshold, lowest distance reviewed, highest distance reviewed)."""
        threshold = self.threshold_for(template_kind)
        return threshold, threshold - self.review_below, threshold + self.review_above

    def decide(self, distance: float, template_kind: str) -> tuple[str, bool, float, float, float]:
        """Return (decision, match, threshold, low, high): match <= low < review <= high < mismatch."""
        threshold, low, high = self.band(template_kind)
        decision = "match" if distance <= low else "mismatch" if distance > high else "review"
        return decision, decision == "match", threshold, low, high

    def to_dict(self) -> dict[str, float]:
        return {
            "live_threshold": self.live_threshold,
            "id_card_threshold": self.id_card_threshold,
            "review_below": self.review_below,
            "review_above": self.review_above,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> OperatingPoint:
        return cls(
            float(data["live_threshold"]),
            float(data["id_card_threshold"]),
            float(data.get("review_below", 0.0)),
            float(data.get("review_above", 0.0)),
        )


@dataclass(frozen=True)
class Fusion:
    """A fitted fusion of several models' distances into one fused distance (0 and up, impostors near 1)."""

    models: tuple[str, ...]
    model_keys: tuple[str, ...]
    centre: tuple[float, ...]
    scale: tuple[float, ...]
    coef: tuple[float, ...]
    intercept: float
    point: OperatingPoint
    # Each model's own match threshold and band inside the fusion: beyond its band is a confident mismatch.
    members: tuple[OperatingPoint, ...] = ()
    fitted_on: dict[str, Any] = field(default_factory=dict)

    def decide(self, distances: Sequence[float], template_kind: str) -> FusedDecision:
        """Decide on one distance per model (model order) with the fused score and every member's own verdict."""
        if len(self.members) != len(self.models):
            raise FaceError(f"fusion of {self.models} has {len(self.members)} member operating points")
        fused = self.distance(distances)
        decision, _, threshold, low, high = self.point.decide(fused, template_kind)
        verdicts = tuple(p.decide(float(d), template_kind)[0] for p, d in zip(self.members, distances, strict=True))
        reasons: list[str] = []
        vetoes = [m for m, v in zip(self.models, verdicts, strict=True) if v == "mismatch"]
        matches = [m for m, v in zip(self.models, verdicts, strict=True) if v == "match"]
        if vetoes:
            if decision != "mismatch":
                reasons.append(f"a confident mismatch by {', '.join(vetoes)} alone refuses")
            decision = "mismatch"
        elif decision == "match" and not matches:
            reasons.append("no model alone says match (two reviews never make a match)")
            decision = "review"
        elif decision == "mismatch" and matches:
            reasons.append(f"disagreement: {', '.join(matches)} alone says match")
            decision = "review"
        return FusedDecision(fused, decision, threshold, low, high, verdicts, tuple(reasons))

    def score(self, distances: Sequence[float]) -> float:
        """Return the log-odds of "same person" (even prior odds) for one distance per model, in model order."""
        d = np.asarray(distances, dtype=np.float64)
        if d.shape != (len(self.models),):
            raise ValueError(f"fusion of {self.models} needs {len(self.models)} distances, got {d.shape}")
        z = (d - np.asarray(self.centre)) / np.asarray(self.scale)
        return float(self.intercept + z @ np.asarray(self.coef))

    def same_probability(self, distances: Sequence[float]) -> float:
        """Return P(same person) at even prior odds, as the regression models it (information only)."""
        return _sigmoid(self.score(distances))

    @property
    def direction(self) -> np.ndarray:
        """Return u = -w / sum(|w|), the weight of each model's z-normalised distance in the fused distance."""
        coef = np.asarray(self.coef, dtype=np.float64)
        return -coef / max(float(np.abs(coef).sum()), 1e-12)

    def distance(self, distances: Sequence[float]) -> float:
        """Return the fused distance: 1 + 0.1 x the weighted z-normalised distances (impostors around 1)."""
        d = np.asarray(distances, dtype=np.float64)
        if d.shape != (len(self.models),):
            raise ValueError(f"fusion of {self.models} needs {len(self.models)} distances, got {d.shape}")
        return float(self.distances(d.reshape(1, -1))[0])

    def distances(self, matrix: np.ndarray) -> np.ndarray:
        """Return the fused distance of every row of an (n, models) distance matrix (never below 0)."""
        z = (np.asarray(matrix, np.float64) - np.asarray(self.centre)) / np.asarray(self.scale)
        # The formula is affine and has no floor: with the shipped weights, identical vectors (every
        # model's distance 0) come out at -0.0013. Clamping only touches pairs nearer than that.
        return np.maximum(1.0 + 0.1 * (z @ self.direction), 0.0)

    def to_dict(self) -> dict[str, Any]:
        return {
            "models": list(self.models),
            "model_keys": list(self.model_keys),
            "centre": [round(v, 6) for v in self.centre],
            "scale": [round(v, 6) for v in self.scale],
            "coef": [round(v, 6) for v in self.coef],
            "intercept": round(self.intercept, 6),
            **self.point.to_dict(),
            "members": {m: p.to_dict() for m, p in zip(self.models, self.members, strict=True)},
            "fitted_on": self.fitted_on,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Fusion:
        return cls(
            tuple(data["models"]),
            tuple(data["model_keys"]),
            tuple(map(float, data["centre"])),
            tuple(map(float, data["scale"])),
            tuple(map(float, data["coef"])),
            float(data["intercept"]),
            OperatingPoint.from_dict(data),
            tuple(OperatingPoint.from_dict(data["members"][m]) for m in data["models"]),
            dict(data.get("fitted_on", {})),
        )


@dataclass(frozen=True)
class FusedDecision:
    """What Fusion.decide says about one set of distances."""

    distance: float
    decision: str
    threshold: float
    low: float
    high: float
    verdicts: tuple[str, ...]  # each model's own decision, model order
    reasons: tuple[str, ...]


@dataclass(frozen=True)
class CohortNorm:
    """How distances are normalised against the enrolled population, and the fusion fitted on the normalised scores."""

    sample_size: int  # cohort templates spread evenly over the index
    top_k: int  # of which the nearest this many describe a face's neighbourhood
    fusion: Fusion  # on normalised scores, members and thresholds included

    def to_dict(self) -> dict[str, Any]:
        return {"sample_size": self.sample_size, "top_k": self.top_k, "fused": self.fusion.to_dict()}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> CohortNorm:
        return cls(int(data["sample_size"]), int(data["top_k"]), Fusion.from_dict(data["fused"]))


@dataclass(frozen=True)
class ModelPoint:
    """The operating point of one model, with the key of the weights it was fitted for."""

    model_key: str
    point: OperatingPoint
    fitted_on: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class FaceModelParams:
    """Per-model operating points and the fusion, as read from (or written to) a JSON file."""

    models: dict[str, ModelPoint]
    fused: Fusion | None
    path: str = ""
    cohort: CohortNorm | None = None

    def point_for(self, model_name: str, model_key: str | None = None) -> OperatingPoint:
        """Return a model's operating point; refuse one fitted for other weights."""
        try:
            entry = self.models[model_name]
        except KeyError:
            raise FaceError(
                f"no operating point for model {model_name!r} in {self.path or PARAMS_FILE}: run "
                f"`exam-server face calibrate --model {model_name} --write FILE` and set "
                f"EXAM_FACE_FUSION_FILE=FILE"
            ) from None
        if model_key is not None and entry.model_key != model_key:
            raise ModelMismatchError(model_key, f"operating point fitted for {entry.model_key}")
        return entry.point

    def with_model(self, name: str, entry: ModelPoint) -> FaceModelParams:
        return replace(self, models={**self.models, name: entry})

    def with_fusion(self, fusion: Fusion) -> FaceModelParams:
        return replace(self, fused=fusion)

    def with_cohort(self, cohort: CohortNorm) -> FaceModelParams:
        return replace(self, cohort=cohort)

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": FORMAT_VERSION,
            "models": {
                name: {"model_key": e.model_key, **e.point.to_dict(), "fitted_on": e.fitted_on}
                for name, e in sorted(self.models.items())
            },
            "fused": self.fused.to_dict() if self.fused is not None else None,
            "cohort": self.cohort.to_dict() if self.cohort is not None else None,
        }

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write the parameters as JSON (atomically) and return the path."""
        target = Path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
        tmp.write_text(json.dumps(self.to_dict(), indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        os.replace(tmp, target)
        return target

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], path: str = "") -> FaceModelParams:
        if int(data.get("format", 0)) != FORMAT_VERSION:
            raise ValueError(
                f"{path or 'fusion parameters'}: format {data.get('format')!r}, expected {FORMAT_VERSION} "
                f"(format 1 had no per-model vetoes inside the fusion: refit it with "
                f"`exam-server face calibrate --fused --write FILE`, docs/face-models.md)"
            )
        models = {
            name: ModelPoint(str(e["model_key"]), OperatingPoint.from_dict(e), dict(e.get("fitted_on", {})))
            for name, e in data.get("models", {}).items()
        }
        fused = Fusion.from_dict(data["fused"]) if data.get("fused") else None
        cohort = CohortNorm.from_dict(data["cohort"]) if data.get("cohort") else None
        return cls(models, fused, path, cohort)


_CACHE: dict[tuple[str, float], FaceModelParams] = {}


def load_params(path: str | os.PathLike[str] | None = None) -> FaceModelParams:
    """Read the parameters file (the shipped one when path is empty); re-read when the file changes."""
    target = Path(path) if path else PARAMS_FILE
    try:
        stamp = target.stat().st_mtime
    except FileNotFoundError:
        raise FaceError(
            f"fusion parameters file {target} not found"
            + ("" if path else " (it ships inside exam_server/face: check package_data)")
        ) from None
    key = (str(target), stamp)
    if key not in _CACHE:
        _CACHE.clear()
        _CACHE[key] = FaceModelParams.from_dict(json.loads(target.read_text(encoding="utf-8")), str(target))
    return _CACHE[key]


# Fitting.


def fit_logistic(
    features: np.ndarray,
    same: np.ndarray,
    l2: float = 0.01,
    iterations: int = 100,
    sample_weight: np.ndarray | None = None,
) -> tuple[np.ndarray, float]:
    """Fit a class-balanced, L2-penalised logistic regression by Newton's method; return (coef, intercept).

    Each class carries a total weight of 1 (shared within a class by sample_weight, equal by default), so
    the intercept is the log-odds at even prior odds; the penalty (not on the intercept) keeps the weights
    finite on separable data.
    """
    x = np.asarray(features, dtype=np.float64)
    y = np.asarray(same, dtype=np.float64)
    if y.sum() == 0 or y.sum() == len(y):
        raise ValueError("fusion needs both genuine and impostor pairs")
    raw = np.ones(len(y)) if sample_weight is None else np.asarray(sample_weight, dtype=np.float64)
    weights = np.where(y > 0, raw / raw[y > 0].sum(), raw / raw[y == 0].sum())
    design = np.hstack([x, np.ones((len(x), 1))])
    beta = np.zeros(design.shape[1])
    penalty = np.full(design.shape[1], l2)
    penalty[-1] = 0.0
    for _ in range(iterations):
        p = _sigmoid_array(design @ beta)
        gradient = design.T @ (weights * (p - y)) + penalty * beta
        hessian = (design * (weights * p * (1 - p))[:, None]).T @ design + np.diag(penalty) + 1e-12 * np.eye(len(beta))
        step = np.linalg.solve(hessian, gradient)
        beta -= step
        if np.max(np.abs(step)) < 1e-10:
            break
    return beta[:-1], float(beta[-1])


def _groups(values: np.ndarray, groups: Sequence[str] | np.ndarray | None) -> dict[str, np.ndarray]:
    """Split scores by set label ("" for all when unlabelled); the pooled scores are always under "*"."""
    labels = np.asarray([""] * len(values) if groups is None else list(groups), dtype=object)
    out = {"*": values}
    for label in sorted({str(g) for g in labels}):
        if label:
            out[label] = values[labels == label]
    return out


def _lower_quantile(sorted_values: np.ndarray, share: float) -> float:
    """Return the largest score with at most `share` of the values at or below it."""
    allowed = int(math.floor(share * len(sorted_values)))
    return float(sorted_values[allowed]) - 1e-6 if allowed < len(sorted_values) else float(sorted_values[-1])


def operating_point(
    genuine: Sequence[float] | np.ndarray,
    impostor: Sequence[float] | np.ndarray,
    target_far: float = 0.0005,
    review_far: float = 0.04,
    kind: str = "live",
    base: OperatingPoint | None = None,
    veto_frr: float | None = None,
    genuine_groups: Sequence[str] | np.ndarray | None = None,
    impostor_groups: Sequence[str] | np.ndarray | None = None,
) -> tuple[OperatingPoint, dict[str, Any]]:
    """Choose a score's threshold (automatic match) and review band from labelled pairs, on every set at once.

    - threshold: the lowest, over the pooled pairs and every set with at least 2 / target_far impostor
      pairs, of the largest score letting in at most target_far of that set's impostors; with too few
      impostor pairs anywhere to measure that rate, the target_far quantile of a normal fitted to them;
    - top of the review band (refused beyond it), for a decision: the lowest, over the pooled pairs and
      every set with at least 2 / review_far impostor pairs, of the score below which review_far of the
      impostors lie, so that at most that share of impostors goes to a person;
    - for a model's part in a fusion (veto_frr given): the band reaches past all but veto_frr of the same-person
      pairs of every set, so that a model alone refuses only where same-person pairs essentially never are.
    Only the threshold of `kind` changes; `base` gives the other one.
    """
    gen = np.asarray(genuine, dtype=np.float64)
    imp = np.asarray(impostor, dtype=np.float64)
    if len(gen) < 2 or len(imp) < 2:
        raise ValueError("an operating point needs at least 2 genuine and 2 impostor pairs")
    gen_sets = {k: np.sort(v) for k, v in _groups(gen, genuine_groups).items() if len(v)}
    imp_sets = {k: np.sort(v) for k, v in _groups(imp, impostor_groups).items() if len(v)}
    measurable = {k: v for k, v in imp_sets.items() if len(v) * target_far >= 2}
    mu, sigma = float(imp.mean()), float(imp.std(ddof=1))
    normal = mu + sigma * NormalDist().inv_cdf(target_far)
    per_set = {k: _lower_quantile(v, target_far) for k, v in measurable.items()}
    # Rounded down: rounding up could let in one more different person than the target allows.
    threshold = (
        math.floor(
            1e4 * (min(per_set.values()) if per_set else min(_lower_quantile(imp_sets["*"], target_far), normal))
        )
        / 1e4
    )
    if veto_frr is not None:
        tops = [
            float(np.quantile(v, 1.0 - veto_frr)) if len(v) * veto_frr >= 1 else float(v[-1]) for v in gen_sets.values()
        ]
        top = max(tops)
    else:
        enough = {k: v for k, v in imp_sets.items() if len(v) * review_far >= 2} or {"*": imp_sets["*"]}
        top = min(_lower_quantile(v, review_far) for v in enough.values())
    review_above = round(max(0.0, top - threshold), 4)
    base = base or OperatingPoint(threshold, threshold, 0.0, review_above)
    if kind == "id_card":
        point = replace(base, id_card_threshold=threshold, review_above=max(base.review_above, review_above))
    else:
        point = replace(base, live_threshold=threshold, review_above=review_above)
        if base.id_card_threshold == base.live_threshold:
            point = replace(point, id_card_threshold=threshold)
    high = threshold + point.review_above
    stats: dict[str, Any] = {
        "genuine_pairs": len(gen),
        "impostor_pairs": len(imp),
        "target_far": target_far,
        ("veto_frr" if veto_frr is not None else "review_far"): veto_frr if veto_frr is not None else review_far,
        "threshold_per_set": {k: round(v, 4) for k, v in per_set.items()},
        "threshold_normal_fit": round(normal, 4),
        "impostor_fit": {"mean": round(mu, 4), "std": round(sigma, 4)},
        "far_measurable_down_to": round(1.0 / len(imp), 6),
        "sets": {
            k: {
                "far_at_threshold": round(float(np.mean(imp_sets[k] <= threshold)), 6) if k in imp_sets else None,
                "frr_at_threshold": round(float(np.mean(gen_sets[k] > threshold)), 6) if k in gen_sets else None,
                "far_into_review": round(float(np.mean(imp_sets[k] <= high)), 6) if k in imp_sets else None,
                "frr_beyond_band": round(float(np.mean(gen_sets[k] > high)), 6) if k in gen_sets else None,
            }
            for k in sorted(set(gen_sets) | set(imp_sets))
        },
    }
    return point, stats


def group_weights(groups: Sequence[str] | np.ndarray | None, count: int) -> np.ndarray:
    """Return sample weights giving every set the same total weight (all 1 when unlabelled)."""
    if groups is None:
        return np.ones(count)
    labels = np.asarray(list(groups), dtype=object)
    weights = np.ones(count)
    names = sorted(set(labels.tolist()))
    for name in names:
        chosen = labels == name
        weights[chosen] = 1.0 / (chosen.sum() * len(names))
    return weights


def fit_fusion(
    genuine: np.ndarray,
    impostor: np.ndarray,
    models: Sequence[str],
    model_keys: Sequence[str],
    target_far: float = 0.0005,
    review_far: float = 0.04,
    veto_frr: float = 0.002,
    l2: float = 0.01,
    kind: str = "live",
    description: str = "",
    genuine_groups: Sequence[str] | np.ndarray | None = None,
    impostor_groups: Sequence[str] | np.ndarray | None = None,
) -> Fusion:
    """Fit the fusion (weights, thresholds, each model's veto) on (pairs, models) distances of labelled pairs.

    With set labels every set weighs the same in the regression, and thresholds hold on each set.
    """
    gen = np.asarray(genuine, dtype=np.float64)
    imp = np.asarray(impostor, dtype=np.float64)
    if gen.ndim != 2 or imp.ndim != 2 or gen.shape[1] != len(models) or imp.shape[1] != len(models):
        raise ValueError(f"need (pairs, {len(models)}) distance matrices, got {gen.shape} and {imp.shape}")
    centre = imp.mean(axis=0)
    scale = np.maximum(imp.std(axis=0, ddof=1), 1e-6)
    z = (np.vstack([gen, imp]) - centre) / scale
    same = np.r_[np.ones(len(gen)), np.zeros(len(imp))]
    weights = np.r_[group_weights(genuine_groups, len(gen)), group_weights(impostor_groups, len(imp))]
    coef, intercept = fit_logistic(z, same, l2, sample_weight=weights)
    fusion = Fusion(
        tuple(models),
        tuple(model_keys),
        tuple(map(float, centre)),
        tuple(map(float, scale)),
        tuple(map(float, coef)),
        intercept,
        OperatingPoint(1.0, 1.0),
    )
    return refit_threshold(
        fusion, gen, imp, target_far, review_far, veto_frr, kind, description, genuine_groups, impostor_groups, l2
    )


def refit_threshold(
    fusion: Fusion,
    genuine: np.ndarray,
    impostor: np.ndarray,
    target_far: float = 0.0005,
    review_far: float = 0.04,
    veto_frr: float = 0.002,
    kind: str = "id_card",
    description: str = "",
    genuine_groups: Sequence[str] | np.ndarray | None = None,
    impostor_groups: Sequence[str] | np.ndarray | None = None,
    l2: float | None = None,
) -> Fusion:
    """Keep a fusion's weights; choose the thresholds of one kind of comparison and each model's veto on these pairs."""
    gen = np.asarray(genuine, dtype=np.float64)
    imp = np.asarray(impostor, dtype=np.float64)
    fresh = not fusion.members
    point, stats = operating_point(
        fusion.distances(gen),
        fusion.distances(imp),
        target_far,
        review_far,
        kind,
        None if fresh else fusion.point,
        genuine_groups=genuine_groups,
        impostor_groups=impostor_groups,
    )
    members = []
    member_stats = {}
    for i, name in enumerate(fusion.models):
        member, member_fit = operating_point(
            gen[:, i],
            imp[:, i],
            target_far,
            review_far,
            kind,
            None if fresh else fusion.members[i],
            veto_frr=veto_frr,
            genuine_groups=genuine_groups,
            impostor_groups=impostor_groups,
        )
        members.append(member)
        member_stats[name] = member_fit
    fitted = {**fusion.fitted_on, kind: {"description": description, **stats, "members": member_stats}}
    if fresh:
        fitted = {"weights_fitted_on": kind, "l2": l2, **fitted}
    return replace(fusion, point=point, members=tuple(members), fitted_on=fitted)


# Verification with several models, frames and templates.


@dataclass(frozen=True)
class MultiVerification(Decided):
    """A fused decision over several models, live frames and enrolled templates."""

    models: tuple[str, ...]
    model_distances: tuple[float, ...]
    per_model: tuple[Verification, ...]
    frames: int
    templates: int
    frame_distances: tuple[float, ...]
    reasons: tuple[str, ...] = ()
    # Cohort normalisation: whether it decided, and the normalised per-model scores it decided on.
    normalised: bool = False
    normalised_scores: tuple[float, ...] = ()
    # The rank check: another enrolled worker nearer to the live face than the claimed one.
    look_alike: dict[str, Any] | None = None
    # The burst's tracked frames, each judged alone by the tracking model (tracked_verdicts).
    tracked: dict[str, Any] | None = None

    @property
    def model_name(self) -> str:
        return FUSED_NAME

    def to_dict(self) -> dict[str, Any]:
        return {
            **super().to_dict(),
            "model_name": FUSED_NAME,
            "models": list(self.models),
            "model_distances": [None if math.isnan(d) else round(d, 6) for d in self.model_distances],
            "per_model": [v.to_dict() for v in self.per_model],
            "frames": self.frames,
            "templates": self.templates,
            "frame_distances": [round(d, 6) for d in self.frame_distances],
            "reasons": list(self.reasons),
            "normalised": self.normalised,
            "normalised_scores": [None if math.isnan(d) else round(d, 4) for d in self.normalised_scores],
            "look_alike": self.look_alike,
            "tracked": self.tracked,
        }


def tracked_verdicts(
    engine: FaceEngine, tracked: Mapping[int, Embedding], templates: Sequence[Template], kind: str
) -> list[tuple[int, Verification]]:
    """Return each tracked frame's decision alone, by frame number: its model's operating point on its mean distance.

    tracked: a burst's frames embedded by the tracking model only (liveness.embed_burst), by frame number. Each
    is compared with every template of its model, as each judged frame is (mean_distance), and decided at
    that model's own operating point for the decision's template kind. No template of the model: none judged.
    """
    out = []
    for number, embedding in sorted(tracked.items()):
        model = engine.model_for(embedding.model_key)
        stored = [t.embedding.vector for t in templates if t.embedding.model_key == embedding.model_key]
        if stored:
            distance = float(np.mean([model.distance(embedding.vector, t) for t in stored]))
            out.append((number, engine.decide(distance, kind, model)))
    return out


def tracked_mismatch(
    engine: FaceEngine, tracked: Mapping[int, Embedding] | None, templates: Sequence[Template], kind: str
) -> tuple[dict[str, Any] | None, str | None]:
    """Return the tracked frames' verdicts (as stored) and, when one of them alone is a mismatch, the reason."""
    if not tracked:
        return None, None
    verdicts = tracked_verdicts(engine, tracked, templates, kind)
    if not verdicts:
        return None, None
    first = verdicts[0][1]
    stored = {
        "model_name": first.model_name,
        "model_version": first.model_version,
        "frames": [n for n, _ in verdicts],
        "distances": [round(v.distance, 6) for _, v in verdicts],
        "decisions": [v.decision for _, v in verdicts],
    }
    bad = [(n, v) for n, v in verdicts if v.decision == "mismatch"]
    if not bad:
        return stored, None
    number, worst = max(bad, key=lambda item: item[1].distance)
    return stored, f"frame {number + 1} of the burst alone is a mismatch by {worst.model_name} ({worst.distance:.3f})"


def mean_distance(
    engine: FaceEngine, model_key: str, probes: Sequence[FaceSample], templates: Sequence[Template]
) -> tuple[float, list[float]]:
    """Return one model's mean distance over every (frame, template) pair, and each frame's mean."""
    model = engine.model_for(model_key)
    stored = [t.embedding.vector for t in templates if t.embedding.model_key == model_key]
    if not stored:
        raise ModelMismatchError(model_key, "no enrolled template of this model (re-enrol from the stored photos)")
    per_frame = []
    for probe in probes:
        vector = probe.embedding_for(model_key).vector
        per_frame.append(float(np.mean([model.distance(vector, t) for t in stored])))
    return float(np.mean(per_frame)), per_frame


def verify_fused(
    engine: FaceEngine,
    probes: FaceSample | Sequence[FaceSample],
    templates: Template | Sequence[Template],
    fusion: Fusion | None = None,
    population: Population | None = None,
    tracked: Mapping[int, Embedding] | None = None,
    templates_rest: Callable[[], Sequence[Template]] | None = None,
) -> MultiVerification:
    """Decide on every model in the fusion, over all frames and all templates: the one 1:1 decision path.

    Per model, the distance is the mean over every (live frame, enrolled template) pair, so several
    pictures on either side count together. Fusion.decide takes the decision (vetoes, no match out of
    two reviews, disagreement to review). With a population of other enrolled workers large enough,
    the scores are first normalised against it (cohort.py) and decided with the cohort fusion; below
    that size the plain decision stands and `reasons` says so. A burst is a mismatch when any single
    frame alone is one: each probe by the fusion, each of the burst's `tracked` frames (embedded by the
    tracking model only, liveness.embed_burst) by that model (tracked_verdicts); and a match becomes
    review when another enrolled worker is nearer to the live face than the claimed one (the rank check,
    `look_alike`). The lead model is asked first (settled_by_lead): when its distance settles the decision,
    the other models are neither compared nor, for probes embedded by the lead model only, embedded;
    otherwise such probes are embedded by every model (FaceSample.embed_rest) and `templates_rest` gives
    the templates of the models a template photo was not yet embedded by (the ID-card
    photo, which check-in embeds by the lead model first).
    """
    probe_list = [probes] if not isinstance(probes, Sequence) else list(probes)
    template_list = [templates] if isinstance(templates, Template) else list(templates)
    if not probe_list or not template_list:
        raise ValueError("verify_fused needs at least one live sample and one template")
    fusion = fusion or engine.fusion
    kinds = {t.kind for t in template_list}
    kind = "id_card" if "id_card" in kinds else template_list[0].kind
    settled = settled_by_lead(engine, fusion, population, probe_list, template_list, kind)
    scores: tuple[float, ...] = ()
    if settled is not None:
        outcome, scores, note, model_distances, frame_matrix, per_model = settled
    else:
        probe_list = embedded_by_all(probe_list, fusion.model_keys)
        if templates_rest is not None:
            template_list = [*template_list, *templates_rest()]
        model_distances, frame_matrix, per_model = [], [], []
        for name, key in zip(fusion.models, fusion.model_keys, strict=False):
            held = engine.model_for(key)
            if held.name != name:
                raise ModelMismatchError(key, f"fusion model {name}")
            mean, per_frame = mean_distance(engine, key, probe_list, template_list)
            model_distances.append(mean)
            frame_matrix.append(per_frame)
            per_model.append(engine.decide(mean, kind, held))
        outcome = fusion.decide(model_distances, kind)
        if population is None:
            note = "no enrolled population given: the calibrated plain decision"
        else:
            normalised = _normalised_decision(engine, fusion, population, probe_list, template_list, model_distances)
            if isinstance(normalised, str):
                note = normalised
            else:
                scores, outcome = normalised
                note = f"normalised against {population.size(fusion.model_keys)} other enrolled workers"
    reasons = [*outcome.reasons, note]
    decision = outcome.decision
    frames = np.asarray(frame_matrix).T
    frame_fused = tuple(float(v) for v in fusion.distances(frames))
    if len(probe_list) > 1:
        alone = [fusion.decide(row, kind).decision for row in frames]
        if "mismatch" in alone and decision != "mismatch":
            reasons.append(f"frame {alone.index('mismatch') + 1} of {len(alone)} alone is a mismatch")
            decision = "mismatch"
    tracked_stored, tracked_reason = tracked_mismatch(engine, tracked, template_list, kind)
    if tracked_reason is not None and decision != "mismatch":
        reasons.append(tracked_reason)
        decision = "mismatch"
    look_alike = None
    if population is not None and population.rank_gallery is not None:
        probe_list = embedded_by_all(probe_list, [population.rank_gallery.model_key])
        look_alike = rank_check(engine, population, probe_list, template_list)
        if look_alike is not None and decision == "match":
            reasons.append(
                f"rank check: enrolled worker {look_alike['worker_id']} is nearer to the live face "
                f"({look_alike['distance']:.3f} < {look_alike['claimed_distance']:.3f})"
            )
            decision = "review"
    return MultiVerification(
        outcome.distance,
        decision,
        decision == "match",
        outcome.threshold,
        outcome.low,
        outcome.high,
        kind,
        tuple(fusion.models),
        tuple(model_distances),
        tuple(per_model),
        len(probe_list),
        len(template_list),
        frame_fused,
        tuple(reasons),
        bool(scores),
        scores,
        look_alike,
        tracked_stored,
    )


def lead_model(fusion: Fusion) -> int | None:
    """Return the index of the model carrying most of the fused weight, or None when no model can lead.

    Leading needs every model's weight to be positive (the fused distance rises with each model's
    distance), which is what lets the others' worst case bound the decision.
    """
    direction = fusion.direction
    if len(fusion.models) < 2 or bool((direction <= 0).any()):
        return None
    return int(np.argmax(direction))


def settled_by_lead(
    engine: FaceEngine,
    fusion: Fusion,
    population: Population | None,
    probes: Sequence[FaceSample],
    templates: Sequence[Template],
    kind: str,
) -> tuple[FusedDecision, tuple[float, ...], str, list[float], list[list[float]], list[Verification]] | None:
    """Decide on the lead model alone when no distance of the other models short of their own veto could change it.

    The fused distance rises with every model's distance, so the decision taken with each other model at
    the top of its own review band (its highest distance that is not a confident mismatch) bounds the
    decision the actual distances would take: when that bound is a match for the burst and for every frame
    alone, the other models could only have refused by their own veto, and are not asked (what that gives
    up is measured in docs/face-models.md). Otherwise None: every model decides. Only matches are settled
    early: a face the lead model doubts is worth every model's opinion. Returns what verify_fused reports:
    (outcome, normalised scores, note, each model's mean distance with NaN for a model not asked, the frame
    distance matrix with the others at their bound, the lead model's own verdict); the fused distances are
    then upper bounds of what asking every model would give.
    """
    lead = lead_model(fusion) if engine.settings.fused_lead_first else None
    if lead is None:
        return None
    key = fusion.model_keys[lead]
    if any(key not in p.embeddings for p in probes):
        return None
    held = engine.model_for(key)
    if held.name != fusion.models[lead]:
        raise ModelMismatchError(key, f"fusion model {fusion.models[lead]}")
    mean, per_frame = mean_distance(engine, key, probes, templates)
    judged, score = fusion, mean
    scores: tuple[float, ...] = ()
    note = "no enrolled population given: the calibrated plain decision"
    if population is not None:
        cohort = load_params(engine.settings.fusion_file).cohort
        why_not = _cohort_unusable(engine, fusion, population, cohort)
        if why_not is not None:
            note = why_not
        else:
            assert cohort is not None  # _cohort_unusable said it is usable
            score = normalised_scores(engine, [key], population, probes, templates, [mean], cohort)[0]
            judged = cohort.fusion
            note = f"normalised against {population.size(fusion.model_keys)} other enrolled workers"

    def bounded(fitted: Fusion, lead_value: float) -> list[float]:
        return [lead_value if n == lead else p.band(kind)[2] for n, p in enumerate(fitted.members)]

    outcome = judged.decide(bounded(judged, score), kind)
    frames = [bounded(fusion, d) for d in per_frame]
    if outcome.decision != "match" or any(fusion.decide(row, kind).decision != "match" for row in frames):
        return None
    if judged is not fusion:
        scores = tuple(score if n == lead else math.nan for n in range(len(fusion.models)))
    others = ", ".join(m for n, m in enumerate(fusion.models) if n != lead)
    note = f"{note}; {others} not asked: {held.name} alone settles the decision"
    distances = [mean if n == lead else math.nan for n in range(len(fusion.models))]
    matrix = [[row[n] for row in frames] for n in range(len(fusion.models))]
    return outcome, scores, note, distances, matrix, [engine.decide(mean, kind, held)]


def embedded_by_all(probes: Sequence[FaceSample], model_keys: Sequence[str]) -> list[FaceSample]:
    """Return the probes embedded by these models: a probe lacking one is embedded by every model (embed_rest)."""
    return [
        p.embed_rest() if p.embed_rest is not None and any(k not in p.embeddings for k in model_keys) else p
        for p in probes
    ]


def _cohort_unusable(
    engine: FaceEngine, fusion: Fusion, population: Population, cohort: CohortNorm | None
) -> str | None:
    """Return why the cohort normalisation cannot decide for this population, or None when it can."""
    if cohort is None:
        return "no cohort normalisation in the parameters file: the calibrated plain decision"
    if tuple(cohort.fusion.model_keys) != tuple(fusion.model_keys):
        return f"the cohort normalisation is fitted for {list(cohort.fusion.model_keys)}: the plain decision"
    size = population.size(fusion.model_keys)
    needed = max(engine.settings.cohort_min_population, cohort.sample_size)
    if size < needed:
        return f"cohort normalisation off: {size} other enrolled workers, fewer than {needed}: the plain decision"
    return None


def _normalised_decision(
    engine: FaceEngine,
    fusion: Fusion,
    population: Population,
    probes: Sequence[FaceSample],
    templates: Sequence[Template],
    distances: Sequence[float],
) -> tuple[tuple[float, ...], FusedDecision] | str:
    """Return (normalised scores, decision) on the cohort fusion, or why the plain decision stands."""
    cohort = load_params(engine.settings.fusion_file).cohort
    why_not = _cohort_unusable(engine, fusion, population, cohort)
    if why_not is not None:
        return why_not
    assert cohort is not None  # _cohort_unusable said it is usable
    scores = normalised_scores(engine, fusion.model_keys, population, probes, templates, distances, cohort)
    kind = "id_card" if any(t.kind == "id_card" for t in templates) else templates[0].kind
    return tuple(scores), cohort.fusion.decide(scores, kind)


def normalised_scores(
    engine: FaceEngine,
    model_keys: Sequence[str],
    population: Population,
    probes: Sequence[FaceSample],
    templates: Sequence[Template],
    distances: Sequence[float],
    cohort: CohortNorm,
) -> tuple[float, ...]:
    """Return each model's distance normalised against the population (cohort.normalised), model order."""
    scores = []
    for key, distance in zip(model_keys, distances, strict=True):
        model = engine.model_for(key)
        gallery = population.galleries[key]
        probe = mean_vector([p.embedding_for(key).vector for p in probes], model.metric)
        stored = mean_vector([t.embedding.vector for t in templates if t.embedding.model_key == key], model.metric)
        around_probe = cohort_stats(gallery, probe, cohort.sample_size, cohort.top_k, population.claimed)
        around_template = cohort_stats(gallery, stored, cohort.sample_size, cohort.top_k, population.claimed)
        scores.append(normalised(distance, around_probe, around_template))
    return tuple(scores)


def rank_check(
    engine: FaceEngine, population: Population, probes: Sequence[FaceSample], templates: Sequence[Template]
) -> dict[str, Any] | None:
    """Return the enrolled worker nearest to the live face when nearer than the claimed worker, else None."""
    gallery = population.rank_gallery
    if gallery is None:
        return None
    key = gallery.model_key
    model = engine.model_for(key)
    stored = [t for t in templates if t.embedding.model_key == key]
    if not stored:
        return None
    # Like for like: the gallery holds each colleague's enrolled templates and answers the nearest one, so the
    # claimed worker is measured on his own enrolled ones (stored rows: template_id set), nearest too. The
    # day's check-in reference and the chip photo stay out: they are the face that came through the door,
    # which is the impostor's own when one got past it, and would hide him from the check at every capture.
    enrolled = [t for t in stored if t.template_id is not None] or stored
    probe = mean_vector([p.embedding_for(key).vector for p in probes], model.metric)
    claimed = min(float(model.distance(probe, t.embedding.vector)) for t in enrolled)
    hits = gallery.search(probe, k=1, exclude=population.claimed)
    # Nearer by more than float32 rounding: the gallery computes in float32, an equal template is not nearer.
    if not hits or hits[0].distance >= claimed - 1e-6:
        return None
    return {
        "worker_id": int(hits[0].worker_id),
        "distance": round(float(hits[0].distance), 6),
        "claimed_distance": round(claimed, 6),
        "model": key,
    }


def _sigmoid(x: float) -> float:
    if x >= 0:
        return 1.0 / (1.0 + math.exp(-x))
    e = math.exp(x)
    return e / (1.0 + e)


def _sigmoid_array(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    out = np.empty_like(x)
    pos = x >= 0
    out[pos] = 1.0 / (1.0 + np.exp(-x[pos]))
    e = np.exp(x[~pos])
    out[~pos] = e / (1.0 + e)
    return out


# Calibration on labelled pairs (the `exam-server face calibrate --model/--fused` commands).
