"""Find workers within a user's scope, and gather what the worker page shows."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Select, or_, select
from sqlalchemy.orm import Session, joinedload

from exam_server.models import Certificate, Enterprise, ExamRequirement, FacePhoto, FaceTemplate, Sitting, User, Worker
from exam_server.services.policy import enterprise_filter


def scoped(user: User) -> Select:
    """Return a SELECT of the workers this user may see, with their enterprise loaded."""
    stmt = select(Worker).join(Enterprise, Enterprise.id == Worker.enterprise_id).options(joinedload(Worker.enterprise))
    return enterprise_filter(user, stmt, Worker.enterprise_id)


def search(user: User, *, name: str = "", citizen_id: str = "", enterprise: str = "") -> Select:
    """Return the scoped workers matching name, citizen ID (whole or part) and enterprise (name or credit code)."""
    stmt = scoped(user).order_by(Worker.id.desc())
    if name := (name or "").strip():
        stmt = stmt.where(Worker.name.contains(name, autoescape=True))
    if citizen_id := (citizen_id or "").strip().upper():
        stmt = stmt.where(
            Worker.citizen_id == citizen_id
            if len(citizen_id) == 18
            else Worker.citizen_id.contains(citizen_id, autoescape=True)
        )
    if enterprise := (enterprise or "").strip():
        stmt = stmt.where(
            or_(Enterprise.credit_code == enterprise.upper(), Enterprise.name.contains(enterprise, autoescape=True))
        )
    return stmt


def find(session: Session, user: User, worker_id: int) -> Worker | None:
    """Return the worker if it is inside the user's scope."""
    return session.scalar(scoped(user).where(Worker.id == worker_id))


@dataclass
class WorkerFile:
    photo: FacePhoto | None
    requirements: list[ExamRequirement]
    sittings: list[Sitting]
    certificates: list[Certificate]


def worker_file(session: Session, worker: Worker) -> WorkerFile:
    """Return the worker's active enrolment photo, requirements, sittings and certificates."""
    photo = session.scalar(
        select(FacePhoto)
        .join(FaceTemplate, FaceTemplate.photo_id == FacePhoto.id)
        .where(FaceTemplate.worker_id == worker.id, FaceTemplate.active)
        .order_by(FaceTemplate.id.desc())
        .limit(1)
    )
    requirements = session.scalars(
        select(ExamRequirement)
        .options(joinedload(ExamRequirement.plan))
        .where(ExamRequirement.worker_id == worker.id)
        .order_by(ExamRequirement.id.desc())
    ).all()
    sittings = session.scalars(
        select(Sitting)
        .options(joinedload(Sitting.plan))
        .where(Sitting.worker_id == worker.id)
        .order_by(Sitting.started_at.desc())
        .limit(50)
    ).all()
    certificates = session.scalars(
        select(Certificate).where(Certificate.worker_id == worker.id).order_by(Certificate.issued_on.desc())
    ).all()
    return WorkerFile(photo, list(requirements), list(sittings), list(certificates))
