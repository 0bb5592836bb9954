"""Issue 14, finding 2: text holding NUL or another control character is refused, naming the field, before
any query runs (PostgreSQL answered such text with a 500; SQLite stored it). Run on both databases."""

from __future__ import annotations

import io
from contextlib import contextmanager
from dataclasses import replace

import pytest
from openpyxl import Workbook
from sqlalchemy import event, func, select

import question_bank as qb
from exam_server.models import AuditLog, Kiosk, Question, Worker
from tests.console.helpers import HEADER, csv_bytes, worker_rows
from tests.console.test_questions import new_questions
from tests.console.test_questions import upload as upload_questions
from tests.console.test_worker_import import token_of, upload, worker_count


@contextmanager
def statements(db):
    """Collect the SQL statements sent while the block runs."""
    sent: list[str] = []

    def record(_conn, _cursor, statement, *_args):
        sent.append(statement)

    event.listen(db.engine, "before_cursor_execute", record)
    try:
        yield sent
    finally:
        event.remove(db.engine, "before_cursor_execute", record)


def refused_naming(response, field: str) -> str:
    text = response.get_data(as_text=True)
    assert response.status_code == 400, text[:500]
    assert f"字段 {field} 含有控制字符" in text, text[:500]
    return text


@pytest.mark.parametrize(
    ("form", "field"),
    [
        ({"username": "ad\x00min", "password": "whatever-password"}, "username"),
        ({"username": "admin", "password": "pass\x00word"}, "password"),
        ({"username": "ad\x1bmin", "password": "whatever-password"}, "username"),
        ({"username": "admin\x7f", "password": "whatever-password"}, "username"),
        ({"username": "ad\nmin", "password": "whatever-password"}, "username"),
    ],
)
def test_login_with_a_control_character_is_refused_before_any_query(client, db, form, field):
    with statements(db) as sent:
        refused_naming(client.post("/auth/login", data=form), field)
    assert sent == []
    assert db.session.scalar(select(func.count(AuditLog.id))) == 0  # not even a failed login was recorded


@pytest.mark.parametrize(
    "url",
    [
        "/console/workers?name=a%00b",
        "/console/workers?citizen_id=%01",
        "/console/workers?enterprise=%7F",
        "/console/workers?name=a%0Ab",
        "/console/audit?page=1&action=x%00",
    ],
)
def test_query_string_filters_with_a_control_character_are_refused(db, world, login, url):
    city = login(world.city)
    field = url.split("?")[1].split("&")[-1].split("=")[0]
    with statements(db) as sent:
        refused_naming(city.get(url), field)
    assert sent == []


def test_path_text_and_field_names_are_checked_too(db, world, login):
    city = login(world.city)
    refused_naming(city.get("/console/workers/import/ab%00cd"), "token")
    refused_naming(city.get("/console/workers?na%00me=x"), "na\\x00me")


def test_a_kiosk_named_with_a_nul_is_refused_and_not_stored(db, world, login):
    city = login(world.city)
    refused_naming(city.post("/console/kiosks", data={"name": "考点\x00一号", "location": "", "county_id": 0}), "name")
    assert db.session.scalar(select(func.count(Kiosk.id))) == 0
    assert city.post("/console/kiosks", data={"name": "考点一号", "location": "", "county_id": 0}).status_code < 400


def test_a_multi_line_field_keeps_its_line_breaks_but_not_a_nul(db, world, login, bundled_questions):
    city = login(world.city)
    question = db.session.scalars(select(Question).order_by(Question.id)).first()
    form = {"stem": "第一行\r\n\t第二行", "category": "有限空间作业", "answer": "A", "difficulty": 2}
    assert city.post(f"/console/questions/{question.id}", data=form).status_code != 400
    refused_naming(city.post(f"/console/questions/{question.id}", data={**form, "stem": "a\x00b"}), "stem")
    # A single-line field of the same form gets no line break.
    refused_naming(city.post(f"/console/questions/{question.id}", data={**form, "category": "a\nb"}), "category")


def _worker_xlsx(rows) -> bytes:
    book = Workbook()
    sheet = book.active
    sheet.append(HEADER)
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_an_import_row_with_a_control_character_is_refused_in_the_preview(db, world, login, fmt):
    admin = login(world.county_admin_a)
    rows = worker_rows(4, seed=23)
    if fmt == "csv":
        rows[1][0] = "张\x00三"  # the attack: it passed the preview, then the confirm answered 500
        rows[2][3] = "138\x0100000"
        data = csv_bytes(rows)
    else:
        rows[1][0] = "张\x7f三"  # XML (so XLSX) cannot carry NUL; DEL and tab it can
        rows[2][3] = "138\t00000000"
        data = _worker_xlsx(rows)
    token = token_of(upload(admin, data, f"名单.{fmt}", enterprise_code=world.enterprise_a.credit_code))
    preview = admin.get(f"/console/workers/import/{token}").get_data(as_text=True)
    assert "第3行 姓名: 含有控制字符" in preview
    assert "第4行 手机号: 含有控制字符" in preview
    before = worker_count(db)
    refused = admin.post(f"/console/workers/import/{token}", data={"import_all": "确认导入"})
    assert refused.status_code == 302 and worker_count(db) == before
    done = admin.post(f"/console/workers/import/{token}", data={"import_valid": "仅导入有效行"})
    assert done.status_code == 302
    names = set(db.session.scalars(select(Worker.name).where(Worker.citizen_id.in_([r[1] for r in rows]))))
    assert names == {rows[0][0], rows[3][0]}


@pytest.mark.parametrize(
    ("column", "value"), [("code", "NEW\x00-002"), ("category", "有限空间\x00作业"), ("stem", "进入\x7f受限空间")]
)
def test_a_question_import_row_with_a_control_character_is_refused(db, world, login, bundled_questions, column, value):
    questions = new_questions(3)
    questions[1] = replace(questions[1], **{column: value})
    city = login(world.city)
    preview_url = upload_questions(city, qb.export_questions(questions, "json"), "新题.json")
    preview = city.get(preview_url).get_data(as_text=True)
    problem = preview.split(f"第2行 {column}: ", 1)[1].split("</li>", 1)[0]  # JSON files name fields, not labels
    assert "控制字符" in problem
    city.post(preview_url, data={"import_valid": "仅导入有效行"})
    codes = set(db.session.scalars(select(Question.code).where(Question.code.like("NEW%"))))
    assert codes == {"NEW-001", "NEW-003"}
