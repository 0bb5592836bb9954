"""The dashboard shows the figures of the user's own scope."""

from __future__ import annotations

import re
from datetime import timedelta

from sqlalchemy import select

from exam_server.models import ExamRequirement, RequirementStatus, ReviewCase, ReviewKind, utcnow
from exam_server.services.admin import plans
from exam_server.services.exam import kiosks


def figures(client) -> dict[str, int]:
    html = client.get("/console/").get_data(as_text=True)
    found = re.findall(r'class="(?:num|fig)">([\d,]+)</span><span>([^<]+)</span>', html)
    return {label: int(value.replace(",", "")) for value, label in found}


def test_each_role_sees_its_own_scope(db, world, login):
    now = utcnow()
    plan, _, _ = plans.save_plan(
        db.session,
        world.city,
        plans.PlanInput(
            name="全市年度考试",
            opens_at=now - timedelta(days=1),
            closes_at=now + timedelta(days=9),
            ruleset_id="general",
        ),
    )
    passed = db.session.scalars(
        select(ExamRequirement).where(
            ExamRequirement.plan_id == plan.id, ExamRequirement.county_id == world.county_a.id
        )
    ).all()[:2]
    for requirement in passed:
        requirement.status = RequirementStatus.PASSED
    db.session.add(ReviewCase(kind=ReviewKind.BORDERLINE, worker_id=world.workers_b[0].id, summary="测试"))
    kiosk, _ = kiosks.register(db.session, "兰山区考点1号机", county_id=world.county_a.id)
    kiosk.last_seen_at = now
    db.session.commit()
    city = figures(login(world.city))
    assert (city["企业"], city["从业人员"], city["应考人次"], city["合格"], city["未参考"]) == (2, 5, 5, 2, 3)
    assert (city["待处理人脸告警"], city["在线考试终端"], city["进行中的考试计划"]) == (1, 1, 1)
    county = figures(login(world.county_admin_a))
    assert (county["企业"], county["从业人员"], county["应考人次"], county["合格"]) == (1, 3, 3, 2)
    assert county["待处理人脸告警"] == 0  # the alert concerns another county's worker
    enterprise = figures(login(world.enterprise_admin_a))
    assert enterprise["从业人员"] == 3 and "在线考试终端" not in enterprise and "待处理人脸告警" not in enterprise
    assert figures(login(world.reviewer)) == {"待处理人脸告警": 1}


def test_pass_rate_counts_only_who_sat_and_participation_counts_who_was_required(db, world):
    """合格率 is passed / sat and 参考率 sat / required, as on the statistics page; none when nobody counts."""
    from exam_server.services.reporting import dashboard

    assert dashboard.figures(db.session, world.city)["pass_rate"] is None  # no open plan: no rate, not 0%
    now = utcnow()
    plan, _, _ = plans.save_plan(
        db.session,
        world.city,
        plans.PlanInput(
            name="全市年度考试",
            opens_at=now - timedelta(days=1),
            closes_at=now + timedelta(days=9),
            ruleset_id="general",
        ),
    )
    first, second = db.session.scalars(select(ExamRequirement).where(ExamRequirement.plan_id == plan.id)).all()[:2]
    first.status, second.status = RequirementStatus.PASSED, RequirementStatus.FAILED
    db.session.commit()
    out = dashboard.figures(db.session, world.city)
    assert (out["required"], out["passed"], out["failed"]) == (5, 1, 1)
    assert (out["participation"], out["pass_rate"]) == (40.0, 50.0)
