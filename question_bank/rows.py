"""Shared row parsing: raw cell values from XLSX, CSV or JSON become a Question or Problems."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from typing import Any

from .model import (
    INDUSTRIES,
    JOB_CATEGORIES,
    LETTERS,
    TRUEFALSE_OPTIONS,
    Problem,
    Question,
    QuestionType,
    Status,
    validate_question,
)

# Spreadsheet columns in order; (field, header).
OPTION_HEADERS = tuple(f"选项{c}" for c in LETTERS)
SHEET_COLUMNS: tuple[tuple[str, str], ...] = (
    ("code", "编号"),
    ("type", "题型"),
    ("stem", "题干"),
    *((f"options[{i}]", h) for i, h in enumerate(OPTION_HEADERS)),
    ("answer", "答案"),
    ("explanation", "解析"),
    ("category", "分类"),
    ("industries", "行业"),
    ("job_categories", "岗位"),
    ("difficulty", "难度"),
    ("points", "分值"),
    ("basis", "依据"),
    ("status", "状态"),
    ("version", "版本"),
    ("exam_only", "仅考试"),
)
SHEET_HEADERS = tuple(h for _, h in SHEET_COLUMNS)
SHEET_LABELS: dict[str, str] = {f: h for f, h in SHEET_COLUMNS} | {"options": "选项"}
REQUIRED_HEADERS = ("编号", "题型", "题干", "答案", "分类", "难度")
JSON_LABELS: dict[str, str] = {
    f: f
    for f in (
        "code",
        "type",
        "stem",
        "options",
        "answer",
        "explanation",
        "category",
        "industries",
        "job_categories",
        "difficulty",
        "points",
        "basis",
        "status",
        "version",
        "exam_only",
    )
}

Fail = Callable[[str, str], None]

# Example row code in the template; rows with this code are skipped on import.
EXAMPLE_CODE = "EXAMPLE-001"

_TYPE_NAMES = {
    "single": QuestionType.SINGLE,
    "单选": QuestionType.SINGLE,
    "单选题": QuestionType.SINGLE,
    "单项选择": QuestionType.SINGLE,
    "单项选择题": QuestionType.SINGLE,
    "multiple": QuestionType.MULTIPLE,
    "多选": QuestionType.MULTIPLE,
    "多选题": QuestionType.MULTIPLE,
    "多项选择": QuestionType.MULTIPLE,
    "多项选择题": QuestionType.MULTIPLE,
    "truefalse": QuestionType.TRUEFALSE,
    "判断": QuestionType.TRUEFALSE,
    "判断题": QuestionType.TRUEFALSE,
    "是非": QuestionType.TRUEFALSE,
    "是非题": QuestionType.TRUEFALSE,
}
_STATUS_NAMES = {
    "active": Status.ACTIVE,
    "启用": Status.ACTIVE,
    "有效": Status.ACTIVE,
    "正常": Status.ACTIVE,
    "draft": Status.DRAFT,
    "草稿": Status.DRAFT,
    "retired": Status.RETIRED,
    "停用": Status.RETIRED,
    "退役": Status.RETIRED,
    "作废": Status.RETIRED,
}
_TRUE_WORDS = {"正确", "对", "是", "√", "✓", "✔", "T", "TRUE", "Y"}
_FALSE_WORDS = {"错误", "错", "否", "×", "✗", "✘", "X", "F", "FALSE", "N"}
_JOB_NAMES = {v: k for k, v in JOB_CATEGORIES.items()} | {
    "主要负责人": "principal",
    "负责人": "principal",
    "安全管理人员": "safety_manager",
    "特种作业": "special_ops",
    "从业人员": "general",
    "一般员工": "general",
    "全部": "*",
    "all": "*",
}
_INDUSTRY_NAMES = {v: k for k, v in INDUSTRIES.items()} | {
    "危化": "hazchem",
    "危化品": "hazchem",
    "危险化学品行业": "hazchem",
    "建筑": "construction",
    "全部": "*",
    "all": "*",
}
_LIST_SEP = re.compile(r"[;；,，、\n]+")
_ANSWER_SEP = re.compile(r"[\s,，、;；/]+")


def cell_text(value: Any) -> str:
    """Return a cell value as stripped text; integral floats lose their '.0'."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def parse_record(
    row: int | None, values: Mapping[str, Any], labels: Mapping[str, str], source: str = ""
) -> tuple[Question, list[Problem]]:
    """Convert raw field values (keyed by field name, options as a list) into a Question; valid only if no problems."""
    problems: list[Problem] = []
    bad: set[str] = set()

    def fail(field: str, message: str) -> None:
        bad.add(field.split("[")[0])
        problems.append(Problem(row, labels.get(field, labels.get(field.split("[")[0], field)), message, source))

    code = cell_text(values.get("code"))
    stem = cell_text(values.get("stem"))
    qtype = _parse_type(values.get("type"), fail)
    options = _parse_options(values.get("options"), qtype, fail)
    answer = _parse_answer(values.get("answer"), qtype, fail)
    difficulty = _parse_int(values.get("difficulty"), "difficulty", "难度", None, fail)
    version = _parse_int(values.get("version"), "version", "版本", 1, fail)
    points = _parse_points(values.get("points"), fail)
    industries = _parse_tags(values.get("industries"), _INDUSTRY_NAMES)
    jobs = _parse_tags(values.get("job_categories"), _JOB_NAMES)
    status = _parse_status(values.get("status"), fail)
    exam_only = _parse_flag(values.get("exam_only"), "exam_only", "仅考试", fail)

    question = Question(
        code=code,
        type=qtype or QuestionType.SINGLE,
        stem=stem,
        options=options,
        answer=answer,
        explanation=cell_text(values.get("explanation")),
        category=cell_text(values.get("category")),
        industries=industries,
        job_categories=jobs,
        difficulty=difficulty if difficulty is not None else 3,
        basis=cell_text(values.get("basis")),
        status=status or Status.ACTIVE,
        points=points,
        version=version if version is not None else 1,
        exam_only=exam_only,
    )
    if qtype is None:
        bad.update({"options", "answer"})
    for p in validate_question(question):
        if p.column.split("[")[0] not in bad:
            label = labels.get(p.column, labels.get(p.column.split("[")[0], p.column))
            problems.append(replace(p, row=row, column=label, source=source))
    return question, problems


def _parse_type(value: Any, fail: Fail) -> QuestionType | None:
    """Map 单选/多选/判断 (or English names) to a QuestionType."""
    text = cell_text(value)
    if not text:
        fail("type", "题型不能为空，应为 单选/多选/判断 / type is empty (single/multiple/truefalse)")
        return None
    qtype = _TYPE_NAMES.get(text.lower()) or _TYPE_NAMES.get(text)
    if qtype is None:
        fail("type", f'题型 "{text}" 无效，应为 单选/多选/判断 / unknown type, use single/multiple/truefalse')
    return qtype


def _parse_options(value: Any, qtype: QuestionType | None, fail: Fail) -> tuple[str, ...]:
    """Return options, reporting gaps; true/false questions may leave them blank."""
    raw = list(value) if isinstance(value, (list, tuple)) else ([] if value is None else [value])
    texts = [cell_text(v) for v in raw]
    while texts and not texts[-1]:
        texts.pop()
    if qtype is QuestionType.TRUEFALSE and not texts:
        return TRUEFALSE_OPTIONS
    for i, t in enumerate(texts):
        if not t:
            fail(
                f"options[{i}]",
                f"选项 {LETTERS[i] if i < len(LETTERS) else i + 1} 为空但后面还有选项 / "
                "option is empty but later options are filled",
            )
            break
    return tuple(texts)


def _parse_answer(value: Any, qtype: QuestionType | None, fail: Fail) -> str:
    """Normalise the answer to sorted unique letters; true/false also accepts 正确/错误/对/错."""
    if isinstance(value, (list, tuple)):
        value = "".join(cell_text(v) for v in value)
    text = cell_text(value)
    if qtype is QuestionType.TRUEFALSE:
        upper = text.upper()
        if upper in _TRUE_WORDS:
            return "A"
        if upper in _FALSE_WORDS:
            return "B"
    letters = _ANSWER_SEP.sub("", text).upper()
    letters = letters.translate(str.maketrans("ＡＢＣＤＥＦ", "ABCDEF"))
    if letters and not all(c in LETTERS for c in letters):
        fail(
            "answer",
            f'答案 "{text}" 只能由字母 A-F 组成（判断题可填 正确/错误）/ '
            "answer must be letters A-F (or 正确/错误 for true/false)",
        )
        return ""
    return "".join(sorted(set(letters)))


def _parse_int(value: Any, field: str, zh: str, default: int | None, fail: Fail) -> int | None:
    """Parse an integer cell; blank gives the default (None means required)."""
    text = cell_text(value)
    if not text:
        if default is None:
            fail(field, f"{zh}不能为空 / {field} is empty")
        return default
    try:
        number = float(text)
        if not number.is_integer():
            raise ValueError
        return int(number)
    except ValueError:
        fail(field, f'{zh} "{text}" 必须是整数 / {field} must be an integer')
        return default


def _parse_points(value: Any, fail: Fail) -> float | None:
    """Parse the optional points cell; blank means the rule set's default."""
    text = cell_text(value)
    if not text:
        return None
    try:
        points = float(text)
    except ValueError:
        fail("points", f'分值 "{text}" 必须是数字 / points must be a number')
        return None
    if not points > 0 or points != points or points == float("inf"):
        fail("points", f'分值 "{text}" 必须大于 0 / points must be greater than 0')
        return None
    return points


def _parse_tags(value: Any, names: Mapping[str, str]) -> tuple[str, ...]:
    """Split ';'/'；'-separated tags, mapping Chinese names to codes; '全部' means all (empty)."""
    parts = [cell_text(v) for v in value] if isinstance(value, (list, tuple)) else _LIST_SEP.split(cell_text(value))
    out: list[str] = []
    for part in (p.strip() for p in parts):
        if not part:
            continue
        code = names.get(part) or names.get(part.lower()) or (part.lower() if part.isascii() else part)
        if code == "*":
            return ()
        if code not in out:
            out.append(code)
    return tuple(out)


def _parse_status(value: Any, fail: Fail) -> Status | None:
    """Map 启用/草稿/停用 (or English names) to a Status; blank means active."""
    text = cell_text(value)
    if not text:
        return Status.ACTIVE
    status = _STATUS_NAMES.get(text.lower()) or _STATUS_NAMES.get(text)
    if status is None:
        fail("status", f'状态 "{text}" 无效，应为 启用/草稿/停用 / unknown status, use active/draft/retired')
    return status


_YES_WORDS = {"是", "Y", "YES", "TRUE", "1", "√", "✓", "✔"}
_NO_WORDS = {"否", "N", "NO", "FALSE", "0", "×", "✗", "✘"}


def _parse_flag(value: Any, field: str, zh: str, fail: Fail) -> bool:
    """Map 是/否 (or true/false, 1/0) to a flag; blank, or a file without the column, means 否."""
    if isinstance(value, bool):  # a JSON true/false
        return value
    text = cell_text(value)
    if not text:
        return False
    if text.upper() in _YES_WORDS:
        return True
    if text.upper() not in _NO_WORDS:
        fail(field, f'{zh} "{text}" 无效，应为 是/否 / {field} must be 是 or 否 (yes/no)')
    return False


def sheet_values(row: Sequence[Any], positions: Mapping[str, int]) -> dict[str, Any]:
    """Pick field values from a spreadsheet row using header positions."""

    def get(header: str) -> Any:
        i = positions.get(header)
        return row[i] if i is not None and i < len(row) else None

    values: dict[str, Any] = {f: get(h) for f, h in SHEET_COLUMNS if not f.startswith("options[")}
    values["options"] = [get(h) for h in OPTION_HEADERS]
    return values


def normalise_header(value: Any) -> str:
    """Return a header cell without spaces; English field names map to Chinese headers."""
    text = re.sub(r"\s+", "", cell_text(value))
    text = text.replace("选项Ａ", "选项A")
    if text.lower() in JSON_LABELS:
        return SHEET_LABELS.get(text.lower(), text)
    if re.fullmatch(r"(?i)option_?[a-f]", text):
        return f"选项{text[-1].upper()}"
    if re.fullmatch(r"选项[a-f]", text):
        return text[:2] + text[2].upper()
    return text


def find_header(rows: Sequence[Sequence[Any]], scan: int = 5) -> int | None:
    """Return the 0-based index of the first row (within `scan` rows) holding a 题干 header."""
    for i, row in enumerate(rows[:scan]):
        if any(normalise_header(c) == "题干" for c in row):
            return i
    return None


def header_positions(header_row: Sequence[Any]) -> tuple[dict[str, int], list[Problem]]:
    """Map known headers to column indices; report missing required and duplicated headers."""
    positions: dict[str, int] = {}
    problems: list[Problem] = []
    for i, cell in enumerate(header_row):
        name = normalise_header(cell)
        if not name:
            continue
        if name in positions:
            problems.append(Problem(None, name, f'表头 "{name}" 出现了两次 / header appears twice'))
        else:
            positions[name] = i
    for name in REQUIRED_HEADERS:
        if name not in positions:
            problems.append(Problem(None, name, f'缺少必需的列 "{name}" / required column missing'))
    return positions, problems


def sheet_row(q: Question) -> list[Any]:
    """Return a question as a spreadsheet row in SHEET_HEADERS order."""
    options = list(q.options) + [""] * (len(LETTERS) - len(q.options))
    return [
        q.code,
        q.type.label,
        q.stem,
        *options[: len(LETTERS)],
        q.answer,
        q.explanation,
        q.category,
        ";".join(INDUSTRIES.get(i, i) for i in q.industries),
        ";".join(JOB_CATEGORIES.get(j, j) for j in q.job_categories),
        q.difficulty,
        "" if q.points is None else _number(q.points),
        q.basis,
        q.status.label,
        q.version,
        "是" if q.exam_only else "否",
    ]


def _number(value: float) -> float | int:
    """Return integral floats as ints so spreadsheets show 2, not 2.0."""
    return int(value) if float(value).is_integer() else value
