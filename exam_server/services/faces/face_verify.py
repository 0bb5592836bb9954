"""1:1 decisions with several models: the fused score when it is on and complete, else the primary model alone."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from exam_server.face import FaceEngine, FaceSample, ModelMismatchError, Template

log = logging.getLogger(__name__)
FUSED = "fused"


@dataclass(frozen=True)
class Judgement:
    """A decision on live frames against a worker's templates, with what a face_check row stores."""

    decision: str
    distance: float
    threshold: float
    model_name: str
    model_version: str
    detail: dict[str, Any]
    frame_distances: tuple[float, ...] = field(default=())

    @property
    def fused(self) -> bool:
        return self.model_name == FUSED

    def to_dict(self) -> dict[str, Any]:
        return self.detail


def fusion_label(engine: FaceEngine) -> str:
    """Return the face_check.model_version of a fused decision: the fused models' names."""
    return "+".join(engine.fusion.models)[:64]


def unfused_reason(engine: FaceEngine, templates: Sequence[Template]) -> str | None:
    """Return why these templates cannot be fused (None when they can: fusion on, a template of every model)."""
    if not engine.settings.fused:
        return "fusion off"
    try:
        keys = engine.fusion.model_keys
    except ModelMismatchError as exc:
        log.warning("EXAM_FACE_FUSED is on but the engine cannot fuse: %s", exc)
        return f"the engine cannot fuse: {exc}"
    held = {t.embedding.model_key for t in templates}
    missing = [key for key in keys if key not in held]
    if missing:
        names = ", ".join(key.split("/")[0] for key in missing)
        return f"no enrolled template of {names} (exam-server face reenrol --model {missing[0].split('/')[0]})"
    return None


def templates_to_judge(engine: FaceEngine, templates: Sequence[Template]) -> list[Template]:
    """Return the templates a decision uses: all of them when they can be fused, else the primary model's only."""
    if unfused_reason(engine, templates) is None:
        return [t for t in templates if t.embedding.model_key in engine.fusion.model_keys]
    return [t for t in templates if t.embedding.model_key == engine.model.key][:1]


def judge(engine: FaceEngine, probes: Sequence[FaceSample], templates: Sequence[Template]) -> Judgement | None:
    """Decide on one or more live frames; None when there is no template of the primary model to fall back on.

    Fused (EXAM_FACE_FUSED, a template of every fused model): engine.verify_fused over every frame,
    review band included. Otherwise the primary model decides on the worst frame; when fusion is on
    but cannot be used (a worker not re-enrolled yet), a "match" becomes "review": never a silent accept.
    """
    why_not = unfused_reason(engine, templates)
    if why_not is None:
        fused = engine.verify_fused(list(probes), templates_to_judge(engine, templates))
        return Judgement(
            fused.decision,
            fused.distance,
            fused.threshold,
            FUSED,
            fusion_label(engine),
            fused.to_dict(),
            fused.frame_distances,
        )
    primary = templates_to_judge(engine, templates)
    if not primary:
        return None
    frames = [engine.verify(probe, primary[0]) for probe in probes]
    worst = max(frames, key=lambda v: v.distance)
    detail = {**worst.to_dict(), "frame_distances": [round(v.distance, 6) for v in frames]}
    decision = worst.decision
    if engine.settings.fused:
        decision = "review" if decision == "match" else decision
        detail.update(fusion_unavailable=why_not, decision=decision, model_decision=worst.decision)
    return Judgement(
        decision,
        worst.distance,
        worst.threshold,
        worst.model_name,
        worst.model_version,
        detail,
        tuple(v.distance for v in frames),
    )


def probe_vectors(sample: FaceSample) -> dict[str, list[float]]:
    """Return a live frame's vector of every model, by model key, to keep as the sitting's entry reference."""
    return {key: [round(float(v), 7) for v in embedding.vector] for key, embedding in sample.embeddings.items()}


def stored_templates(probes: dict[str, list[float]], kind: str = "live") -> list[Template]:
    """Return the templates kept by probe_vectors (one per model)."""
    templates = []
    for key, vector in probes.items():
        name, _, version = key.partition("/")
        templates.append(Template.from_stored(np.asarray(vector, dtype=np.float32), name, version, kind))
    return templates
