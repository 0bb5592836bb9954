"""Register workers with the checks the registry needs."""

from __future__ import annotations

from sqlalchemy import select

from exam_server.citizen_id import normalise_citizen_id
from exam_server.database import DbSession
from exam_server.models import N_, DomainError, Enterprise, JobCategory, Worker


def register_worker(
    session: DbSession,
    *,
    citizen_id: str,
    name: str,
    enterprise_id: int,
    job_category: JobCategory | str,
    phone: str | None = None,
) -> Worker:
    """Add a worker, refusing an invalid or already-registered ID and an unknown enterprise."""
    normalised, _ = normalise_citizen_id(citizen_id)
    try:
        job = JobCategory(job_category)
    except ValueError:
        allowed = ", ".join(j.value for j in JobCategory)
        raise DomainError(N_("岗位类别%(job)r无效，可选：%(allowed)s"), job=job_category, allowed=allowed) from None
    if session.get(Enterprise, enterprise_id) is None:
        raise DomainError(N_("企业%(enterprise)s不存在"), enterprise=enterprise_id)
    existing = session.scalar(select(Worker).where(Worker.citizen_id == normalised))
    if existing is not None:
        raise DomainError(N_("身份证号%(citizen_id)s已登记（%(name)s）"), citizen_id=normalised, name=existing.name)
    worker = Worker(citizen_id=normalised, name=name, enterprise_id=enterprise_id, job_category=job, phone=phone)
    session.add(worker)
    session.flush()
    return worker
