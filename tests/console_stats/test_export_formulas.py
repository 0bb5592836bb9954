"""Issue 14, finding 10: exported text that starts like a formula, in ASCII or full-width form, stays text."""

import csv
import io

import openpyxl
from sqlalchemy import select

import question_bank as qb
from exam_server.models import Worker

PAYLOADS = ["=HYPERLINK(1)", "+1", "-1", "@SUM(1)", "＝HYPERLINK(1)", "＋1", "－1", "＠SUM(1)"]


def test_results_exports_quote_every_formula_start(db, city, login):
    workers = db.session.scalars(
        select(Worker)
        .where(Worker.enterprise_id.in_([city.e1.id, city.e2.id]))
        .order_by(Worker.id)
        .limit(len(PAYLOADS))
    ).all()
    assert len(workers) == len(PAYLOADS)
    for worker, payload in zip(workers, PAYLOADS, strict=True):
        worker.name = payload
    db.session.commit()
    client = login(city.users["county_a"])
    data = client.get("/console/exports/results.csv").get_data().decode("utf-8-sig")
    names = {row[4] for row in csv.reader(io.StringIO(data)) if len(row) > 4}  # the title and scope rows are short
    assert {f"'{payload}" for payload in PAYLOADS} <= names
    assert not names & set(PAYLOADS)
    book = openpyxl.load_workbook(io.BytesIO(client.get("/console/exports/results.xlsx").get_data()))
    cells = {row[4] for row in book["成绩明细"].iter_rows(values_only=True) if len(row) > 4}
    assert {f"'{payload}" for payload in PAYLOADS} <= cells


def test_question_csv_export_quotes_full_width_formula_starts_and_reads_back():
    question = qb.Question(
        code="FW-001",
        type=qb.QuestionType.SINGLE,
        stem="＝1+1 是公式吗？",
        options=("＠是", "－否"),
        answer="B",
        category="测试",
    )
    data = qb.export_questions([question], "csv")
    text = data.decode("utf-8-sig")
    assert "'＝1+1 是公式吗？" in text and "'＠是" in text and "'－否" in text
    assert qb.import_file(data, "csv").questions == [question]
