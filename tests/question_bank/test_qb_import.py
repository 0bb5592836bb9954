"""Import/export: round trips in every format, each kind of import error, and the XLSX template."""

from __future__ import annotations

import csv
import io
import json

import openpyxl
import pytest

from question_bank import Status, build_template, export_questions, import_file
from question_bank.rows import EXAMPLE_CODE, SHEET_HEADERS, SHEET_LABELS, parse_record, sheet_values

from .helpers import make_question

VALID = {
    "编号": "FIRE-001",
    "题型": "单选",
    "题干": "发现火灾后首先应当怎样做？",
    "选项A": "立即报警",
    "选项B": "继续工作",
    "选项C": "乘坐电梯逃生",
    "选项D": "返回宿舍取财物",
    "答案": "A",
    "解析": "发现火灾应立即报警。",
    "分类": "消防安全",
    "行业": "",
    "岗位": "",
    "难度": 2,
    "分值": "",
    "依据": "《中华人民共和国消防法》第四十四条",
    "状态": "启用",
    "版本": "",
}


def row(i: int = 1, **overrides) -> dict:
    """Return a valid spreadsheet row (distinct code and stem per i) with overrides."""
    r = dict(VALID, 编号=f"FIRE-{i:03d}", 题干=f"第 {i} 题：发现火灾后首先应当怎样做？")
    r.update(overrides)
    return r


def xlsx(rows: list[dict], headers=SHEET_HEADERS) -> bytes:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(list(headers))
    for r in rows:
        ws.append([r.get(h) for h in headers])
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def csv_bytes(rows: list[dict], encoding="utf-8-sig", headers=SHEET_HEADERS) -> bytes:
    out = io.StringIO(newline="")
    w = csv.writer(out)
    w.writerow(headers)
    for r in rows:
        w.writerow(["" if r.get(h) is None else r.get(h) for h in headers])
    return out.getvalue().encode(encoding)


def mixed_bank():
    return [
        make_question(
            "LAW-001",
            "single",
            category="安全生产法律法规",
            difficulty=1,
            points=2.5,
            job_categories=("principal", "safety_manager"),
        ),
        make_question(
            "FIRE-002",
            "multiple",
            industries=("hazchem", "metallurgy"),
            status=Status.DRAFT,
            options=("=SUM(A1)", "-10℃以下", "+86 热线", "@所有人", "以上都对"),
            answer="ABE",
        ),
        make_question("FIRE-003", "truefalse", answer="B", version=4, explanation="多行\n解析", status=Status.RETIRED),
        make_question(
            "ELEC-004",
            "single",
            category="电气安全",
            difficulty=5,
            options=("甲", "乙"),
            answer="A",
            industries=("fireworks",),
            job_categories=("special_ops",),
            exam_only=True,
        ),
    ]


@pytest.mark.parametrize("fmt", ["xlsx", "csv", "json"])
def test_export_then_import_round_trips(fmt):
    bank = mixed_bank()
    result = import_file(export_questions(bank, fmt), fmt)
    assert result.problems == [] and result.ok_to_write
    assert result.questions == bank


def test_json_round_trips_the_bundled_format_exactly():
    items = [q.to_dict() for q in mixed_bank()]
    text = json.dumps(items, ensure_ascii=False)
    result = import_file(text.encode(), "json")
    assert json.loads(export_questions(result.questions, "json")) == items


def test_valid_xlsx_rows_import_with_defaults_and_chinese_values():
    rows = [
        row(1, 行业="危险化学品；冶金", 岗位="主要负责人;safety_manager", 分值=3, 版本=2, 状态="草稿"),
        row(2, 题型="判断", 选项A=None, 选项B=None, 选项C=None, 选项D=None, 答案="错误"),
        row(3, 题型="多选", 答案="a, c、D", 岗位="全部"),
    ]
    result = import_file(xlsx(rows), "xlsx")
    assert result.problems == [] and result.ok_to_write
    a, b, c = result.questions
    assert a.industries == ("hazchem", "metallurgy") and a.job_categories == ("principal", "safety_manager")
    assert a.points == 3.0 and a.version == 2 and a.status is Status.DRAFT
    assert b.options == ("正确", "错误") and b.answer == "B" and b.points is None and b.version == 1
    assert c.answer == "ACD" and c.job_categories == ()


def error_file(fmt: str, bad: dict, position: int = 16) -> bytes:
    """Return a file whose data row at 1-based `position` (excel row position+1) has overrides."""
    rows = [row(i) for i in range(1, 21)]
    rows[position - 1] = row(position, **bad)
    return xlsx(rows) if fmt == "xlsx" else csv_bytes(rows)


ROW_ERRORS = [
    ({"答案": "E"}, "答案", '"E" is not among the options A-D'),
    ({"答案": "A1"}, "答案", "letters A-F"),
    ({"答案": None}, "答案", "answer is empty"),
    ({"题型": "多选", "答案": "B"}, "答案", "at least two correct"),
    ({"答案": "AB"}, "答案", "exactly one correct"),
    ({"题型": None}, "题型", "type is empty"),
    ({"题型": "填空"}, "题型", "unknown type"),
    ({"题干": None}, "题干", "stem is empty"),
    ({"编号": None}, "编号", "code is empty"),
    ({"编号": "FIRE 17"}, "编号", "no spaces"),
    ({"分类": None}, "分类", "category is empty"),
    ({"选项C": None}, "选项C", "later options are filled"),
    ({"选项B": None, "选项C": None, "选项D": None}, "选项", "at least 2 options"),
    ({"选项C": "立即报警"}, "选项C", "duplicates option A"),
    ({"题型": "判断", "答案": "A"}, "选项", '["正确","错误"]'),
    ({"难度": "很难"}, "难度", "must be an integer"),
    ({"难度": 7}, "难度", "integer 1-5"),
    ({"难度": None}, "难度", "difficulty is empty"),
    ({"分值": "abc"}, "分值", "must be a number"),
    ({"分值": -1}, "分值", "greater than 0"),
    ({"岗位": "厂长"}, "岗位", "unknown job category"),
    ({"行业": "种植业"}, "行业", "invalid industry code"),
    ({"状态": "待定"}, "状态", "unknown status"),
    ({"版本": "v2"}, "版本", "must be an integer"),
    ({"仅考试": "也许"}, "仅考试", "must be 是 or 否"),
    ({"依据": "法" * 300}, "依据", "longer than 255"),
]


@pytest.mark.parametrize("fmt", ["xlsx", "csv"])
@pytest.mark.parametrize("bad, column, text", ROW_ERRORS, ids=[e[2][:24] for e in ROW_ERRORS])
def test_each_row_error_is_reported_with_row_and_column_and_nothing_imports(fmt, bad, column, text):
    result = import_file(error_file(fmt, bad), fmt)
    assert [(p.row, p.column) for p in result.problems] == [(17, column)], result.problems
    assert text in result.problems[0].message
    assert str(result.problems[0]).startswith(f"row 17, column {column}: ")
    assert not result.ok_to_write and result.questions == []
    assert result.rows == 20 and result.valid_rows == 19 and result.rejected_rows == [17]
    assert "nothing imported" in result.summary()


def test_the_issue_example_message():
    result = import_file(error_file("xlsx", {"答案": "E"}), "xlsx")
    assert "row 17, column 答案: " in str(result.problems[0])
    assert str(result.problems[0]).endswith('"E" is not among the options A-D')


def test_accept_valid_rows_imports_only_the_valid_rows():
    data = error_file("xlsx", {"答案": "E"})
    result = import_file(data, "xlsx", accept_valid_rows=True)
    assert result.ok_to_write and len(result.questions) == 19
    assert "FIRE-016" not in {q.code for q in result.questions}
    assert "19" in result.summary() and len(result.problems) == 1


def test_a_row_with_several_errors_reports_each():
    result = import_file(error_file("xlsx", {"答案": "Z", "难度": 9, "岗位": "厂长"}), "xlsx")
    assert {p.column for p in result.problems} == {"答案", "难度", "岗位"}
    assert {p.row for p in result.problems} == {17}


@pytest.mark.parametrize("fmt", ["xlsx", "csv"])
def test_duplicates_within_the_file_name_both_rows(fmt):
    rows = [row(1), row(2), row(3, 编号="FIRE-001"), row(4, 题干=" 第 2 题：发现火灾后首先应当怎样做？ ")]
    data = xlsx(rows) if fmt == "xlsx" else csv_bytes(rows)
    result = import_file(data, fmt)
    got = {(p.row, p.column): p.message for p in result.problems}
    assert set(got) == {(4, "编号"), (5, "题干")}
    assert "row 2" in got[(4, "编号")] and "第 2 行" in got[(4, "编号")]
    assert "row 3" in got[(5, "题干")]
    assert not result.ok_to_write


def test_duplicates_against_the_existing_bank():
    data = xlsx([row(1), row(2), row(3)])
    result = import_file(
        data, "xlsx", existing_codes={"FIRE-002"}, existing_stems=["第 3 题：发现火灾后首先应当怎样做？"]
    )
    got = {(p.row, p.column): p.message for p in result.problems}
    assert set(got) == {(3, "编号"), (4, "题干")}
    assert "already exists" in got[(3, "编号")] and "already exists" in got[(4, "题干")]
    partial = import_file(data, "xlsx", existing_codes={"FIRE-002"}, accept_valid_rows=True)
    assert [q.code for q in partial.questions] == ["FIRE-001", "FIRE-003"]


def test_missing_required_column_rejects_the_file():
    headers = [h for h in SHEET_HEADERS if h != "答案"]
    result = import_file(xlsx([row(1)], headers=headers), "xlsx", accept_valid_rows=True)
    assert [(p.row, p.column) for p in result.problems] == [(1, "答案")]
    assert "required column missing" in result.problems[0].message
    assert not result.ok_to_write


def test_unreadable_and_empty_files():
    broken = import_file(b"PK\x03\x04 not really a zip", "xlsx")
    assert not broken.ok_to_write and "cannot read XLSX" in broken.problems[0].message
    empty = import_file(xlsx([]), "xlsx")
    assert not empty.ok_to_write and "no questions" in empty.problems[0].message
    assert not import_file(b"", "csv").ok_to_write


@pytest.mark.parametrize(
    "text, expected",
    [
        ('[{"code": 1', "invalid JSON"),
        ('{"code": "X"}', "must be an array"),
        ("[1, 2]", "must be an object"),
    ],
)
def test_json_file_level_errors(text, expected):
    result = import_file(text.encode(), "json")
    assert not result.ok_to_write and expected in result.problems[0].message


def test_json_rows_are_reported_by_position_and_key():
    items = [make_question(f"J-{i}").to_dict() for i in range(3)]
    items[1]["answer"] = "E"
    result = import_file(json.dumps(items).encode(), "json")
    assert [(p.row, p.column) for p in result.problems] == [(2, "answer")]


def test_row_numbers_follow_the_spreadsheet_including_blank_rows():
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["题库导入"])  # a title row above the header
    ws.append(list(SHEET_HEADERS))
    ws.append([row(1).get(h) for h in SHEET_HEADERS])
    ws.append([])
    ws.append([])
    ws.append([row(2, 答案="E").get(h) for h in SHEET_HEADERS])
    out = io.BytesIO()
    wb.save(out)
    result = import_file(out.getvalue(), "xlsx")
    assert [p.row for p in result.problems] == [6] and result.rows == 2


def test_csv_saved_by_chinese_excel_in_gbk_imports():
    result = import_file(csv_bytes([row(1), row(2)], encoding="gb18030"), "csv")
    assert result.ok_to_write and result.questions[0].category == "消防安全"


def test_headers_tolerate_spaces_and_english_names():
    headers = ["编号", "题型", "题干", "选项 A", "option_b", "选项c", "选项D", "answer", "分类", "难度"]
    r = row(1) | {"选项 A": "立即报警", "option_b": "继续工作", "选项c": "乘坐电梯", "answer": "A"}
    result = import_file(csv_bytes([r], headers=headers), "csv")
    assert result.ok_to_write, result.problems


def test_format_is_detected_from_path_or_bytes(tmp_path):
    bank = mixed_bank()
    for fmt in ("xlsx", "csv", "json"):
        path = tmp_path / f"bank.{fmt}"
        path.write_bytes(export_questions(bank, fmt))
        assert import_file(path).questions == bank
        assert import_file(path.read_bytes()).questions == bank
    with pytest.raises(ValueError):
        import_file(tmp_path / "bank.xls")


def test_import_result_serialises():
    from question_bank import ImportResult

    result = import_file(error_file("xlsx", {"答案": "E"}), "xlsx", accept_valid_rows=True)
    again = ImportResult.from_dict(json.loads(json.dumps(result.to_dict(), ensure_ascii=False)))
    assert again == result and again.ok_to_write


@pytest.mark.parametrize("fmt", ["xlsx", "csv"])
def test_exam_only_column_reads_yes_no_words_and_blank_as_no(fmt):
    rows = [row(1, 仅考试="是"), row(2, 仅考试="否"), row(3, 仅考试=None), row(4, 仅考试="Y"), row(5, 仅考试="false")]
    data = xlsx(rows) if fmt == "xlsx" else csv_bytes(rows)
    result = import_file(data, fmt)
    assert result.problems == [] and [q.exam_only for q in result.questions] == [True, False, False, True, False]


def test_exam_only_is_exported_as_yes_or_no_and_a_file_without_the_column_means_no():
    wb = openpyxl.load_workbook(io.BytesIO(export_questions(mixed_bank(), "xlsx")))
    col = SHEET_HEADERS.index("仅考试")
    assert [r[col] for r in wb["题目"].iter_rows(min_row=2, values_only=True)] == ["否", "否", "否", "是"]
    older = [h for h in SHEET_HEADERS if h != "仅考试"]
    result = import_file(xlsx([row(1, 仅考试="是")], headers=older), "xlsx")
    assert result.problems == [] and result.questions[0].exam_only is False


def test_template_has_header_example_dropdown_and_notes():
    data = build_template()
    wb = openpyxl.load_workbook(io.BytesIO(data))
    ws = wb["题目"]
    assert [c.value for c in ws[1]] == list(SHEET_HEADERS)
    assert ws["A2"].value == EXAMPLE_CODE
    type_col = openpyxl.utils.get_column_letter(SHEET_HEADERS.index("题型") + 1)
    lists = {str(dv.sqref): dv.formula1 for dv in ws.data_validations.dataValidation}
    assert lists[f"{type_col}2:{type_col}1048576"] == '"单选,多选,判断"'
    assert "说明" in wb.sheetnames
    # The example row itself is a valid question; importing the untouched template imports nothing.
    header = [c.value for c in ws[1]]
    values = sheet_values([c.value for c in ws[2]], {h: i for i, h in enumerate(header)})
    question, problems = parse_record(2, values, SHEET_LABELS)
    assert problems == [] and question.answer == "ABC"
    result = import_file(data, "xlsx")
    assert result.skipped_example_rows == 1 and not result.ok_to_write


def test_filled_in_template_imports_the_new_rows_only():
    wb = openpyxl.load_workbook(io.BytesIO(build_template()))
    ws = wb["题目"]
    ws.append([row(1).get(h) for h in SHEET_HEADERS])
    out = io.BytesIO()
    wb.save(out)
    result = import_file(out.getvalue(), "xlsx")
    assert result.ok_to_write and [q.code for q in result.questions] == ["FIRE-001"]
    assert result.rows == 1


def test_exported_xlsx_keeps_formula_like_text_as_text():
    data = export_questions(mixed_bank(), "xlsx")
    ws = openpyxl.load_workbook(io.BytesIO(data))["题目"]
    assert ws["D3"].value == "=SUM(A1)" and ws["D3"].data_type == "s"


def test_file_without_a_header_row_and_other_zips_are_rejected():
    no_header = import_file(xlsx([row(1)], headers=["甲", "乙"]), "xlsx")
    assert [(p.row, p.column) for p in no_header.problems] == [(1, "题干")]
    assert "header row not found" in no_header.problems[0].message
    buf = io.BytesIO()
    import zipfile

    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("word/document.xml", "<w/>")
    other = import_file(buf.getvalue(), "xlsx")
    assert not other.ok_to_write and "cannot read XLSX" in other.problems[0].message


def test_csv_with_a_title_row_counts_rows_like_a_spreadsheet():
    data = "题库导入\n".encode() + csv_bytes([row(1), row(2, 难度=9)], encoding="utf-8")
    result = import_file(data, "csv")
    assert [(p.row, p.column) for p in result.problems] == [(4, "难度")]
