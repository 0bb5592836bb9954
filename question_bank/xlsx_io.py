"""XLSX reading and writing in the administrators' column layout."""

from __future__ import annotations

import io
import itertools
from collections.abc import Iterable, Sequence
from dataclasses import replace
from typing import Any

from openpyxl import Workbook, load_workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation

from .model import Problem, Question
from .rows import OPTION_HEADERS, SHEET_HEADERS, SHEET_LABELS, find_header, header_positions, sheet_row, sheet_values

SHEET_NAME = "题目"
_WIDTHS = {
    "编号": 14,
    "题型": 8,
    "题干": 48,
    "答案": 8,
    "解析": 36,
    "分类": 16,
    "行业": 16,
    "岗位": 22,
    "难度": 6,
    "分值": 6,
    "依据": 32,
    "状态": 8,
    "版本": 6,
} | {h: 22 for h in OPTION_HEADERS}
_HEADER_SCAN_ROWS = 5


def read_records(data: bytes) -> tuple[list[tuple[int, dict[str, Any]]], dict[str, str], list[Problem]]:
    """Return (excel_row, field values) for each non-empty data row, the labels, and file problems."""
    try:
        wb = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # an uploaded file may be anything; every failure is a file-level problem
        return [], SHEET_LABELS, [_unreadable(exc)]
    try:
        return _read_sheet(wb)
    except Exception as exc:  # corrupt sheet XML surfaces only while iterating
        return [], SHEET_LABELS, [_unreadable(exc)]
    finally:
        wb.close()


def _unreadable(exc: Exception) -> Problem:
    """Describe a file that openpyxl cannot read."""
    return Problem(None, "", f"无法读取 XLSX 文件 / cannot read XLSX file: {type(exc).__name__}: {exc}")


def _read_sheet(wb) -> tuple[list[tuple[int, dict[str, Any]]], dict[str, str], list[Problem]]:
    """Read the question sheet of an open workbook."""
    ws = wb[SHEET_NAME] if SHEET_NAME in wb.sheetnames else wb.worksheets[0]
    # Some writers store a wrong sheet dimension, which would truncate rows in read-only mode.
    ws.reset_dimensions()
    rows = ws.iter_rows(values_only=True)
    head = [row for _, row in zip(range(_HEADER_SCAN_ROWS), rows, strict=False)]
    found = find_header(head, _HEADER_SCAN_ROWS)
    if found is None:
        return [], SHEET_LABELS, [Problem(1, "题干", '找不到表头行（需含 "题干" 列）/ header row not found')]
    header_row, header_no = head[found], found + 1
    positions, problems = header_positions(header_row)
    problems = [replace(p, row=header_no) for p in problems]
    if problems:
        return [], SHEET_LABELS, problems
    records = [
        (n, sheet_values(row, positions))
        for n, row in enumerate(itertools.chain(head[found + 1 :], rows), start=header_no + 1)
        if any(c is not None and str(c).strip() for c in row)
    ]
    return records, SHEET_LABELS, []


def write_questions(
    questions: Iterable[Question], example: Sequence[Any] | None = None, notes: Sequence[tuple[str, str]] = ()
) -> bytes:
    """Build an XLSX workbook of questions (plus optional example row and notes sheet)."""
    wb = Workbook(write_only=True)
    ws = wb.create_sheet(SHEET_NAME)
    ws.freeze_panes = "A2"
    for i, header in enumerate(SHEET_HEADERS, start=1):
        ws.column_dimensions[get_column_letter(i)].width = _WIDTHS.get(header, 12)
    _add_dropdowns(ws)
    bold = Font(bold=True)
    fill = PatternFill("solid", fgColor="DDEBF7")
    header_cells = []
    for h in SHEET_HEADERS:
        cell = WriteOnlyCell(ws, h)
        cell.font, cell.fill = bold, fill
        header_cells.append(cell)
    ws.append(header_cells)
    if example is not None:
        grey = Font(color="808080", italic=True)
        ws.append([_text_cell(ws, v, grey) for v in example])
    for q in questions:
        ws.append([_text_cell(ws, v) for v in sheet_row(q)])
    if notes:
        info = wb.create_sheet("说明")
        info.column_dimensions["A"].width = 14
        info.column_dimensions["B"].width = 90
        wrap = Alignment(wrap_text=True, vertical="top")
        for key, text in notes:
            a, b = WriteOnlyCell(info, key), WriteOnlyCell(info, text)
            a.font, b.alignment = bold, wrap
            info.append([a, b])
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def _text_cell(ws, value: Any, font: Font | None = None) -> WriteOnlyCell:
    """Make a cell whose strings are stored as text, never as formulas."""
    cell = WriteOnlyCell(ws, value)
    if isinstance(value, str):
        # openpyxl turns strings starting with "=" into formulas; force plain text.
        cell.data_type = "s"
    if font is not None:
        cell.font = font
    return cell


def _add_dropdowns(ws) -> None:
    """Add drop-down lists for 题型, 难度 and 状态 on every data row."""

    def col(header: str) -> str:
        return get_column_letter(SHEET_HEADERS.index(header) + 1)

    for header, choices, prompt in (
        ("题型", "单选,多选,判断", "单选 / 多选 / 判断"),
        ("难度", "1,2,3,4,5", "1（易）- 5（难）"),
        ("状态", "启用,草稿,停用", "启用 / 草稿 / 停用"),
        ("仅考试", "是,否", "是 / 否（是：只用于正式考试）"),
    ):
        dv = DataValidation(
            type="list",
            formula1=f'"{choices}"',
            allow_blank=True,
            showErrorMessage=True,
            errorTitle="输入无效",
            error=f"请选择：{prompt}",
            promptTitle=header,
            prompt=prompt,
        )
        dv.add(f"{col(header)}2:{col(header)}1048576")
        ws.data_validations.append(dv)
