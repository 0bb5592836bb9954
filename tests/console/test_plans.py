"""Exam plans: scope rules, requirements materialised on save and pruned on edit, county limits."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import func, select

from exam_server.models import AuditLog, DomainError, ExamPlan, ExamRequirement, JobCategory, utcnow
from exam_server.services.admin import plans
from exam_server.services.exam import captures
from tests import factories


def plan_input(**changes) -> plans.PlanInput:
    now = utcnow()
    values = dict(name="2026年度考试", opens_at=now, closes_at=now + timedelta(days=30), ruleset_id="general")
    return plans.PlanInput(**(values | changes))


def required(db, plan) -> set[int]:
    return set(db.session.scalars(select(ExamRequirement.worker_id).where(ExamRequirement.plan_id == plan.id)))


def test_city_plan_covers_every_active_worker_with_region_columns(db, world):
    world.workers_b[1].active = False
    plan, added, removed = plans.save_plan(db.session, world.city, plan_input())
    assert (added, removed) == (4, 0)
    assert required(db, plan) == {w.id for w in world.workers_a} | {world.workers_b[0].id}
    row = db.session.scalars(select(ExamRequirement).where(ExamRequirement.worker_id == world.workers_b[0].id)).one()
    enterprise = world.enterprise_b
    assert (row.enterprise_id, row.county_id, row.township_id, row.industry_id, row.attempts) == (
        enterprise.id,
        enterprise.county_id,
        enterprise.township_id,
        enterprise.industry_id,
        0,
    )
    assert plan.ruleset["rules"] and plan.face_policy["suspend_after_mismatches"] == 3
    assert captures.policy(plan)["mean_interval_seconds"] == 90


def test_scope_by_industry_enterprise_and_job(db, world):
    mining = factories.industry(db.session, "noncoal_mine", "非煤矿山")
    mine = factories.enterprise(db.session, world.county_a, mining)
    principal = factories.worker(db.session, mine, JobCategory.PRINCIPAL)
    factories.worker(db.session, mine, JobCategory.GENERAL)
    plan, added, _ = plans.save_plan(
        db.session, world.city, plan_input(industry_id=mining.id, job_categories=["principal"])
    )
    assert required(db, plan) == {principal.id}
    by_enterprise, _, _ = plans.save_plan(db.session, world.city, plan_input(enterprise_code=mine.credit_code))
    assert len(required(db, by_enterprise)) == 2 and by_enterprise.county_id == world.county_a.id
    with pytest.raises(DomainError, match="不在所选区县"):
        plans.save_plan(
            db.session, world.city, plan_input(county_id=world.county_b.id, enterprise_code=mine.credit_code)
        )


def test_county_admin_plans_stay_in_their_county(db, world):
    plan, added, _ = plans.save_plan(db.session, world.county_admin_a, plan_input(county_id=world.county_b.id))
    assert plan.county_id == world.county_a.id and added == 3
    with pytest.raises(DomainError, match="不在您的管理范围内"):
        plans.save_plan(db.session, world.county_admin_a, plan_input(enterprise_code=world.enterprise_b.credit_code))


def test_edit_adds_new_matches_and_removes_only_untouched_requirements(db, world):
    plan, _, _ = plans.save_plan(db.session, world.city, plan_input())
    sat = db.session.scalars(select(ExamRequirement).where(ExamRequirement.worker_id == world.workers_b[0].id)).one()
    sat.attempts = 1
    newcomer = factories.worker(db.session, world.enterprise_a)
    plan, added, removed = plans.save_plan(db.session, world.city, plan_input(county_id=world.county_a.id), plan)
    assert added == 1 and removed == 1  # the newcomer joins; workers_b[1] leaves; workers_b[0] has sat and stays
    assert required(db, plan) == {w.id for w in world.workers_a} | {newcomer.id, world.workers_b[0].id}
    actions = db.session.scalars(select(AuditLog.action).where(AuditLog.target_id == str(plan.id))).all()
    assert actions == ["exam_plan_created", "exam_plan_updated"]


def test_saving_twice_creates_no_duplicates(db, world):
    plan, _, _ = plans.save_plan(db.session, world.city, plan_input())
    assert plans.materialise(db.session, plan) == 0
    assert db.session.scalar(select(func.count(ExamRequirement.id))) == 5


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"closes_at": utcnow() - timedelta(days=1)}, "结束时间必须晚于开始时间"),
        ({"max_attempts": 0}, "考试次数"),
        ({"ruleset_id": "nonexistent"}, "试卷规则"),
        ({"mean_interval_seconds": 5}, "平均间隔"),
        ({"job_categories": ["boss"]}, "岗位类别无效"),
    ],
)
def test_invalid_plans_are_refused(db, world, changes, message):
    with pytest.raises(DomainError, match=message):
        plans.save_plan(db.session, world.city, plan_input(**changes))


def form(**changes) -> dict:
    return {
        "name": "2026年兰山区主要负责人考试",
        "county_id": "0",
        "industry_id": "0",
        "enterprise_code": "",
        "opens_at": "2026-03-01T08:00",
        "closes_at": "2026-03-31T18:00",
        "max_attempts": "2",
        "ruleset_id": "general",
        "mean_interval_seconds": "120",
        "retries": "1",
    } | changes


def test_plan_pages_create_and_edit(db, world, login):
    admin = login(world.county_admin_a)
    response = admin.post(
        "/console/plans/new", data=form(county_id=str(world.county_a.id), job_categories=["principal", "general"])
    )
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    plan = db.session.scalars(select(ExamPlan)).one()
    assert plan.county_id == world.county_a.id and plan.created_by_id == world.county_admin_a.id
    assert plan.opens_at == datetime(2026, 3, 1, 0, 0, tzinfo=plan.opens_at.tzinfo)  # 08:00 Beijing is 00:00 UTC
    assert plan.face_policy["mean_interval_seconds"] == 120 and plan.face_policy["suspend_after_mismatches"] == 2
    assert len(required(db, plan)) == 3 and plan.review_answers is False
    listing = admin.get("/console/plans").get_data(as_text=True)
    assert "2026年兰山区主要负责人考试" in listing and "2026-03-01 08:00" in listing
    page = admin.get(f"/console/plans/{plan.id}").get_data(as_text=True)
    assert 'value="2026-03-01T08:00"' in page
    edited = admin.post(
        f"/console/plans/{plan.id}",
        data=form(
            name="改名后的考试", county_id=str(world.county_a.id), job_categories=["principal"], review_answers="y"
        ),
    )
    assert edited.status_code == 302
    db.session.expire_all()
    assert plan.name == "改名后的考试" and required(db, plan) == set() and plan.review_answers is True
    assert '<input checked id="review_answers"' in admin.get(f"/console/plans/{plan.id}").get_data(as_text=True)


def test_plan_form_shows_errors(db, world, login):
    page = login(world.city).post("/console/plans/new", data=form(closes_at="2026-02-01T08:00"))
    assert page.status_code == 200 and "结束时间必须晚于开始时间" in page.get_data(as_text=True)
    assert db.session.scalar(select(func.count(ExamPlan.id))) == 0


def test_county_admin_cannot_edit_another_countys_or_the_citys_plan(db, world, login, plan_b):
    city_plan, _, _ = plans.save_plan(db.session, world.city, plan_input())
    db.session.commit()
    admin = login(world.county_admin_a)
    assert admin.get(f"/console/plans/{plan_b.id}").status_code == 404
    assert admin.post(f"/console/plans/{plan_b.id}", data=form()).status_code == 404
    assert admin.get(f"/console/plans/{city_plan.id}").status_code == 404
    listing = admin.get("/console/plans").get_data(as_text=True)
    assert "罗庄区年度考试" not in listing and "市级计划" in listing
    assert login(world.city).get(f"/console/plans/{plan_b.id}").status_code == 200
