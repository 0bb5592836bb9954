"""Register workers with the checks the registry needs."""

from __future__ import annotations

from sqlalchemy import select

from exam_server.citizen_id import normalise_citizen_id
from exam_server.database import DbSession
from exam_server.models import DomainError, Enterprise, JobCategory, Worker


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
        raise DomainError(f"岗位类别{job_category!r}无效，可选：{allowed} / unknown job category") from None
    if session.get(Enterprise, enterprise_id) is None:
        raise DomainError(f"企业{enterprise_id}不存在 / unknown enterprise {enterprise_id}")
    existing = session.scalar(select(Worker).where(Worker.citizen_id == normalised))
    if existing is not None:
        raise DomainError(f"身份证号{normalised}已登记（{existing.name}） / citizen ID already registered")
    worker = Worker(citizen_id=normalised, name=name, enterprise_id=enterprise_id, job_category=job, phone=phone)
    session.add(worker)
    session.flush()
    return worker
