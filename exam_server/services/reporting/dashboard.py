"""The figures on a user's dashboard, each limited to the user's county or enterprise."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import func, select

from exam_server.database import DbSession
from exam_server.models import (
    Enterprise,
    ExamPlan,
    ExamRequirement,
    FaceTemplate,
    Kiosk,
    RequirementStatus,
    ReviewCase,
    ReviewStatus,
    Sitting,
    SittingStatus,
    User,
    Worker,
    utcnow,
)
from exam_server.services import policy
from exam_server.services.policy import enterprise_filter

KIOSK_ONLINE = timedelta(minutes=5)


def figures(session: DbSession, user: User, now: datetime | None = None) -> dict:
    """Return the counts shown on the dashboard; a reviewer sees only the open face alerts."""
    now = now or utcnow()
    out: dict = {"open_reviews": None}
    if policy.may_open(user, "console.review_queue"):
        cases = policy.review_cases(user).where(ReviewCase.status == ReviewStatus.OPEN)
        out["open_reviews"] = session.scalar(select(func.count()).select_from(cases.subquery()))
    if not policy.may_open(user, "console.statistics"):
        return out

    def scoped(stmt, enterprise_column, county_column=None):
        return session.scalar(enterprise_filter(user, stmt, enterprise_column, county_column))

    with_enterprise = select(func.count(Worker.id)).join(Enterprise, Enterprise.id == Worker.enterprise_id)
    out["enterprises"] = scoped(select(func.count(Enterprise.id)), Enterprise.id)
    out["workers"] = scoped(with_enterprise, Worker.enterprise_id)
    enrolled = (
        select(func.count(func.distinct(FaceTemplate.worker_id)))
        .join(Worker, Worker.id == FaceTemplate.worker_id)
        .join(Enterprise, Enterprise.id == Worker.enterprise_id)
        .where(FaceTemplate.active)
    )
    out["enrolled"] = scoped(enrolled, Worker.enterprise_id)
    requirements = (
        select(ExamRequirement.status, func.count(ExamRequirement.id))
        .join(ExamPlan, ExamPlan.id == ExamRequirement.plan_id)
        .where(ExamPlan.opens_at <= now, ExamPlan.closes_at > now)
        .group_by(ExamRequirement.status)
    )
    by_status = dict(
        session.execute(
            enterprise_filter(user, requirements, ExamRequirement.enterprise_id, ExamRequirement.county_id)
        ).all()
    )
    out["required"] = sum(by_status.values())
    out["passed"] = by_status.get(RequirementStatus.PASSED, 0)
    out["failed"] = by_status.get(RequirementStatus.FAILED, 0)
    out["pending"] = by_status.get(RequirementStatus.PENDING, 0)
    out["expired"] = by_status.get(RequirementStatus.EXPIRED, 0)
    sat = out["passed"] + out["failed"] + out["expired"]  # an expired certificate sat, and is no longer qualified
    # The statistics page's definitions: 参考率 = sat / required, 合格率 = passed / sat (not / required).
    out["participation"] = round(100 * sat / out["required"], 1) if out["required"] else None
    out["pass_rate"] = round(100 * out["passed"] / sat, 1) if sat else None
    active = (
        select(func.count(Sitting.id))
        .join(Worker, Worker.id == Sitting.worker_id)
        .join(Enterprise, Enterprise.id == Worker.enterprise_id)
        .where(Sitting.status.in_([SittingStatus.IN_PROGRESS, SittingStatus.SUSPENDED]))
    )
    out["sitting_now"] = scoped(active, Worker.enterprise_id)
    out["open_plans"] = _open_plans(session, user, now)
    if policy.may_open(user, "console.kiosks"):
        kiosks = select(func.count(Kiosk.id)).where(Kiosk.enabled, Kiosk.last_seen_at >= now - KIOSK_ONLINE)
        out["kiosks_online"] = session.scalar(policy.kiosk_filter(user, kiosks))
    return out


def _open_plans(session: DbSession, user: User, now: datetime) -> int:
    stmt = (
        select(func.count(func.distinct(ExamRequirement.plan_id)))
        .join(ExamPlan, ExamPlan.id == ExamRequirement.plan_id)
        .where(ExamPlan.opens_at <= now, ExamPlan.closes_at > now)
    )
    return session.scalar(enterprise_filter(user, stmt, ExamRequirement.enterprise_id, ExamRequirement.county_id))
