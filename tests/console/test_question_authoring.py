"""Question authoring in the console (issue 18): 新建题目 with 题型, errors on the form naming the field, nothing stored."""

from __future__ import annotations

import re

from sqlalchemy import func, select

from exam_server.models import AuditLog, Question
from exam_server.services.exam import question_store


def form(**changes) -> dict:
    data = {
        "qtype": "single",
        "stem": "动火作业前，作业点周围多少米内的易燃物应当清除？",
        "option_a": "5米",
        "option_b": "10米",
        "option_c": "15米",
        "option_d": "",
        "option_e": "",
        "option_f": "",
        "answer": "B",
        "category": "动火作业",
        "difficulty": "2",
        "points": "",
        "basis": "GB 30871-2022《危险化学品企业特殊作业安全规范》",
        "explanation": "动火点周围10米内不得有可燃物。",
        "status": "active",
    }
    return data | changes


def count(db) -> int:
    return db.session.scalar(select(func.count(Question.id)))


def field_errors(html: str, label: str) -> list[str]:
    """Return the error texts shown inside the form field labelled `label`."""
    match = re.search(
        rf'<label class="field has-error">\s*<span class="label">{re.escape(label)}[^<]*</span>(.*?)</label>',
        html,
        re.S,
    )
    return re.findall(r'<span class="error">([^<]+)</span>', match.group(1)) if match else []


def test_the_city_creates_each_question_type_and_the_bank_draws_it(db, world, login, bundled_questions):
    city = login(world.city)
    page = city.get("/console/questions/new").get_data(as_text=True)
    assert "新建题目" in page and "Q-0001" in page
    for label in ("单选", "多选", "判断"):  # question_bank's own labels for its QuestionType
        assert f">{label}</option>" in page
    made = city.post("/console/questions/new", data=form())
    assert made.status_code == 302
    single = db.session.scalars(select(Question).where(Question.code == "Q-0001")).one()
    assert (single.qtype, single.options, single.answer, single.version) == ("single", ["5米", "10米", "15米"], "B", 1)
    assert single.basis.startswith("GB 30871") and single.explanation == "动火点周围10米内不得有可燃物。"
    multiple = form(qtype="multiple", stem="动火作业许可证应当写明哪些内容？", option_d="监护人", answer="ABD")
    assert city.post("/console/questions/new", data=multiple).status_code == 302
    truefalse = form(qtype="truefalse", stem="动火作业结束后可以不检查现场。", option_a="", option_b="", option_c="")
    assert city.post("/console/questions/new", data=truefalse | {"answer": "b"}).status_code == 302
    rows = {r.code: r for r in db.session.scalars(select(Question).where(Question.code.startswith("Q-")))}
    assert rows["Q-0002"].qtype == "multiple" and rows["Q-0002"].answer == "ABD"
    assert rows["Q-0003"].options == ["正确", "错误"] and rows["Q-0003"].answer == "B"
    _, ids = question_store.bank(db.session)
    assert {"Q-0001", "Q-0002", "Q-0003"} <= set(ids)
    created = db.session.scalars(select(AuditLog).where(AuditLog.action == "question_created")).all()
    assert sorted(e.detail["code"] for e in created) == ["Q-0001", "Q-0002", "Q-0003"]
    assert all(e.user_id == world.city.id for e in created)
    listing = city.get("/console/questions", query_string={"text": "Q-0003"}).get_data(as_text=True)
    assert ">判断<" in listing and "新建题目" in listing
    log = city.get("/console/audit").get_data(as_text=True)
    assert "新建题目" in log


def test_refused_questions_name_the_field_and_store_nothing(db, world, login, bundled_questions):
    city = login(world.city)
    before, existing = count(db), db.session.scalars(select(Question).order_by(Question.code)).first()
    cases = [
        (form(qtype="multiple", answer="A"), "答案", "多选题至少需要两个正确选项"),
        (form(answer="E"), "答案", "不在选项"),
        (form(option_c="10米"), "选项C", "与选项 B 重复"),
        (form(qtype="truefalse"), "选项A", "判断题选项必须是"),
        (form(stem=existing.stem), "题干", "题干与题库中已有题目重复"),
        (form(category=""), "分类", ""),
        (form(difficulty="9"), "难度（1-5）", ""),
    ]
    for data, label, message in cases:
        response = city.post("/console/questions/new", data=data)
        html = response.get_data(as_text=True)
        assert response.status_code == 200, label
        errors = field_errors(html, label)
        assert errors and message in errors[0], (label, errors)
        assert 'value="动火作业"' in html or label == "分类"  # what was typed is kept on the form
    assert count(db) == before
    assert db.session.scalar(select(func.count()).where(AuditLog.action == "question_created")) == 0


def test_the_edit_form_changes_the_question_type(db, world, login, bundled_questions):
    city = login(world.city)
    assert city.post("/console/questions/new", data=form()).status_code == 302
    row = db.session.scalars(select(Question).where(Question.code == "Q-0001")).one()
    page = city.get(f"/console/questions/{row.id}").get_data(as_text=True)
    assert '<option selected value="single">单选</option>' in page
    changed = form(qtype="multiple", answer="AB", stem="动火作业前应当做到哪些？")
    assert city.post(f"/console/questions/{row.id}", data=changed).status_code == 302
    db.session.refresh(row)
    assert (row.qtype, row.answer, row.version) == ("multiple", "AB", 2)
    refused = city.post(f"/console/questions/{row.id}", data=changed | {"qtype": "truefalse"})
    assert "判断题选项必须是" in " ".join(field_errors(refused.get_data(as_text=True), "选项A"))
    db.session.refresh(row)
    assert (row.qtype, row.version) == ("multiple", 2)


def test_only_the_city_authors_questions(db, world, login):
    for user in (world.county_admin_a, world.enterprise_admin_a, world.reviewer):
        client = login(user)
        assert client.get("/console/questions/new").status_code in (302, 403)
        assert client.post("/console/questions/new", data=form()).status_code in (302, 403)
    assert count(db) == 0
