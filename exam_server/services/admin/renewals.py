"""Certificates running out: the requirement they fulfilled turns "expired", and a renewal requirement is made.

Run once a day or more often (``run``): both steps are conditional UPDATEs or look for what is still
missing, so running again, or two runners at once, changes nothing twice.

- A certificate whose last valid day (the bureau's day) has passed makes its requirement "expired":
  the worker sat and passed, but no longer counts as qualified in the statistics.
- A certificate within CERTIFICATE_RENEWAL_DAYS of its end (or past it) gets a renewal requirement under
  the worker's current plan (open now and covering the worker; another plan than the certificate's own
  where there is one, the one closing last). A requirement the worker already has there and can still
  sit is the renewal; otherwise a new one is added (the plan's next round when it is the certificate's
  own plan), so participation and pass rates count the worker again. A worker who holds a newer
  certificate lasting longer, has left (inactive), or whose certificate was revoked needs none.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from flask import current_app
from sqlalchemy import exists, select, update
from sqlalchemy.orm import aliased

from exam_server import localday
from exam_server.database import DbSession, rows_touched
from exam_server.models import (
    OPEN_REQUIREMENT_STATUSES,
    Certificate,
    ExamPlan,
    ExamRequirement,
    RequirementStatus,
    Worker,
)
from exam_server.services import audit
from exam_server.services.admin import plans


def expire(session: DbSession, today: date) -> int:
    """Mark the requirements of certificates whose last valid day is before ``today`` expired; return how many."""
    lapsed = select(Certificate.requirement_id).where(
        Certificate.valid_until < today, Certificate.requirement_id.is_not(None)
    )
    return rows_touched(
        session.execute(
            update(ExamRequirement)
            .where(ExamRequirement.id.in_(lapsed), ExamRequirement.status == RequirementStatus.PASSED)
            .values(status=RequirementStatus.EXPIRED)
            .execution_options(synchronize_session=False)
        )
    )


def superseded():
    """Return the condition "the holder has another (unrevoked) certificate lasting longer than this one"."""
    newer = aliased(Certificate)
    return exists().where(
        newer.worker_id == Certificate.worker_id,
        newer.id != Certificate.id,
        newer.revoked_at.is_(None),
        newer.valid_until > Certificate.valid_until,
    )


def due_for_renewal(today: date, renewal_days: int):
    """Return the SELECT of certificates that need a renewal requirement and have none yet."""
    return (
        select(Certificate)
        .join(Worker, Worker.id == Certificate.worker_id)
        .where(
            Certificate.valid_until <= today + timedelta(days=renewal_days),
            Certificate.renewal_requirement_id.is_(None),
            Certificate.revoked_at.is_(None),
            Worker.active,
            ~superseded(),
        )
        .order_by(Certificate.valid_until, Certificate.id)
    )


def open_plans(session: DbSession, now: datetime) -> list[ExamPlan]:
    """Return the plans open at ``now``, the one closing last first."""
    return list(
        session.scalars(
            select(ExamPlan)
            .where(ExamPlan.opens_at <= now, ExamPlan.closes_at > now)
            .order_by(ExamPlan.closes_at.desc(), ExamPlan.id.desc())
        )
    )


def current_plan(
    session: DbSession, certificate: Certificate, now: datetime, candidates: list[ExamPlan] | None = None
) -> ExamPlan | None:
    """Return the plan the worker should renew under: open now, covering them, preferably not the old one."""
    candidates = open_plans(session, now) if candidates is None else candidates
    covering = [plan for plan in candidates if plans.covers(session, plan, certificate.worker_id)]
    others = [plan for plan in covering if plan.id != certificate.plan_id]
    chosen = others or covering
    return chosen[0] if chosen else None


def renew(
    session: DbSession, certificate: Certificate, now: datetime, candidates: list[ExamPlan] | None = None
) -> ExamRequirement | None:
    """Give the certificate its renewal requirement (an existing sittable one, or a new one); None if no plan."""
    plan = current_plan(session, certificate, now, candidates)
    if plan is None:
        return None
    latest = session.scalar(
        select(ExamRequirement)
        .where(ExamRequirement.plan_id == plan.id, ExamRequirement.worker_id == certificate.worker_id)
        .order_by(ExamRequirement.round_no.desc())
        .limit(1)
    )
    if latest is not None and latest.status in OPEN_REQUIREMENT_STATUSES:
        requirement, created = latest, False
    else:
        enterprise = certificate.worker.enterprise
        requirement = ExamRequirement(
            plan_id=plan.id,
            worker_id=certificate.worker_id,
            enterprise_id=enterprise.id,
            county_id=enterprise.county_id,
            township_id=enterprise.township_id,
            industry_id=enterprise.industry_id,
            status=RequirementStatus.PENDING,
            attempts=0,
            round_no=(latest.round_no + 1) if latest is not None else 1,
        )
        session.add(requirement)
        session.flush()
        created = True
    certificate.renewal_requirement_id = requirement.id
    audit.record(
        session,
        "certificate_renewal_required",
        target=certificate,
        detail={
            "plan_id": plan.id,
            "requirement_id": requirement.id,
            "created": created,
            "round": requirement.round_no,
        },
    )
    return requirement


def run(session: DbSession, now: datetime | None = None, batch: int = 500) -> dict[str, int]:
    """Expire lapsed certificates' requirements and make the renewal requirements due; commit each step."""
    now = now or localday.utcnow()
    today = localday.today(now)
    expired = expire(session, today)
    session.commit()
    renewal_days = int(current_app.config["CERTIFICATE_RENEWAL_DAYS"])
    candidates = open_plans(session, now)
    made = without_plan = offset = 0
    while True:
        due = session.scalars(due_for_renewal(today, renewal_days).limit(batch).offset(offset)).all()
        for certificate in due:
            if renew(session, certificate, now, candidates) is None:
                without_plan += 1
            else:
                made += 1
        session.commit()
        if len(due) < batch:
            break
        offset += sum(1 for c in due if c.renewal_requirement_id is None)  # renewed ones leave the query
    return {"requirements_expired": expired, "renewals": made, "renewals_without_plan": without_plan}
