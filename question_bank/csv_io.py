"""CSV reading and writing with the same columns as XLSX."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from dataclasses import replace
from typing import Any

from .model import Problem, Question
from .rows import SHEET_HEADERS, SHEET_LABELS, find_header, header_positions, sheet_row, sheet_values

# Excel treats cells starting with these as formulas; exports prefix them with "'". The full-width forms
# (＝＋－＠, typed by a Chinese input method) are folded to the ASCII ones by some spreadsheets.
FORMULA_START = ("=", "+", "-", "@", "\uff1d", "\uff0b", "\uff0d", "\uff20")


def decode(data: bytes) -> str:
    """Decode UTF-8 (with or without BOM), falling back to GB18030 as saved by Chinese Excel."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("gb18030")


def read_records(data: bytes) -> tuple[list[tuple[int, dict[str, Any]]], dict[str, str], list[Problem]]:
    """Return (row, field values) for each non-empty data row, the labels, and file problems."""
    try:
        text = decode(data)
    except UnicodeDecodeError:
        return [], SHEET_LABELS, [Problem(None, "", "无法识别文件编码（请用 UTF-8 或 GBK）/ unknown encoding")]
    try:
        rows = list(csv.reader(io.StringIO(text, newline="")))
    except csv.Error as exc:
        return [], SHEET_LABELS, [Problem(None, "", f"CSV 格式错误 / malformed CSV: {exc}")]
    if not rows:
        return [], SHEET_LABELS, [Problem(None, "", "文件为空 / file is empty")]
    found = find_header(rows)
    if found is None:
        return [], SHEET_LABELS, [Problem(1, "题干", '找不到表头行（需含 "题干" 列）/ header row not found')]
    positions, problems = header_positions(rows[found])
    if problems:
        return [], SHEET_LABELS, [replace(p, row=found + 1) for p in problems]
    records = [
        (n, sheet_values([_unescape(c) for c in row], positions))
        for n, row in enumerate(rows[found + 1 :], start=found + 2)
        if any(c.strip() for c in row)
    ]
    return records, SHEET_LABELS, []


def write_questions(questions: Iterable[Question]) -> bytes:
    """Return UTF-8 CSV (with BOM so Excel shows Chinese correctly)."""
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(SHEET_HEADERS)
    for q in questions:
        writer.writerow([_escape(v) for v in sheet_row(q)])
    return out.getvalue().encode("utf-8-sig")


def _escape(value: Any) -> Any:
    """Prefix formula-like text with an apostrophe (CSV injection guard)."""
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


def _unescape(value: str) -> str:
    """Undo _escape."""
    if value.startswith("'") and value[1:].startswith(FORMULA_START):
        return value[1:]
    return value
