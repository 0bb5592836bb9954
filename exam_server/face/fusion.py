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

Nothing here compares vectors of different models: each model's distance is computed between its
own vectors, and fusion combines distances.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from statistics import NormalDist
from typing import TYPE_CHECKING, Any

import numpy as np

from .errors import FaceError, ModelMismatchError
from .samples import Decided, Template

if TYPE_CHECKING:
    from .engine import FaceEngine
    from .samples import FaceSample, Verification

PARAMS_FILE = Path(__file__).with_name("fusion_params.json")
FORMAT_VERSION = 1
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
        return decision, bool(distance <= threshold), threshold, low, high

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
    fitted_on: dict[str, Any] = field(default_factory=dict)

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
            dict(data.get("fitted_on", {})),
        )


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

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": FORMAT_VERSION,
            "models": {
                name: {"model_key": e.model_key, **e.point.to_dict(), "fitted_on": e.fitted_on}
                for name, e in sorted(self.models.items())
            },
            "fused": self.fused.to_dict() if self.fused is not None else None,
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
            raise ValueError(f"{path or 'fusion parameters'}: format {data.get('format')!r}, expected {FORMAT_VERSION}")
        models = {
            name: ModelPoint(str(e["model_key"]), OperatingPoint.from_dict(e), dict(e.get("fitted_on", {})))
            for name, e in data.get("models", {}).items()
        }
        fused = Fusion.from_dict(data["fused"]) if data.get("fused") else None
        return cls(models, fused, path)


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
    features: np.ndarray, same: np.ndarray, l2: float = 0.01, iterations: int = 100
) -> tuple[np.ndarray, float]:
    """Fit a class-balanced, L2-penalised logistic regression by Newton's method; return (coef, intercept).

    Each class carries a total weight of 1, so the intercept is the log-odds at even prior odds; the
    penalty (not on the intercept) keeps the weights finite on separable data.
    """
    x = np.asarray(features, dtype=np.float64)
    y = np.asarray(same, dtype=np.float64)
    n_pos, n_neg = float(y.sum()), float(len(y) - y.sum())
    if n_pos == 0 or n_neg == 0:
        raise ValueError("fusion needs both genuine and impostor pairs")
    weights = np.where(y > 0, 1.0 / n_pos, 1.0 / n_neg)
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


def operating_point(
    genuine: Sequence[float],
    impostor: Sequence[float],
    target_far: float = 0.001,
    review_frr: float = 0.01,
    kind: str = "live",
    base: OperatingPoint | None = None,
    refuse_far: float = 0.05,
) -> tuple[OperatingPoint, dict[str, Any]]:
    """Choose the threshold (automatic match) and the review band of one score from labelled pairs.

    - threshold: the lower of (a) the largest distance whose false-accept rate on these impostor pairs
      is at most target_far and (b) the target_far quantile of a normal fitted to the impostor
      distances, which still says something when there are too few impostor pairs to measure it;
    - top of the review band (refused beyond it): the highest of the largest genuine distance, the
      1 - review_frr quantile of a normal fitted to the genuine distances, and the refuse_far quantile
      of the impostor normal fit: a worker is refused outright only where the score looks like a
      typical impostor, never on a score that only a few impostors reach.
    Only the threshold of `kind` changes; `base` gives the other one.
    """
    gen = np.sort(np.asarray(genuine, dtype=np.float64))
    imp = np.sort(np.asarray(impostor, dtype=np.float64))
    if len(gen) < 2 or len(imp) < 2:
        raise ValueError("an operating point needs at least 2 genuine and 2 impostor pairs")
    allowed = int(math.floor(target_far * len(imp)))
    empirical = float(imp[allowed]) - 1e-6 if allowed < len(imp) else float(imp[-1])
    mu, sigma = float(imp.mean()), float(imp.std(ddof=1))
    normal = mu + sigma * NormalDist().inv_cdf(target_far)
    threshold = round(min(empirical, normal), 4)
    genuine_top = max(float(gen[-1]), float(gen.mean() + gen.std(ddof=1) * NormalDist().inv_cdf(1.0 - review_frr)))
    impostor_top = mu + sigma * NormalDist().inv_cdf(refuse_far)
    review_above = round(max(0.0, genuine_top - threshold, impostor_top - threshold), 4)
    base = base or OperatingPoint(threshold, threshold, 0.0, review_above)
    if kind == "id_card":
        point = replace(base, id_card_threshold=threshold, review_above=max(base.review_above, review_above))
    else:
        point = replace(base, live_threshold=threshold, review_above=review_above)
        if base.id_card_threshold == base.live_threshold:
            point = replace(point, id_card_threshold=threshold)
    high = threshold + point.review_above
    stats = {
        "genuine_pairs": len(gen),
        "impostor_pairs": len(imp),
        "target_far": target_far,
        "review_frr": review_frr,
        "refuse_far": refuse_far,
        "threshold_empirical": round(empirical, 4),
        "threshold_normal_fit": round(normal, 4),
        "impostor_fit": {"mean": round(mu, 4), "std": round(sigma, 4)},
        "far_at_threshold": round(float(np.mean(imp <= threshold)), 6),
        "frr_at_threshold": round(float(np.mean(gen > threshold)), 6),
        "far_into_review": round(float(np.mean(imp <= high)), 6),
        "frr_beyond_band": round(float(np.mean(gen > high)), 6),
        "far_measurable_down_to": round(1.0 / len(imp), 6),
    }
    return point, stats


def fit_fusion(
    genuine: np.ndarray,
    impostor: np.ndarray,
    models: Sequence[str],
    model_keys: Sequence[str],
    target_far: float = 0.001,
    review_frr: float = 0.01,
    l2: float = 0.01,
    kind: str = "live",
    description: str = "",
) -> Fusion:
    """Fit the fusion on (pairs, models) distance matrices of genuine and impostor pairs."""
    gen = np.asarray(genuine, dtype=np.float64)
    imp = np.asarray(impostor, dtype=np.float64)
    if gen.ndim != 2 or imp.ndim != 2 or gen.shape[1] != len(models) or imp.shape[1] != len(models):
        raise ValueError(f"need (pairs, {len(models)}) distance matrices, got {gen.shape} and {imp.shape}")
    centre = imp.mean(axis=0)
    scale = np.maximum(imp.std(axis=0, ddof=1), 1e-6)
    z = (np.vstack([gen, imp]) - centre) / scale
    same = np.r_[np.ones(len(gen)), np.zeros(len(imp))]
    coef, intercept = fit_logistic(z, same, l2)
    fusion = Fusion(
        tuple(models),
        tuple(model_keys),
        tuple(map(float, centre)),
        tuple(map(float, scale)),
        tuple(map(float, coef)),
        intercept,
        OperatingPoint(1.0, 1.0),
    )
    point, stats = operating_point(fusion.distances(gen), fusion.distances(imp), target_far, review_frr, kind)
    return replace(
        fusion,
        point=point,
        fitted_on={"weights_fitted_on": kind, "l2": l2, kind: {"description": description, **stats}},
    )


def refit_threshold(
    fusion: Fusion,
    genuine: np.ndarray,
    impostor: np.ndarray,
    target_far: float = 0.001,
    review_frr: float = 0.01,
    kind: str = "id_card",
    description: str = "",
) -> Fusion:
    """Keep a fusion's weights and choose the thresholds of one kind of comparison on new pairs."""
    point, stats = operating_point(
        fusion.distances(genuine), fusion.distances(impostor), target_far, review_frr, kind, base=fusion.point
    )
    return replace(fusion, point=point, fitted_on={**fusion.fitted_on, kind: {"description": description, **stats}})


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

    @property
    def model_name(self) -> str:
        return FUSED_NAME

    def to_dict(self) -> dict[str, Any]:
        return {
            **super().to_dict(),
            "model_name": FUSED_NAME,
            "models": list(self.models),
            "model_distances": [round(d, 6) for d in self.model_distances],
            "per_model": [v.to_dict() for v in self.per_model],
            "frames": self.frames,
            "templates": self.templates,
            "frame_distances": [round(d, 6) for d in self.frame_distances],
            "reasons": list(self.reasons),
        }


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
) -> MultiVerification:
    """Decide with the fused score of every model in the fusion, over all frames and all templates.

    Per model, the distance is the mean over every (live frame, enrolled template) pair, so several
    enrolment photos and several frames of the burst all count. The fused decision is then
    downgraded, never upgraded: a fused "match" becomes "review" when any model alone says
    "mismatch" or when any single frame's fused distance is beyond the review band.
    """
    probe_list = [probes] if not isinstance(probes, Sequence) else list(probes)
    template_list = [templates] if isinstance(templates, Template) else list(templates)
    if not probe_list or not template_list:
        raise ValueError("verify_fused needs at least one live sample and one template")
    fusion = fusion or engine.fusion
    kinds = {t.kind for t in template_list}
    kind = "id_card" if "id_card" in kinds else template_list[0].kind
    model_distances, frame_matrix, per_model = [], [], []
    for name, key in zip(fusion.models, fusion.model_keys, strict=False):
        held = engine.model_for(key)
        if held.name != name:
            raise ModelMismatchError(key, f"fusion model {name}")
        mean, per_frame = mean_distance(engine, key, probe_list, template_list)
        model_distances.append(mean)
        frame_matrix.append(per_frame)
        per_model.append(engine.decide(mean, kind, held))
    fused = fusion.distance(model_distances)
    frame_fused = tuple(float(v) for v in fusion.distances(np.asarray(frame_matrix).T))
    decision, match, threshold, low, high = fusion.point.decide(fused, kind)
    reasons = []
    vetoes = [v.model_name for v in per_model if v.decision == "mismatch"]
    if vetoes:
        reasons.append(f"mismatch by {', '.join(vetoes)} alone")
    if max(frame_fused) > high:
        reasons.append(f"a frame's fused distance {max(frame_fused):.3f} is beyond the review band")
    if decision == "match" and reasons:
        decision = "review"
    return MultiVerification(
        fused,
        decision,
        match,
        threshold,
        low,
        high,
        kind,
        tuple(fusion.models),
        tuple(model_distances),
        tuple(per_model),
        len(probe_list),
        len(template_list),
        frame_fused,
        tuple(reasons),
    )


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
