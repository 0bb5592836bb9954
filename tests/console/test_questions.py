"""Question bank pages: filter, edit, retire, import with preview, export, and the quality page."""

from __future__ import annotations

import io
import re
from datetime import timedelta

from openpyxl import load_workbook
from sqlalchemy import func, select

import question_bank as qb
from exam_server.models import Answer, AuditLog, ExamRequirement, Question, Sitting, SittingStatus, utcnow
from exam_server.services.exam import question_store
from tests.console.conftest import add_plan


def new_questions(n: int, prefix: str = "NEW") -> list[qb.Question]:
    return [
        qb.Question(
            code=f"{prefix}-{i:03d}",
            type=qb.QuestionType.SINGLE,
            stem=f"{prefix}第{i}题：进入受限空间前应当？",
            options=("先通风检测", "直接进入", "单人进入", "不需审批"),
            answer="A",
            category="有限空间作业",
            difficulty=2,
            basis="《工贸企业有限空间作业安全规定》",
        )
        for i in range(1, n + 1)
    ]


def first(db, **where) -> Question:
    return db.session.scalars(select(Question).filter_by(**where).order_by(Question.code)).first()


def test_browse_and_filter(db, world, login, bundled_questions):
    city = login(world.city)
    single = first(db, qtype="single")
    page = city.get("/console/questions", query_string={"category": single.category, "qtype": "single"})
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and single.code in html
    multiple = first(db, qtype="multiple", category=single.category)
    assert multiple.code not in html
    assert single.code in city.get("/console/questions", query_string={"text": single.code}).get_data(as_text=True)


def edit_form(row: Question, **changes) -> dict:
    options = list(row.options) + [""] * 6
    data = {f"option_{letter}": options[i] for i, letter in enumerate("abcdef")}
    data |= {
        "qtype": row.qtype,
        "stem": row.stem,
        "answer": row.answer,
        "explanation": row.explanation,
        "category": row.category,
        "difficulty": str(row.difficulty),
        "points": "",
        "basis": row.basis,
        "status": row.status,
        "job_categories": row.job_categories,
        "industries": row.industries,
    }
    return data | changes


def test_edit_bumps_the_version_and_audits(db, world, login, bundled_questions):
    row = first(db, qtype="single")
    response = login(world.city).post(
        f"/console/questions/{row.id}", data=edit_form(row, stem="修改后的题干：下列说法正确的是？")
    )
    assert response.status_code == 302
    db.session.refresh(row)
    assert row.stem == "修改后的题干：下列说法正确的是？" and row.version == 2
    entry = db.session.scalars(select(AuditLog).where(AuditLog.action == "question_updated")).one()
    assert entry.detail["fields"] == ["stem"] and entry.user_id == world.city.id


def test_invalid_edits_are_refused_with_the_reason(db, world, login, bundled_questions):
    row = first(db, qtype="single")
    other = first(db, qtype="multiple")
    city = login(world.city)
    bad_answer = city.post(f"/console/questions/{row.id}", data=edit_form(row, answer="AB"), follow_redirects=True)
    assert "答案: 单选题只能有一个正确答案" in bad_answer.get_data(as_text=True)
    same_stem = city.post(f"/console/questions/{row.id}", data=edit_form(row, stem=other.stem), follow_redirects=True)
    assert "题干与题库中已有题目重复" in same_stem.get_data(as_text=True)
    db.session.refresh(row)
    assert row.version == 1 and row.answer != "AB"


def test_retire_takes_a_question_out_of_assembly(db, world, login, bundled_questions):
    row = first(db, status="active")
    assert login(world.city).post(f"/console/questions/{row.id}/retire").status_code == 302
    db.session.refresh(row)
    assert row.status == "retired"
    bank, ids = question_store.bank(db.session)
    assert row.code not in ids
    assert db.session.scalar(select(AuditLog.action).where(AuditLog.target_id == str(row.id))) == "question_retired"


def upload(client, data: bytes, name: str):
    response = client.post(
        "/console/questions/import", data={"file": (io.BytesIO(data), name)}, content_type="multipart/form-data"
    )
    assert response.status_code == 302, response.get_data(as_text=True)[:500]
    return response.headers["Location"]


def test_import_preview_errors_and_valid_rows(db, world, login, bundled_questions):
    data = qb.export_questions(new_questions(3), "csv").decode("utf-8-sig").replace("NEW-002,单选", "NEW-002,单选题型")
    city = login(world.city)
    preview_url = upload(city, data.encode("utf-8-sig"), "新题.csv")
    preview = city.get(preview_url).get_data(as_text=True)
    assert "第3行 题型:" in preview
    before = db.session.scalar(select(func.count(Question.id)))
    refused = city.post(preview_url, data={"import_all": "确认导入"})
    assert refused.status_code == 302 and db.session.scalar(select(func.count(Question.id))) == before
    report = city.get(f"{preview_url}/report.csv").data.decode("utf-8-sig")
    assert report.splitlines()[1].startswith("3,题型,")
    city.post(preview_url, data={"import_valid": "仅导入有效行"})
    assert set(db.session.scalars(select(Question.code).where(Question.code.like("NEW-%")))) == {"NEW-001", "NEW-003"}
    assert db.session.scalar(select(AuditLog.detail).where(AuditLog.action == "questions_imported"))["imported"] == 2


def test_export_reads_back_and_reimport_reports_duplicates(db, world, login, bundled_questions):
    city = login(world.city)
    exported = city.get("/console/questions/export", query_string={"fmt": "xlsx", "qtype": "truefalse"})
    assert exported.status_code == 200
    result = qb.import_file(exported.data, "xlsx")
    assert result.questions and {q.type for q in result.questions} == {qb.QuestionType.TRUEFALSE}
    preview = city.get(upload(city, exported.data, "导出.xlsx")).get_data(as_text=True)
    assert "已存在于题库" in preview and 'name="import_all"' not in preview
    for fmt in ("csv", "json"):
        assert qb.import_file(city.get(f"/console/questions/export?fmt={fmt}").data, fmt).questions
    template = load_workbook(io.BytesIO(city.get("/console/questions/template.xlsx").data))
    assert template.sheetnames


def test_exam_only_column_imports_refuses_bad_values_and_exports(db, world, login, bundled_questions):
    questions = [q.with_changes(exam_only=i == 0) for i, q in enumerate(new_questions(2, "ONLY"))]
    text = qb.export_questions(questions, "csv").decode("utf-8-sig")
    assert text.splitlines()[1].endswith(",是") and text.splitlines()[2].endswith(",否")
    city = login(world.city)
    bad_url = upload(city, text.replace(",否", ",不一定").encode("utf-8-sig"), "仅考试.csv")
    assert "第3行 仅考试:" in city.get(bad_url).get_data(as_text=True)
    before = db.session.scalar(select(func.count(Question.id)))
    city.post(bad_url, data={"import_all": "确认导入"})
    assert db.session.scalar(select(func.count(Question.id))) == before
    good_url = upload(city, text.encode("utf-8-sig"), "仅考试.csv")
    assert '<div id="exam-only-count"><strong>1</strong>仅考试</div>' in city.get(good_url).get_data(as_text=True)
    city.post(good_url, data={"import_all": "确认导入"})
    stored = dict(
        db.session.execute(select(Question.code, Question.exam_only).where(Question.code.like("ONLY-%"))).all()
    )
    assert stored == {"ONLY-001": True, "ONLY-002": False}
    listed = city.get("/console/questions", query_string={"text": "ONLY"}).get_data(as_text=True)
    assert listed.count(">仅考试</span>") == 1
    exported = city.get("/console/questions/export", query_string={"fmt": "xlsx", "text": "ONLY"}).data
    assert {
        q.code: q.exam_only for q in qb.import_file(exported, "xlsx").questions if q.code.startswith("ONLY")
    } == stored


def add_graded_sittings(db, world, n: int = 12) -> str:
    """Submit n identical papers, all correct except one item; return that item's code."""
    plan = add_plan(db.session, county_id=world.county_a.id)
    worker = world.workers_a[0]
    requirement = ExamRequirement(
        plan_id=plan.id,
        worker_id=worker.id,
        enterprise_id=world.enterprise_a.id,
        county_id=world.county_a.id,
        industry_id=world.enterprise_a.industry_id,
    )
    db.session.add(requirement)
    db.session.flush()
    bank, ids = question_store.bank(db.session)
    paper = qb.assemble(bank, qb.RuleSet.from_dict(plan.ruleset), 7, industry="hazchem", job_category="general")
    stored = paper.to_dict()
    hard = stored["items"][0]
    now = utcnow()
    for k in range(n):
        sitting = Sitting(
            plan_id=plan.id,
            worker_id=worker.id,
            requirement_id=requirement.id,
            seed=7,
            paper=stored,
            status=SittingStatus.SUBMITTED,
            started_at=now - timedelta(hours=k + 1),
            deadline_at=now,
            submitted_at=now - timedelta(hours=k),
            attempt_no=1,
        )
        db.session.add(sitting)
        db.session.flush()
        for item in stored["items"]:
            wrong = "B" if item["answer"] != "B" else "A"
            db.session.add(
                Answer(
                    sitting_id=sitting.id,
                    item_no=item["number"],
                    question_id=ids[item["code"]],
                    response=wrong if item is hard else item["answer"],
                )
            )
    db.session.commit()
    return hard["code"]


def test_quality_page_flags_items_from_graded_sittings(db, world, login, bundled_questions):
    hard_code = add_graded_sittings(db, world)
    html = login(world.city).get("/console/questions/quality").get_data(as_text=True)
    assert "基于 12 场已交卷考试" in html
    row = html[html.index(f">{hard_code}</a>") :]
    row = row[: row.index("</tr>")]
    assert ">0%<" in row and "过难" in row
    assert "过易" in html


def test_import_preview_speaks_english_in_an_english_console(db, world, login, bundled_questions):
    data = qb.export_questions(new_questions(3), "csv").decode("utf-8-sig").replace("NEW-002,单选", "NEW-002,单选题型")
    city = login(world.city)
    preview_url = upload(city, data.encode("utf-8-sig"), "新题.csv")
    english = city.get(preview_url, headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "3 rows, 1 problems in 1 rows: nothing imported" in english and "未导入任何题目" not in english
    problems = re.search(r'<ol class="problems">(.*?)</ol>', english, re.S).group(1)
    assert "Row 3" in problems and not re.search(r"[\u4e00-\u9fff]{4,}", problems.replace("题型", "")), problems
