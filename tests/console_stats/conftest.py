"""A small city whose figures are worked out by hand in the tests, and helpers to add sittings."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone

import pytest

from exam_server.models import (
    County,
    Enterprise,
    ExamPlan,
    ExamRequirement,
    Industry,
    RequirementStatus,
    Role,
    Sitting,
    SittingStatus,
    Township,
    User,
    Worker,
    utcnow,
)
from tests import factories

CN = timezone(timedelta(hours=8))
RULESET = factories.small_ruleset("stats-test", "统计测试试卷")


def cn(year: int, month: int, day: int, hour: int = 10, minute: int = 0) -> datetime:
    """Return a moment given in China's local time, as stored (UTC)."""
    return datetime(year, month, day, hour, minute, tzinfo=CN).astimezone(UTC)


@dataclass
class City:
    """Three counties (C has nobody to examine), two plans and eleven requirements; see the module test."""

    county_a: County
    county_b: County
    county_c: County
    township_a1: Township
    township_a2: Township
    township_b1: Township
    hazchem: Industry
    construction: Industry
    mining: Industry
    e1: Enterprise
    e2: Enterprise
    e3: Enterprise
    e4: Enterprise
    p1: ExamPlan
    p2: ExamPlan
    workers: dict[str, Worker] = field(default_factory=dict)
    requirements: dict[str, ExamRequirement] = field(default_factory=dict)
    users: dict[str, User] = field(default_factory=dict)


def add_requirement(
    session, worker: Worker, plan: ExamPlan, status: str = "pending", first_sat_at: datetime | None = None
) -> ExamRequirement:
    e = worker.enterprise
    status = RequirementStatus(status)
    requirement = ExamRequirement(
        plan_id=plan.id,
        worker_id=worker.id,
        enterprise_id=e.id,
        county_id=e.county_id,
        township_id=e.township_id,
        industry_id=e.industry_id,
        status=status,
        attempts=0 if first_sat_at is None else 1,
        first_sat_at=first_sat_at,
        passed_at=(first_sat_at + timedelta(minutes=40) if status is RequirementStatus.PASSED else None),
    )
    session.add(requirement)
    session.flush()
    return requirement


def add_sitting(
    session,
    requirement: ExamRequirement,
    score: float | None,
    status: str = "submitted",
    started_at: datetime | None = None,
    attempt: int = 1,
    minutes: int = 30,
) -> Sitting:
    started_at = started_at or requirement.first_sat_at or utcnow()
    submitted = status == "submitted"
    sitting = Sitting(
        plan_id=requirement.plan_id,
        worker_id=requirement.worker_id,
        requirement_id=requirement.id,
        status=SittingStatus(status),
        attempt_no=attempt,
        seed=attempt,
        paper={"items": []},
        started_at=started_at,
        deadline_at=started_at + timedelta(minutes=minutes),
        submitted_at=started_at + timedelta(minutes=25) if submitted else None,
        score=score,
        max_score=100.0 if submitted else None,
        passed=(score >= 80) if submitted and score is not None else None,
    )
    session.add(sitting)
    session.flush()
    return sitting


def build_city(session) -> City:
    a = factories.county(session, "371302", "兰山区")
    b = factories.county(session, "371311", "罗庄区")
    c = factories.county(session, "371312", "河东区")
    a1 = session.query(Township).filter_by(county_id=a.id).one()
    a2 = Township(county_id=a.id, code="371302900000", name="枣园镇")
    session.add(a2)
    session.flush()
    b1 = session.query(Township).filter_by(county_id=b.id).one()
    hazchem = factories.industry(session, "hazchem", "危险化学品")
    construction = factories.industry(session, "construction", "建筑施工")
    mining = factories.industry(session, "noncoal_mine", "非煤矿山")
    e1 = factories.enterprise(session, a, hazchem, "兰山化工有限公司")
    e2 = factories.enterprise(session, a, construction, "枣园建设工程有限公司")
    e2.township_id = a2.id
    e3 = factories.enterprise(session, b, hazchem, "罗庄化工有限公司")
    e4 = factories.enterprise(session, c, mining, "河东矿业有限公司")
    p1 = ExamPlan(
        name="2026年第一季度培训考试",
        ruleset=RULESET,
        opens_at=cn(2026, 1, 5, 0),
        closes_at=cn(2026, 4, 1, 0),
        max_attempts=2,
    )
    p2 = ExamPlan(
        name="2026年第二季度培训考试",
        ruleset=RULESET,
        opens_at=cn(2026, 4, 1, 0),
        closes_at=cn(2026, 6, 1, 0),
        max_attempts=2,
    )
    session.add_all([p1, p2])
    session.flush()
    city = City(a, b, c, a1, a2, b1, hazchem, construction, mining, e1, e2, e3, e4, p1, p2)
    plan = {"p1": p1, "p2": p2}
    rows = {  # worker: enterprise, plan, status, first sitting (local time)
        "w1": (e1, "p1", "passed", cn(2026, 1, 10)),
        "w2": (e1, "p1", "failed", cn(2026, 1, 20)),
        "w3": (e1, "p1", "passed", cn(2026, 3, 2)),
        "w4": (e1, "p1", "pending", None),
        "w5": (e2, "p1", "passed", cn(2026, 1, 31, 20)),
        "w6": (e2, "p2", "pending", None),
        "w7": (e2, "p2", "passed", cn(2026, 4, 30, 23, 30)),
        "w8": (e2, "p2", "failed", cn(2026, 5, 1, 0, 30)),
        "w9": (e3, "p1", "passed", cn(2026, 1, 15)),
        "w10": (e3, "p1", "failed", cn(2026, 3, 10)),
        "w11": (e3, "p2", "pending", None),
    }
    for key, (enterprise, plan_key, status, first) in rows.items():
        worker = factories.worker(session, enterprise, name=f"工人{key[1:]}号")
        city.workers[key] = worker
        city.requirements[key] = add_requirement(session, worker, plan[plan_key], status, first)
    for key, score in (("w1", 92), ("w2", 55), ("w3", 88), ("w5", 81), ("w7", 90), ("w8", 60), ("w9", 100)):
        add_sitting(session, city.requirements[key], score)
    w10 = city.requirements["w10"]
    add_sitting(session, w10, 60)
    add_sitting(session, w10, 75, started_at=w10.first_sat_at + timedelta(days=3), attempt=2)
    w10.attempts = 2
    add_sitting(session, city.requirements["w3"], None, status="voided")  # an abandoned attempt has no score
    city.users = {
        "city": factories.user(session, Role.CITY, username="stats_city"),
        "county_a": factories.user(session, Role.COUNTY, county_obj=a, username="stats_county_a"),
        "county_b": factories.user(session, Role.COUNTY, county_obj=b, username="stats_county_b"),
        "county_c": factories.user(session, Role.COUNTY, county_obj=c, username="stats_county_c"),
        "e1": factories.user(session, Role.ENTERPRISE, enterprise_obj=e1, username="stats_e1"),
        "e3": factories.user(session, Role.ENTERPRISE, enterprise_obj=e3, username="stats_e3"),
        "reviewer": factories.user(session, Role.REVIEWER, username="stats_reviewer"),
    }
    session.commit()
    return city


@pytest.fixture()
def city(db) -> City:
    return build_city(db.session)


def start_real_sitting(session, requirement: ExamRequirement, now: datetime | None = None) -> Sitting:
    """Open a sitting through the real sittings service, as a passed check-in does (no face work)."""
    from exam_server.models import CheckIn, CheckInStatus
    from exam_server.services.exam import kiosks, question_store, sittings

    now = now or utcnow()
    question_store.load_bundled(session)
    kiosk, _ = kiosks.register(session, f"统计测试终端{requirement.id}", location="测试考点")
    checkin = CheckIn(
        worker_id=requirement.worker_id,
        plan_id=requirement.plan_id,
        kiosk_id=kiosk.id,
        challenge="blink",
        token_hash=kiosks.hash_token(f"stats-{requirement.id}-{now.timestamp()}"),
        status=CheckInStatus.PASSED,
        created_at=now,
        expires_at=now + timedelta(minutes=5),
    )
    session.add(checkin)
    session.flush()
    sitting = sittings.start(session, checkin, session.get(ExamRequirement, requirement.id), kiosk.id, now)
    checkin.sitting_id = sitting.id
    session.commit()
    return sitting


def finish_real_sitting(session, sitting: Sitting, correct: bool, now: datetime | None = None) -> Sitting:
    """Answer every item (right or wrong) and submit through the real service, which grades it."""
    from exam_server.services.exam import sittings

    now = now or utcnow()
    for item in sitting.paper["items"]:
        answer = item["answer"] if correct else ("B" if item["answer"] == "A" else "A")
        sittings.save_answer(session, sitting, item["number"], answer, f"k{item['number']}", now)
    sittings.submit(session, sitting, now)
    session.commit()
    return sitting
