"""A worker's own exam record: their sittings with results, and their certificates."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import select

from exam_server.database import DbSession
from exam_server.models import Certificate, CertificateState, ExamPlan, Sitting, SittingStatus, Worker
from exam_server.services.exam import certificates

# The worker is told early enough to book a renewal.
EXPIRING_WITHIN_DAYS = 60


@dataclass(frozen=True)
class SittingLine:
    """One sitting as the worker sees it."""

    plan: str
    started_at: datetime
    status: SittingStatus
    score: float | None
    max_score: float | None
    passed: bool | None


@dataclass(frozen=True)
class CertificateLine:
    """One certificate as the worker sees it."""

    id: int
    number: str
    plan: str
    issued_on: date
    valid_until: date
    state: CertificateState


def sittings(session: DbSession, worker: Worker) -> list[SittingLine]:
    """Return the worker's own sittings, newest first (mock exams are not sittings and never appear)."""
    rows = session.execute(
        select(Sitting, ExamPlan.name)
        .join(ExamPlan, ExamPlan.id == Sitting.plan_id)
        .where(Sitting.worker_id == worker.id)
        .order_by(Sitting.started_at.desc(), Sitting.id.desc())
    )
    return [SittingLine(plan, s.started_at, s.status, s.score, s.max_score, s.passed) for s, plan in rows]


def certificates_of(session: DbSession, worker: Worker, today: date) -> list[CertificateLine]:
    """Return the worker's own certificates, newest first, with their state on the bureau's day."""
    rows = session.execute(
        select(Certificate, ExamPlan.name)
        .join(ExamPlan, ExamPlan.id == Certificate.plan_id)
        .where(Certificate.worker_id == worker.id)
        .order_by(Certificate.issued_on.desc(), Certificate.id.desc())
    )
    return [
        CertificateLine(
            c.id, c.number, plan, c.issued_on, c.valid_until, certificates.state(c, today, EXPIRING_WITHIN_DAYS)
        )
        for c, plan in rows
    ]
