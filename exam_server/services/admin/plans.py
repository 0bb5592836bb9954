"""Create and edit exam plans, and materialise the requirements they place on matching workers."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import Select, delete, insert, literal, select, true

from exam_server.database import DbSession, rows_touched
from exam_server.models import (
    N_,
    County,
    DomainError,
    Enterprise,
    ExamPlan,
    ExamRequirement,
    Industry,
    JobCategory,
    RequirementStatus,
    User,
    Worker,
    utcnow,
)
from exam_server.services import audit, policy
from exam_server.services.admin import enterprise_picker, paper_rules

_COLUMNS = ("plan_id", "worker_id", "enterprise_id", "county_id", "township_id", "industry_id", "status", "attempts")


@dataclass
class PlanInput:
    """What an administrator fills in for a plan."""

    name: str
    opens_at: datetime
    closes_at: datetime
    ruleset_id: str
    county_id: int | None = None
    industry_id: int | None = None
    enterprise_code: str = ""
    job_categories: list[str] = field(default_factory=list)
    max_attempts: int = 2
    mean_interval_seconds: int = 90
    retries: int = 2
    review_answers: bool = False  # the kiosk shows wrong answers with the right ones after grading


def face_policy(mean_interval_seconds: int, retries: int) -> dict:
    """Return the plan's face-check policy: checks spread around the mean, suspension after the retries."""
    mean = int(mean_interval_seconds)
    return {
        "distribution": "uniform",
        "mean_interval_seconds": mean,
        "min_interval_seconds": round(mean * 2 / 3),
        "max_interval_seconds": round(mean * 4 / 3),
        "suspend_after_mismatches": int(retries) + 1,
    }


def visible(user: User) -> Select:
    """Return plans the user may see: all for the city, its own and city-wide ones for a county."""
    return policy.plan_filter(user, select(ExamPlan).order_by(ExamPlan.opens_at.desc(), ExamPlan.id.desc()))


def editable(session: DbSession, user: User, plan_id: int) -> ExamPlan | None:
    """Return the plan if this user may edit it (the city any, a county only its own)."""
    plan = session.get(ExamPlan, plan_id)
    return plan if plan is not None and policy.may_edit_plan(user, plan) else None


def save_plan(
    session: DbSession, user: User, data: PlanInput, plan: ExamPlan | None = None
) -> tuple[ExamPlan, int, int]:
    """Create or update a plan and bring its requirements in line; return (plan, added, removed)."""
    _validate(data)
    county_id, industry_id, enterprise_id = _scope(session, user, data)
    ruleset = paper_rules.all_rulesets(session).get(data.ruleset_id)
    if ruleset is None:
        raise DomainError(N_("试卷规则“%(ruleset)s”不存在"), ruleset=data.ruleset_id)
    creating = plan is None
    if plan is None:
        plan = ExamPlan(created_by_id=user.id)
        session.add(plan)
    plan.name, plan.ruleset = data.name.strip(), ruleset
    plan.county_id, plan.industry_id, plan.enterprise_id = county_id, industry_id, enterprise_id
    plan.job_categories = sorted(set(data.job_categories))
    plan.opens_at, plan.closes_at, plan.max_attempts = data.opens_at, data.closes_at, data.max_attempts
    plan.face_policy = face_policy(data.mean_interval_seconds, data.retries)
    plan.review_answers = data.review_answers
    session.flush()
    removed = 0 if creating else prune(session, plan)
    added = materialise(session, plan)
    audit.record(
        session,
        "exam_plan_created" if creating else "exam_plan_updated",
        target=plan,
        user_id=user.id,
        detail={
            "name": plan.name,
            "county_id": county_id,
            "industry_id": industry_id,
            "enterprise_id": enterprise_id,
            "job_categories": plan.job_categories,
            "ruleset": data.ruleset_id,
            "review_answers": data.review_answers,
            "requirements_added": added,
            "requirements_removed": removed,
        },
    )
    return plan, added, removed


def _validate(data: PlanInput) -> None:
    if not 2 <= len(data.name.strip()) <= 128:
        raise DomainError(N_("计划名称须为2-128个字符"))
    if data.closes_at <= data.opens_at:
        raise DomainError(N_("结束时间必须晚于开始时间"))
    if not 1 <= data.max_attempts <= 10:
        raise DomainError(N_("考试次数须为1-10次"))
    if not 30 <= data.mean_interval_seconds <= 3600:
        raise DomainError(N_("人脸抽检平均间隔须为30-3600秒"))
    if not 0 <= data.retries <= 5:
        raise DomainError(N_("暂停前允许重拍次数须为0-5次"))
    known = {job.value for job in JobCategory}
    if any(job not in known for job in data.job_categories):
        raise DomainError(N_("岗位类别无效"))


def _scope(session: DbSession, user: User, data: PlanInput) -> tuple[int | None, int | None, int | None]:
    """Return (county, industry, enterprise) ids, forcing a county administrator's plans into its county."""
    county_id = policy.assigned_county(user, data.county_id)
    if county_id is not None and session.get(County, county_id) is None:
        raise DomainError(N_("区县不存在"))
    if data.industry_id is not None and session.get(Industry, data.industry_id) is None:
        raise DomainError(N_("行业不存在"))
    enterprise = enterprise_picker.resolve(session, user, data.enterprise_code)
    if enterprise is None:
        return county_id, data.industry_id, None
    if county_id is not None and enterprise.county_id != county_id:
        raise DomainError(N_("企业“%(name)s”不在所选区县"), name=enterprise.name)
    if data.industry_id is not None and enterprise.industry_id != data.industry_id:
        raise DomainError(N_("企业“%(name)s”不属于所选行业"), name=enterprise.name)
    return enterprise.county_id, data.industry_id, enterprise.id


def _matching(plan: ExamPlan, *columns) -> Select:
    """Return a SELECT of ``columns`` over the active workers of active enterprises the plan covers."""
    stmt = (
        select(*columns)
        .select_from(Worker)
        .join(Enterprise, Enterprise.id == Worker.enterprise_id)
        .where(Worker.active, Enterprise.active)
    )
    if plan.county_id is not None:
        stmt = stmt.where(Enterprise.county_id == plan.county_id)
    if plan.industry_id is not None:
        stmt = stmt.where(Enterprise.industry_id == plan.industry_id)
    if plan.enterprise_id is not None:
        stmt = stmt.where(Enterprise.id == plan.enterprise_id)
    if plan.job_categories:
        stmt = stmt.where(Worker.job_category.in_([JobCategory(job) for job in plan.job_categories]))
    return stmt


def covers(session: DbSession, plan: ExamPlan, worker_id: int) -> bool:
    """Tell whether the plan's scope covers this (active) worker of an active enterprise."""
    return session.scalar(_matching(plan, Worker.id).where(Worker.id == worker_id)) is not None


def materialise(session: DbSession, plan: ExamPlan, *, min_worker_id: int = 0) -> int:
    """Add a requirement for every matching worker that has none (one INSERT ... SELECT); return how many."""
    already = (
        select(ExamRequirement.id)
        .where(ExamRequirement.plan_id == plan.id, ExamRequirement.worker_id == Worker.id)
        .exists()
    )
    rows = _matching(
        plan,
        literal(plan.id),
        Worker.id,
        Enterprise.id,
        Enterprise.county_id,
        Enterprise.township_id,
        Enterprise.industry_id,
        literal(RequirementStatus.PENDING.value),
        literal(0),
    )
    rows = rows.where(~already, Worker.id > min_worker_id if min_worker_id else true())
    stmt = insert(ExamRequirement.__table__).from_select(_COLUMNS, rows)
    return rows_touched(session.execute(stmt.execution_options(preserve_rowcount=True)))


def prune(session: DbSession, plan: ExamPlan) -> int:
    """Remove untouched requirements of workers the plan no longer covers; sat ones are kept."""
    stmt = delete(ExamRequirement).where(
        ExamRequirement.plan_id == plan.id,
        ExamRequirement.attempts == 0,
        ExamRequirement.status == RequirementStatus.PENDING,
        ExamRequirement.worker_id.not_in(_matching(plan, Worker.id)),
    )
    return rows_touched(session.execute(stmt.execution_options(synchronize_session=False)))


def materialise_open_plans(session: DbSession, *, min_worker_id: int = 0, now: datetime | None = None) -> int:
    """Give workers added after ``min_worker_id`` the requirements of every plan still open; return how many."""
    now = now or utcnow()
    open_plans = session.scalars(select(ExamPlan).where(ExamPlan.closes_at > now)).all()
    return sum(materialise(session, plan, min_worker_id=min_worker_id) for plan in open_plans)
