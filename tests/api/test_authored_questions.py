"""A question written in the console reaches the kiosk's paper; retired, it leaves new papers but not old sittings."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from exam_server.models import ExamRequirement, Question
from exam_server.services.exam.refusals import Refusal
from tests.api.conftest import open_sitting

AUTHORED = {
    "qtype": "truefalse",
    "stem": "进入有限空间作业前必须先通风、再检测、后作业。",
    "answer": "A",
    "category": "控制台自建题",
    "difficulty": "2",
    "basis": "《工贸企业有限空间作业安全规定》第十四条",
    "explanation": "先通风、再检测、后作业。",
    "status": "active",
}
ONE_AUTHORED = {
    "id": "authored",
    "name": "自建题测试试卷",
    "duration_minutes": 10,
    "pass_mark": 1,
    "points": {"single": 2, "multiple": 3, "truefalse": 1},
    "rules": [{"category": "控制台自建题", "type": "truefalse", "count": 1}],
}


def test_an_authored_question_is_on_the_kiosk_paper_and_retiring_it_keeps_old_sittings(db, exam, kiosk, login):
    city = login(exam.world.city)
    assert city.post("/console/questions/new", data=AUTHORED).status_code == 302
    row = db.session.scalars(select(Question).where(Question.category == "控制台自建题")).one()
    exam.plan.ruleset = ONE_AUTHORED
    db.session.commit()
    sitting = open_sitting(db, exam, kiosk.id)
    shown = kiosk.get(f"/api/v1/sittings/{sitting.id}").get_json()
    (question,) = shown["questions"]
    assert question["stem"] == AUTHORED["stem"] and question["type"] == "truefalse"
    assert {o["text"] for o in question["options"]} == {"正确", "错误"}

    assert city.post(f"/console/questions/{row.id}/retire").status_code == 302
    again = kiosk.get(f"/api/v1/sittings/{sitting.id}").get_json()
    assert again["questions"] == shown["questions"]  # the sitting keeps the paper it was drawn
    other = exam.world.workers_a[1]
    requirement = db.session.scalars(
        select(ExamRequirement).where(ExamRequirement.worker_id == other.id, ExamRequirement.plan_id == exam.plan.id)
    ).one()
    later = type(exam)(other, exam.plan, requirement, exam.world)
    with pytest.raises(Refusal) as refused:
        open_sitting(db, later, kiosk.id)  # the only question of the rule is retired: no new paper draws it
    assert refused.value.code == "no_open_exam" and "控制台自建题" in str(refused.value.extra["detail"])
    db.session.rollback()
