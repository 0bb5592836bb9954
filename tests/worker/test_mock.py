"""Mock exams: the plan's rules and timer over the practice bank, graded, never counted as a sitting."""

from __future__ import annotations

import re
from datetime import timedelta

from sqlalchemy import func, select

import question_bank as qb
from exam_server.models import MockExam, PracticeAnswer, Question, Sitting, utcnow
from exam_server.services.practice import drills, mock
from tests.console_stats.conftest import RULESET, add_requirement
from tests.worker.conftest import open_plan


def _with_plan(db, worker):
    plan = open_plan(db.session)
    requirement = add_requirement(db.session, worker, plan)
    db.session.commit()
    return plan, requirement


def _paper_answers(mock_row: MockExam, right: bool) -> dict:
    data: dict[str, list[str]] = {}
    for item in qb.Paper.from_dict(mock_row.paper).items:
        letters = item.answer if right else ("B" if item.answer != "B" else "A")
        data[f"item-{item.number}"] = list(letters)
    return data


def test_a_mock_exam_follows_the_plans_rules_and_is_never_a_sitting(db, workers, sign_in):
    worker, _ = workers
    plan, requirement = _with_plan(db, worker)
    rows = db.session.scalars(select(Question).order_by(Question.code)).all()
    for n, row in enumerate(rows):
        row.exam_only = n % 4 == 0
    db.session.commit()
    exam_only = {row.code for row in rows if row.exam_only}
    client = sign_in(worker)
    intro = client.get("/worker/mock").get_data(as_text=True)
    assert plan.name in intro and "不算考试次数" in intro and "限时 30 分钟" in intro
    started = client.post("/worker/mock/start")
    assert started.status_code == 302, client.get("/worker/mock").get_data(as_text=True)
    assert "/worker/mock/" in started.headers["Location"], client.get("/worker/mock").get_data(as_text=True)
    row = db.session.scalars(select(MockExam)).one()
    assert started.headers["Location"].endswith(f"/worker/mock/{row.id}")
    items = row.paper["items"]
    assert len(items) == sum(rule["count"] for rule in RULESET["rules"]) and row.plan_id == plan.id
    assert not {item["code"] for item in items} & exam_only
    assert row.deadline_at - row.started_at == timedelta(minutes=RULESET["duration_minutes"])
    page = client.get(f"/worker/mock/{row.id}").get_data(as_text=True)
    assert 'id="mock-timer"' in page and "worker_mock.js" in page and "交卷" in page
    assert all(item["stem"] in page for item in items)
    assert client.post("/worker/mock/start").headers["Location"].endswith(f"/worker/mock/{row.id}")  # one at a time

    handed_in = client.post(f"/worker/mock/{row.id}/submit", data=_paper_answers(row, right=True))
    assert handed_in.status_code == 302
    result = client.get(f"/worker/mock/{row.id}").get_data(as_text=True)
    db.session.refresh(row)
    assert row.passed is True and row.score == row.max_score and "及格" in result and "全部答对" in result
    again = client.post(f"/worker/mock/{row.id}/submit", data=_paper_answers(row, right=False))
    assert again.status_code == 302
    db.session.refresh(row)
    assert row.score == row.max_score  # handed in once
    assert db.session.scalar(select(func.count(Sitting.id))) == 0
    db.session.refresh(requirement)
    assert requirement.attempts == 0 and requirement.first_sat_at is None and requirement.status.value == "pending"
    stored = db.session.scalars(select(PracticeAnswer).where(PracticeAnswer.mode == "mock")).all()
    assert len(stored) == len(items) and all(a.correct for a in stored)


def test_mock_mistakes_show_the_right_answer_and_land_in_the_book(db, workers, sign_in):
    worker, _ = workers
    _with_plan(db, worker)
    client = sign_in(worker)
    client.post("/worker/mock/start")
    row = db.session.scalars(select(MockExam)).one()
    client.post(f"/worker/mock/{row.id}/submit", data=_paper_answers(row, right=False))
    result = client.get(f"/worker/mock/{row.id}").get_data(as_text=True)
    db.session.refresh(row)
    assert row.passed is False and "不及格" in result and "依据" in result
    wrong = len(re.findall(r"正确答案：", result))
    assert wrong == len([a for a in db.session.scalars(select(PracticeAnswer)) if not a.correct]) > 0
    assert len(drills.book(db.session, worker)) == wrong


def test_a_late_hand_in_is_graded_without_its_answers(db, workers):
    worker, _ = workers
    _with_plan(db, worker)
    now = utcnow()
    row = mock.start(db.session, worker, now)
    answers = {item["number"]: item["answer"] for item in row.paper["items"]}
    result = mock.submit(db.session, row, answers, row.deadline_at + mock.GRACE + timedelta(seconds=1))
    assert row.late is True and result.total == 0 and row.passed is False
    assert mock.open_mock(db.session, worker, now) is None


def test_without_an_open_plan_the_general_rules_apply(db, workers, sign_in):
    worker, _ = workers
    intro = sign_in(worker).get("/worker/mock").get_data(as_text=True)
    ruleset, plan = mock.rules_for(db.session, worker, utcnow())
    assert plan is None and ruleset.name in intro and "通用考试" in intro


def test_invalid_letters_are_refused_with_a_message(db, workers, sign_in):
    worker, _ = workers
    client = sign_in(worker)
    client.post("/worker/mock/start")
    row = db.session.scalars(select(MockExam)).one()
    response = client.post(f"/worker/mock/{row.id}/submit", data={"item-1": "Z"}, follow_redirects=True)
    assert response.status_code == 200 and "无效的选项" in response.get_data(as_text=True)
    db.session.refresh(row)
    assert row.submitted_at is None
