"""Find workers within a user's scope, and gather what the worker page shows."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Select, exists, or_, select
from sqlalchemy.orm import joinedload

from exam_server.database import DbSession
from exam_server.models import (
    Certificate,
    Enterprise,
    ExamRequirement,
    FacePhoto,
    FaceTemplate,
    JobCategory,
    Sitting,
    User,
    Worker,
)
from exam_server.services import audit
from exam_server.services.policy import enterprise_filter, may_open

# The face-enrolment states the list filters on: a worker with an active template can check in by face.
PHOTO_STATES = {"enrolled": "已登记照片", "missing": "未登记照片"}


def scoped(user: User) -> Select:
    """Return a SELECT of the workers this user may see, with their enterprise loaded."""
    stmt = (
        select(Worker)
        .join(Enterprise, Enterprise.id == Worker.enterprise_id)
        .options(joinedload(Worker.enterprise).joinedload(Enterprise.county))
    )
    return enterprise_filter(user, stmt, Worker.enterprise_id)


def _enrolled():
    return exists().where(FaceTemplate.worker_id == Worker.id, FaceTemplate.active)


def search(
    user: User,
    *,
    name: str = "",
    citizen_id: str = "",
    enterprise: str = "",
    county_id: int | None = None,
    job_category: str = "",
    photo: str = "",
) -> Select:
    """Return the scoped workers matching name, citizen ID (whole or part), enterprise (name or credit code),
    county, job category and face-enrolment state (unknown values of the last three are ignored)."""
    stmt = scoped(user).order_by(Worker.id.desc())
    if county_id:
        stmt = stmt.where(Enterprise.county_id == county_id)
    if job_category in {job.value for job in JobCategory}:
        stmt = stmt.where(Worker.job_category == job_category)
    if photo == "enrolled":
        stmt = stmt.where(_enrolled())
    elif photo == "missing":
        stmt = stmt.where(~_enrolled())
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


def enrolled_ids(session: DbSession, worker_ids: list[int]) -> set[int]:
    """Return which of these workers have an active face template (can check in by face)."""
    if not worker_ids:
        return set()
    return set(
        session.scalars(
            select(FaceTemplate.worker_id).where(FaceTemplate.worker_id.in_(worker_ids), FaceTemplate.active).distinct()
        )
    )


def may_see_citizen_id(user: User) -> bool:
    """Tell whether the user may reveal a worker's full citizen ID: those whose role opens the worker's page."""
    return may_open(user, "console.worker_detail")


def reveal_citizen_id(session: DbSession, user: User, worker: Worker, ip: str | None = None) -> str:
    """Return the worker's full citizen ID and record who saw it (the caller commits)."""
    if not may_see_citizen_id(user):
        raise PermissionError("role may not see full citizen IDs")
    audit.record(session, "view_citizen_id", target=worker, user_id=user.id, ip=ip)
    return worker.citizen_id


def find(session: DbSession, user: User, worker_id: int) -> Worker | None:
    """Return the worker if it is inside the user's scope."""
    return session.scalar(scoped(user).where(Worker.id == worker_id))


@dataclass
class WorkerFile:
    photo: FacePhoto | None
    requirements: list[ExamRequirement]
    sittings: list[Sitting]
    certificates: list[Certificate]


def worker_file(session: DbSession, worker: Worker) -> WorkerFile:
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
