"""The row-by-row XLSX writer: what openpyxl reads back is what was written."""

from __future__ import annotations

import io
import zipfile
from datetime import datetime

import openpyxl
import pytest

from exam_server.services.reporting import xlsx_writer
from exam_server.services.reporting.xlsx_writer import Formatted


def read_back(sheets):
    buffer = io.BytesIO()
    xlsx_writer.write(buffer, sheets)
    buffer.seek(0)
    return openpyxl.load_workbook(buffer)


def test_text_numbers_rates_and_times_read_back_with_their_formats():
    moment = datetime(2026, 3, 5, 14, 30)
    book = read_back(
        [
            (
                "成绩明细",
                [
                    ["姓名", "分数", "合格率", "时间", "空"],
                    ["张三 & <李四>", 92.5, Formatted(0.6667, "0.0%"), Formatted(moment, "yyyy-mm-dd hh:mm"), ""],
                    [" 前后空格 ", 7, "—", "bad\x01char", "'=1+1"],
                ],
            )
        ]
    )
    sheet = book["成绩明细"]
    header, first, second = (list(row) for row in sheet.iter_rows())
    assert [c.value for c in header] == ["姓名", "分数", "合格率", "时间", "空"]
    assert first[0].value == "张三 & <李四>" and first[1].value == 92.5
    assert first[2].value == pytest.approx(0.6667) and first[2].number_format == "0.0%"
    assert first[3].value == moment and first[3].number_format == "yyyy-mm-dd hh:mm"
    assert first[4].value is None  # an empty string is a blank cell, as openpyxl writes it
    assert [c.value for c in second] == [" 前后空格 ", 7, "—", "badchar", "'=1+1"]


def test_several_sheets_and_wide_rows():
    book = read_back([("一", [list(range(30))]), ("二", iter([["a"], ["b"]]))])
    assert book.sheetnames == ["一", "二"]
    assert book["一"]["AD1"].value == 29
    assert [r[0] for r in book["二"].iter_rows(values_only=True)] == ["a", "b"]


@pytest.mark.parametrize("index, letters", [(0, "A"), (25, "Z"), (26, "AA"), (701, "ZZ"), (702, "AAA")])
def test_column_letters(index, letters):
    assert xlsx_writer.column_letters(index) == letters


def test_a_report_sheet_has_title_lines_a_frozen_filtered_bold_header_and_widths():
    sheet = xlsx_writer.Sheet(
        "明细",
        iter([["姓名", "分数"], ["张三", 92], ["李四", None]]),
        ["考试成绩明细", "范围：兰山区"],
        True,
        [10, 8.5],
    )
    buffer = io.BytesIO()
    xlsx_writer.write(buffer, [sheet])
    with zipfile.ZipFile(buffer) as package:  # Excel keeps the filtered range as a hidden name too
        assert (
            "_xlnm._FilterDatabase" in package.read("xl/workbook.xml").decode()
            and "$A$3:$B$5" in package.read("xl/workbook.xml").decode()
        )
    buffer.seek(0)
    ws = openpyxl.load_workbook(buffer)["明细"]
    assert ws["A1"].value == "考试成绩明细" and ws["A1"].font.b and ws["A1"].font.sz == 14
    assert ws["A2"].value == "范围：兰山区" and not ws["A2"].font.b
    assert [c.value for c in ws[3]] == ["姓名", "分数"] and all(c.font.b for c in ws[3])
    assert not ws["A4"].font.b
    assert ws.freeze_panes == "A4"  # rows 1-3 stay in view
    assert ws.auto_filter.ref == "A3:B5"
    assert ws.column_dimensions["A"].width == 10 and ws.column_dimensions["B"].width == 8.5
    assert ws["B4"].value == 92 and ws["B4"].data_type == "n" and ws["B5"].value is None


def test_a_report_sheet_with_no_rows_below_the_header_still_opens():
    ws = read_back([xlsx_writer.Sheet("空", iter([["姓名"]]), ["标题"], True, [10])])["空"]
    assert ws.freeze_panes == "A3" and ws.auto_filter.ref == "A2:A2"
