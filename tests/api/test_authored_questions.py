"""A question written in the console reaches the kiosk's paper; retired, it leaves new papers but not old sittings."""

from __future__ import annotations

import io

import pytest
from PIL import Image
from sqlalchemy import select

from exam_server.models import ExamRequirement, Question
from exam_server.services.exam.refusals import Refusal
from tests.api.conftest import open_sitting
from tests.console.test_question_images import sign

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


def test_the_kiosk_fetches_the_picture_of_its_paper_and_an_old_paper_keeps_its_picture(app, db, exam, kiosk, login):
    city = login(exam.world.city)
    assert city.post("/console/questions/new", data=AUTHORED).status_code == 302
    row = db.session.scalars(select(Question).where(Question.category == "控制台自建题")).one()
    first, second = sign(), sign("JPEG", colour="orange")
    upload = {"image": (io.BytesIO(first), "sign.png")}
    assert (
        city.post(f"/console/questions/{row.id}/image", data=upload, content_type="multipart/form-data").status_code
        == 302
    )
    exam.plan.ruleset = ONE_AUTHORED | {
        "rules": [*ONE_AUTHORED["rules"], {"category": "消防安全", "type": "single", "count": 1}]
    }
    db.session.commit()
    sitting = open_sitting(db, exam, kiosk.id)
    questions = kiosk.get(f"/api/v1/sittings/{sitting.id}").get_json()["questions"]
    pictured = next(q for q in questions if q["stem"] == AUTHORED["stem"])
    plain = next(q for q in questions if q["stem"] != AUTHORED["stem"])
    assert pictured["image"] is True and plain["image"] is False
    shown = kiosk.get(f"/api/v1/sittings/{sitting.id}/items/{pictured['item_no']}/image")
    assert shown.status_code == 200 and shown.mimetype == "image/png"
    assert Image.open(io.BytesIO(shown.data)).size == Image.open(io.BytesIO(first)).size
    none = kiosk.get(f"/api/v1/sittings/{sitting.id}/items/{plain['item_no']}/image")
    assert none.status_code == 404 and none.get_json()["error"] == "question_has_no_image"
    assert kiosk.get(f"/api/v1/sittings/{sitting.id}/items/99/image").get_json()["error"] == "question_not_on_paper"
    assert app.test_client().get(f"/api/v1/sittings/{sitting.id}/items/1/image").status_code == 401

    replaced = {"image": (io.BytesIO(second), "sign.jpg")}
    assert (
        city.post(f"/console/questions/{row.id}/image", data=replaced, content_type="multipart/form-data").status_code
        == 302
    )
    again = kiosk.get(f"/api/v1/sittings/{sitting.id}/items/{pictured['item_no']}/image")
    assert again.mimetype == "image/png" and again.data == shown.data  # the paper keeps the picture it was drawn with
