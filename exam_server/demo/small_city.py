"""Load a small demo city: regions, industries, enterprises, workers, questions, a plan, users."""

from __future__ import annotations

import random

from sqlalchemy import func, select

from exam_server.database import DbSession
from exam_server.demo import synthetic
from exam_server.models import County, Enterprise, Industry, JobCategory, Township
from exam_server.reference import COUNTIES, INDUSTRIES, credit_code, township_names
from exam_server.services.admin.workers import register_worker

DEMO_ENTERPRISES = 24
DEMO_WORKERS_PER_ENTERPRISE = (5, 30)
_SUFFIXES = (
    "化工有限公司",
    "矿业有限公司",
    "钢铁有限公司",
    "建设工程有限公司",
    "机械制造有限公司",
    "物流有限公司",
    "食品有限公司",
    "燃气有限公司",
)


def load_reference(session: DbSession) -> None:
    """Create the counties, townships and industries if they are missing."""
    if session.scalar(select(func.count(County.id))):
        return
    for index, (code, name) in enumerate(COUNTIES):
        county = County(code=code, name=name)
        session.add(county)
        for t, township in enumerate(township_names(index), start=1):
            session.add(Township(county=county, code=f"{code}{t:03d}000", name=township))
    for code, name in INDUSTRIES:
        session.add(Industry(code=code, name=name))
    session.flush()


def load_demo_org(session: DbSession, seed: int = 2026) -> int:
    """Create demo enterprises and workers unless some exist; return the number of workers added."""
    load_reference(session)
    if session.scalar(select(func.count(Enterprise.id))):
        return 0
    rng = random.Random(seed)
    counties = session.scalars(select(County).order_by(County.id)).all()
    industries = session.scalars(select(Industry).order_by(Industry.id)).all()
    used_ids: set[str] = set()
    for serial in range(1, DEMO_ENTERPRISES + 1):
        county = counties[serial % len(counties)]
        industry = industries[serial % 4] if serial % 3 else rng.choice(industries)
        township = rng.choice(county.townships)
        enterprise = Enterprise(
            credit_code=credit_code(county.code, serial),
            county_id=county.id,
            township_id=township.id,
            industry_id=industry.id,
            name=f"临沂{township.name[:2]}{rng.choice(_SUFFIXES)}{serial:02d}",
        )
        session.add(enterprise)
        session.flush()
        for n in range(rng.randint(*DEMO_WORKERS_PER_ENTERPRISE)):
            job = (
                JobCategory.PRINCIPAL
                if n == 0
                else JobCategory.SAFETY_MANAGER
                if n == 1
                else rng.choice([JobCategory.SPECIAL_OPS, JobCategory.GENERAL, JobCategory.GENERAL])
            )
            cid = synthetic.citizen_id(rng, county.code)
            while cid in used_ids:
                cid = synthetic.citizen_id(rng, county.code)
            used_ids.add(cid)
            register_worker(
                session, citizen_id=cid, name=synthetic.person_name(rng), enterprise_id=enterprise.id, job_category=job
            )
    return len(used_ids)


def load_demo(session: DbSession) -> str:
    """Load every part of the demo that is missing and describe what is there."""
    from exam_server.models import Worker

    load_demo_org(session)
    load_demo_exam(session)
    workers = session.scalar(select(func.count(Worker.id)))
    enterprises = session.scalar(select(func.count(Enterprise.id)))
    return f"{enterprises} enterprises, {workers} workers"


DEMO_PLAN_NAME = "安全生产培训考试（演示）"


def load_demo_exam(session: DbSession) -> int:
    """Load the question bank and an open plan requiring every demo worker (nobody is enrolled).

    Return the number of requirements created; running it again adds nothing.
    """
    from datetime import timedelta

    from exam_server.models import ExamPlan, ExamRequirement, Worker, utcnow
    from exam_server.services.exam import question_store

    question_store.load_bundled(session)
    if session.scalar(select(ExamPlan.id).where(ExamPlan.name == DEMO_PLAN_NAME)):
        return 0
    now = utcnow()
    plan = ExamPlan(
        name=DEMO_PLAN_NAME,
        ruleset=question_store.default_ruleset(),
        opens_at=now - timedelta(days=1),
        closes_at=now + timedelta(days=365),
        max_attempts=2,
        face_policy={},
    )
    session.add(plan)
    session.flush()
    workers = session.execute(
        select(Worker.id, Enterprise.id, Enterprise.county_id, Enterprise.township_id, Enterprise.industry_id)
        .join(Enterprise, Enterprise.id == Worker.enterprise_id)
        .where(Worker.active)
    ).all()
    session.add_all(
        ExamRequirement(plan_id=plan.id, worker_id=w, enterprise_id=e, county_id=c, township_id=t, industry_id=i)
        for w, e, c, t, i in workers
    )
    session.flush()
    return len(workers)
