"""Reviewers' decisions, the question store and the demo data."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from exam_server.demo.small_city import DEMO_PLAN_NAME, load_demo
from exam_server.models import (
    AuditLog,
    CaptureRequest,
    DomainError,
    ExamPlan,
    ExamRequirement,
    FaceCheck,
    Question,
    ReviewCase,
    ReviewStatus,
    Sitting,
    SittingStatus,
    utcnow,
)
from exam_server.services.exam import captures, question_store
from exam_server.services.faces import review
from tests.api.conftest import open_sitting


def _suspended(db, exam, kiosk_id, at):
    sitting = open_sitting(db, exam, kiosk_id, now=at - timedelta(minutes=10))
    check = FaceCheck(
        kind="in_exam",
        worker_id=exam.worker.id,
        sitting_id=sitting.id,
        model_name="m",
        model_version="v",
        decision="mismatch",
        distance=0.9,
        created_at=at,
    )
    db.session.add(check)
    db.session.flush()
    assert captures.suspend(db.session, sitting, check, at, mismatches=3)
    db.session.commit()
    return sitting, db.session.scalar(select(ReviewCase).where(ReviewCase.sitting_id == sitting.id))


def test_dismissing_resumes_and_gives_back_the_waiting_time(db, exam, kiosk, world):
    at = utcnow() - timedelta(minutes=4)
    sitting, case = _suspended(db, exam, kiosk.id, at)
    deadline = sitting.deadline_at
    assert db.session.scalar(select(func.count(CaptureRequest.id)).where(CaptureRequest.used_at.is_(None))) == 0
    with pytest.raises(DomainError):
        review.decide(db.session, case, ReviewStatus.DISMISSED, "看过了", world.enterprise_admin_a)
    with pytest.raises(DomainError):
        review.decide(db.session, case, ReviewStatus.DISMISSED, "", world.reviewer)
    review.decide(
        db.session, case, ReviewStatus.DISMISSED, "本人，戴了口罩", world.reviewer, now=at + timedelta(minutes=3)
    )
    db.session.commit()
    resumed = db.session.get(Sitting, sitting.id)
    assert resumed.status is SittingStatus.IN_PROGRESS and resumed.deadline_at == deadline + timedelta(minutes=3)
    assert case.decided_by_id == world.reviewer.id and case.reason == "本人，戴了口罩"
    with pytest.raises(DomainError):
        review.decide(db.session, case, ReviewStatus.CONFIRMED, "再次处理", world.reviewer)
    assert db.session.scalar(select(AuditLog.action).where(AuditLog.action == "review_dismissed"))


def test_confirming_voids_the_sitting(db, exam, kiosk, world):
    sitting, case = _suspended(db, exam, kiosk.id, utcnow())
    review.decide(db.session, case, "confirmed", "替考，已报告", world.city)
    db.session.commit()
    voided = db.session.get(Sitting, sitting.id)
    assert voided.status is SittingStatus.VOIDED and voided.status_reason == "替考，已报告"
    assert db.session.get(ExamRequirement, exam.requirement.id).attempts == 1
    refused = kiosk.get(f"/api/v1/sittings/{sitting.id}/clock").get_json()
    assert refused["status"] == "voided" and refused["capture"] is None


def test_question_store_is_idempotent_and_round_trips(db):
    added, updated = question_store.load_bundled(db.session)
    assert added > 100 and updated == 0
    assert question_store.load_bundled(db.session) == (0, 0)
    row = db.session.scalar(select(Question).order_by(Question.code))
    original = question_store.to_question(row)
    assert question_store.columns_of(original)["answer"] == row.answer
    changed = original.with_changes(stem=original.stem + "（修订）", version=original.version + 1)
    assert question_store.save(db.session, [changed]) == (0, 1)
    assert question_store.to_question(db.session.get(Question, row.id)) == changed


def test_demo_loads_questions_and_an_open_plan_without_enrolling_anyone(db):
    load_demo(db.session)
    plan = db.session.scalar(select(ExamPlan).where(ExamPlan.name == DEMO_PLAN_NAME))
    assert plan.opens_at <= utcnow() < plan.closes_at
    requirements = db.session.scalar(select(func.count(ExamRequirement.id)).where(ExamRequirement.plan_id == plan.id))
    assert requirements > 100 and db.session.scalar(select(func.count(Question.id))) > 100
    load_demo(db.session)
    assert db.session.scalar(select(func.count(ExamPlan.id))) == 1
    from exam_server.models import FaceTemplate

    assert db.session.scalar(select(func.count(FaceTemplate.id))) == 0
