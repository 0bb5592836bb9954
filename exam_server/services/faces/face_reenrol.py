"""The database side of re-embedding stored enrolment photos with another model (`exam-server face reenrol`)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy import exists, func, select
from sqlalchemy.orm import aliased

from exam_server.database import DbSession
from exam_server.face.models import load_model
from exam_server.face.reembed import ReembedResult
from exam_server.models import FacePhoto, FaceTemplate, PhotoSource, utcnow
from exam_server.services.faces import face_service, index_sync


@dataclass(frozen=True)
class Plan:
    """The current enrolment photos still lacking a template of one model, and how many already have one."""

    model_name: str
    model_version: str
    todo: list[tuple[int, Path, str]]
    done: int

    @property
    def model_key(self) -> str:
        return f"{self.model_name}/{self.model_version}"


def _has_active(photo_id, name: str | None = None, version: str | None = None):
    template = aliased(FaceTemplate)
    clause = exists().where(template.photo_id == photo_id, template.active)
    if name is not None:
        clause = clause.where(template.model_name == name, template.model_version == version)
    return clause


def plan(session: DbSession, model_name: str, model_version: str) -> Plan:
    """List the photos behind an active template (any model) that have no active template of this model."""
    # Photos whose templates were all deactivated (superseded, or a confirmed duplicate) are left alone.
    current = _has_active(FacePhoto.id)
    has_new = _has_active(FacePhoto.id, model_name, model_version)
    rows = session.execute(
        select(FacePhoto.id, FacePhoto.path, FacePhoto.source).where(current, ~has_new).order_by(FacePhoto.id)
    ).all()
    done = session.scalar(select(func.count(FacePhoto.id)).where(has_new)) or 0
    root = face_service.data_dir()
    todo = [(row.id, root / row.path, PhotoSource(row.source).value) for row in rows]
    return Plan(model_name, model_version, todo, done)


def store(session: DbSession, plan_: Plan, result: ReembedResult, now: datetime | None = None) -> FaceTemplate | None:
    """Store one re-embedded photo as a template of the plan's model; None if the photo was superseded meanwhile."""
    embedding = result.embedding
    if embedding is None:
        raise ValueError(f"photo {result.photo_id} was refused ({result.error}); nothing to store")
    if embedding.model_key != plan_.model_key:  # never store one model's vector under another's name
        raise ValueError(f"photo {result.photo_id}: embedding of {embedding.model_key}, expected {plan_.model_key}")
    photo = session.get(FacePhoto, result.photo_id)
    if (
        photo is None
        or not session.scalar(select(_has_active(photo.id)))
        or session.scalar(select(_has_active(photo.id, plan_.model_name, plan_.model_version)))
    ):
        return None
    template = FaceTemplate(
        worker_id=photo.worker_id,
        photo_id=photo.id,
        model_name=embedding.model_name,
        model_version=embedding.model_version,
        vector=embedding.to_bytes(),
        created_at=now or utcnow(),
    )
    session.add(template)
    session.flush()
    settings = face_service.settings()
    face_service.index(load_model(plan_.model_name, settings.allow_noncommercial_models, settings.flip_average)).upsert(
        photo.worker_id, embedding
    )
    index_sync.record_change(session, photo.worker_id)
    return template


def workers_of(session: DbSession, photo_ids: list[int]) -> list[tuple[int, int]]:
    """Return (photo id, worker id) pairs, for reporting refusals by worker."""
    pairs: list[tuple[int, int]] = []
    for start in range(0, len(photo_ids), 1000):
        chunk = photo_ids[start : start + 1000]
        pairs += session.execute(select(FacePhoto.id, FacePhoto.worker_id).where(FacePhoto.id.in_(chunk))).all()
    return pairs
