"""1:1 decisions with several models: the fused score when it is on and complete, else the primary model alone."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from sqlalchemy import select

from exam_server.database import DbSession
from exam_server.face import Embedding, FaceEngine, FaceSample, ModelMismatchError, Template
from exam_server.face.cohort import ArrayGallery, Gallery, Population, mean_vector
from exam_server.face.models import EmbeddingModel
from exam_server.models import FaceTemplate, Worker
from exam_server.services.faces import face_service

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
    # The rank check's look-alike: another enrolled worker nearer to the live face (worker_id, distances).
    look_alike: dict[str, Any] | None = None

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


def judge(
    engine: FaceEngine,
    probes: Sequence[FaceSample],
    templates: Sequence[Template],
    population: Population | None = None,
    tracked: Mapping[int, Embedding] | None = None,
    templates_rest: Callable[[], Sequence[Template]] | None = None,
) -> Judgement | None:
    """Decide on one or more live frames; None when there is no template of the primary model to fall back on.

    Fused (EXAM_FACE_FUSED, a template of every fused model): fusion.verify_fused over every frame and
    template, against the enrolled population (cohort normalisation above its size, and the rank check):
    the decision `exam-server face verify` takes for the same images. Otherwise the primary model decides
    on the worst frame; when fusion is on but cannot be used (a worker not re-enrolled yet), a "match"
    becomes "review": never a silent accept. Either way a burst's `tracked` frames (LivenessResult.tracked,
    embedded by the tracking model only) are each judged alone, and one alone a mismatch refuses the burst
    (fusion.tracked_verdicts; unjudged when no template of the tracking model is used). Templates embedded
    by the first-asked model only come with `templates_rest` (fusion.verify_fused).
    """
    from exam_server.face.fusion import embedded_by_all, tracked_mismatch, verify_fused

    why_not = unfused_reason(engine, templates)
    if why_not is None:
        fused = verify_fused(
            engine,
            list(probes),
            templates_to_judge(engine, templates),
            population=population,
            tracked=tracked,
            templates_rest=(
                (lambda: [t for t in templates_rest() if t.embedding.model_key in engine.fusion.model_keys])
                if templates_rest
                else None
            ),
        )
        return Judgement(
            fused.decision,
            fused.distance,
            fused.threshold,
            FUSED,
            fusion_label(engine),
            fused.to_dict(),
            fused.frame_distances,
            fused.look_alike,
        )
    primary = templates_to_judge(engine, templates)
    if not primary:
        return None
    probes = embedded_by_all(probes, [engine.model.key])
    frames = [engine.verify(probe, primary[0]) for probe in probes]
    worst = max(frames, key=lambda v: v.distance)
    detail = {**worst.to_dict(), "frame_distances": [round(v.distance, 6) for v in frames]}
    decision = worst.decision
    alone, reason = tracked_mismatch(engine, tracked, primary, primary[0].kind)
    if alone is not None:
        detail["tracked"] = alone
    if reason is not None:
        decision = "mismatch"
        detail.update(decision=decision, tracked_mismatch=reason)
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


def probe_vectors(engine: FaceEngine, samples: FaceSample | Sequence[FaceSample]) -> dict[str, list[float]]:
    """Return the face of a burst by model key (each model's mean over the frames), kept as the sitting's entry reference.

    In-exam captures are judged against it as a further template: the day's check-in frames together.
    """
    frames = [samples] if isinstance(samples, FaceSample) else list(samples)
    out = {}
    for key in frames[0].embeddings:
        vector = mean_vector([f.embedding_for(key).vector for f in frames], engine.model_for(key).metric)
        out[key] = [round(float(v), 7) for v in vector]
    return out


def stored_templates(probes: dict[str, list[float]], kind: str = "live") -> list[Template]:
    """Return the templates kept by probe_vectors (one per model)."""
    templates = []
    for key, vector in probes.items():
        name, _, version = key.partition("/")
        templates.append(Template.from_stored(np.asarray(vector, dtype=np.float32), name, version, kind))
    return templates


def population(session: DbSession, engine: FaceEngine, worker: Worker) -> Population | None:
    """Return the enrolled population a decision about this worker is judged against (None with fusion off).

    Cohort normalisation samples each fused model's 1:N index; the rank check searches the search
    model's templates of the worker's colleagues (same enterprise), or the whole index with
    rank_check_scope "all". The worker himself is left out of both.
    """
    settings = engine.settings
    if unfused_reason(engine, ()) == "fusion off":
        return None
    try:
        fused_models = [engine.model_for(key) for key in engine.fusion.model_keys]
    except ModelMismatchError:
        return None
    galleries = {model.key: face_service.index(model) for model in fused_models}
    rank: Gallery | None = None
    if settings.rank_check:
        try:
            search = engine.model_for(settings.search_model)
        except ModelMismatchError:
            search = None
        if search is not None and settings.rank_check_scope == "all":
            rank = face_service.index(search)
        elif search is not None:
            rank = colleagues(session, worker, search)
    return Population(galleries, worker.id, rank)


def colleagues(session: DbSession, worker: Worker, model: EmbeddingModel) -> ArrayGallery:
    """Return the active templates of one model of the worker's enterprise's other active workers."""
    rows = session.execute(
        select(FaceTemplate.worker_id, FaceTemplate.vector)
        .join(Worker, Worker.id == FaceTemplate.worker_id)
        .where(
            Worker.enterprise_id == worker.enterprise_id,
            Worker.active,
            Worker.id != worker.id,
            FaceTemplate.active,
            FaceTemplate.model_name == model.name,
            FaceTemplate.model_version == model.version,
        )
        .order_by(FaceTemplate.id)
    ).all()
    vectors = np.array([np.frombuffer(r.vector, dtype="<f4") for r in rows], dtype=np.float32).reshape(
        len(rows), model.dim
    )
    return ArrayGallery(model.key, [r.worker_id for r in rows], vectors, model.metric)
