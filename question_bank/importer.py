"""Import and export of question files (XLSX, CSV, JSON) through one validation path."""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import csv_io, json_io, xlsx_io
from .model import Problem, Question, find_duplicates
from .rows import EXAMPLE_CODE, cell_text, parse_record

FORMATS = ("xlsx", "csv", "json")
_READERS = {"xlsx": xlsx_io.read_records, "csv": csv_io.read_records, "json": json_io.read_records}
_WRITERS = {"xlsx": xlsx_io.write_questions, "csv": csv_io.write_questions, "json": json_io.write_questions}


@dataclass
class ImportResult:
    """Outcome of an import: write `questions` only when `ok_to_write` is true."""

    questions: list[Question]
    problems: list[Problem]
    rows: int
    valid_rows: int
    accept_valid_rows: bool = False
    skipped_example_rows: int = 0

    @property
    def ok_to_write(self) -> bool:
        """Tell whether the caller may store `questions` (all rows valid, or valid-rows mode)."""
        if not self.questions:
            return False
        return not self.problems or self.accept_valid_rows

    @property
    def rejected_rows(self) -> list[int]:
        """Return the sorted row numbers that have at least one problem."""
        return sorted({p.row for p in self.problems if p.row is not None})

    def summary(self) -> str:
        """Return a one-line bilingual summary for the administrator."""
        bad = len(self.rejected_rows)
        if not self.problems:
            return (
                f"共 {self.rows} 行，全部有效，可导入 {len(self.questions)} 题 / "
                f"{self.rows} rows, all valid, {len(self.questions)} questions to import"
            )
        if self.ok_to_write:
            return (
                f"共 {self.rows} 行，{bad} 行有错误被跳过，将导入 {len(self.questions)} 题 / "
                f"{self.rows} rows, {bad} rows with errors skipped, {len(self.questions)} to import"
            )
        return (
            f"共 {self.rows} 行，发现 {len(self.problems)} 个问题（{bad} 行），未导入任何题目 / "
            f"{self.rows} rows, {len(self.problems)} problems in {bad} rows: nothing imported"
        )

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready dict."""
        return {
            "questions": [q.to_dict() for q in self.questions],
            "problems": [p.to_dict() for p in self.problems],
            "rows": self.rows,
            "valid_rows": self.valid_rows,
            "accept_valid_rows": self.accept_valid_rows,
            "skipped_example_rows": self.skipped_example_rows,
            "ok_to_write": self.ok_to_write,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ImportResult:
        """Build from a dict made by to_dict."""
        return cls(
            [Question.from_dict(q) for q in data["questions"]],
            [Problem.from_dict(p) for p in data["problems"]],
            data["rows"],
            data["valid_rows"],
            data.get("accept_valid_rows", False),
            data.get("skipped_example_rows", 0),
        )


def detect_format(name: str | os.PathLike[str]) -> str:
    """Return xlsx/csv/json from a file name's extension; raises ValueError otherwise."""
    ext = Path(name).suffix.lower().lstrip(".")
    if ext in FORMATS:
        return ext
    raise ValueError(f"不支持的文件类型 / unsupported file type: {name!s} (use .xlsx, .csv or .json)")


def import_file(
    source: str | os.PathLike[str] | bytes,
    fmt: str | None = None,
    *,
    existing_codes: Iterable[str] = (),
    existing_stems: Iterable[str] = (),
    accept_valid_rows: bool = False,
    source_name: str = "",
) -> ImportResult:
    """Parse and validate a question file; nothing is returned to write if any row fails (unless accept_valid_rows)."""
    parsed = parse_file(source, fmt, source_name=source_name)
    problems = parsed.problems + [
        _relabel(p, parsed.labels) for p in find_duplicates(parsed.entries, existing_codes, existing_stems)
    ]
    if parsed.rows == 0 and not problems:
        problems.append(Problem(None, "", "文件中没有题目 / no questions in the file", parsed.source))
    bad_rows = {p.row for p in problems}
    valid = [q for _, row, q in parsed.entries if row not in bad_rows]
    to_write = valid if (not problems or accept_valid_rows) else []
    problems.sort(key=lambda p: (p.row is not None, p.row or 0))
    return ImportResult(to_write, problems, parsed.rows, len(valid), accept_valid_rows, parsed.skipped)


@dataclass
class ParsedFile:
    """Every parsed row of one file (rows with problems included), before duplicate checks."""

    source: str
    entries: list[tuple[str, int, Question]]
    problems: list[Problem]
    labels: dict[str, str]
    rows: int
    skipped: int = 0


def parse_file(source: str | os.PathLike[str] | bytes, fmt: str | None = None, *, source_name: str = "") -> ParsedFile:
    """Read a file and validate each row on its own (no duplicate checks)."""
    if isinstance(source, (bytes, bytearray)):
        data = bytes(source)
        fmt = fmt or _sniff(data)
    else:
        path = Path(source)
        fmt = fmt or detect_format(path)
        source_name = source_name or path.name
        data = path.read_bytes()
    fmt = fmt.lower().lstrip(".")
    if fmt not in _READERS:
        raise ValueError(f"不支持的格式 / unsupported format: {fmt} (use xlsx, csv or json)")
    records, labels, problems = _READERS[fmt](data)
    problems = [_with_source(p, source_name) if source_name and not p.source else p for p in problems]
    entries: list[tuple[str, int, Question]] = []
    skipped = 0
    for row, values in records:
        if fmt != "json" and cell_text(values.get("code")) == EXAMPLE_CODE:
            skipped += 1
            continue
        question, row_problems = parse_record(row, values, labels, source_name)
        problems.extend(row_problems)
        # Invalid rows stay in `entries` so duplicates among them are reported too.
        entries.append((source_name, row, question))
    return ParsedFile(source_name, entries, problems, labels, len(records) - skipped, skipped)


def _with_source(p: Problem, source: str) -> Problem:
    """Attach the file name to a problem."""
    return Problem(p.row, p.column, p.message, source)


def _relabel(p: Problem, labels: dict[str, str]) -> Problem:
    """Replace a field name with the file's column label."""
    return Problem(p.row, labels.get(p.column, p.column), p.message, p.source)


def _sniff(data: bytes) -> str:
    """Guess the format of raw bytes: ZIP means XLSX, a leading [ or { means JSON, else CSV."""
    if data[:2] == b"PK":
        return "xlsx"
    head = data[:64].lstrip(b"\xef\xbb\xbf \t\r\n")
    return "json" if head[:1] in (b"[", b"{") else "csv"


def export_questions(questions: Sequence[Question], fmt: str) -> bytes:
    """Serialise questions to xlsx, csv or json bytes that import_file reads back unchanged."""
    fmt = fmt.lower().lstrip(".")
    if fmt not in _WRITERS:
        raise ValueError(f"不支持的格式 / unsupported format: {fmt} (use xlsx, csv or json)")
    return _WRITERS[fmt](questions)
