"""Question model, reference vocabularies and structural validation."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from enum import Enum
from typing import Any

LETTERS = "ABCDEF"
MAX_OPTIONS = len(LETTERS)
TRUEFALSE_OPTIONS = ("正确", "错误")

JOB_CATEGORIES: dict[str, str] = {
    "principal": "主要负责人",
    "safety_manager": "安全生产管理人员",
    "special_ops": "特种作业人员",
    "general": "一般从业人员",
}
# Same codes as the server's industry table; other lowercase codes are accepted too.
INDUSTRIES: dict[str, str] = {
    "hazchem": "危险化学品",
    "noncoal_mine": "非煤矿山",
    "metallurgy": "冶金",
    "construction": "建筑施工",
    "fireworks": "烟花爆竹",
    "nonferrous": "有色金属",
    "building_materials": "建材",
    "machinery": "机械",
    "light_industry": "轻工",
    "textile": "纺织",
    "tobacco": "烟草",
    "commerce": "商贸",
    "road_transport": "道路运输",
    "gas": "城镇燃气",
    "dust_explosion": "粉尘涉爆",
    "ammonia_refrigeration": "涉氨制冷",
    "power": "电力",
    "warehousing_logistics": "仓储物流",
    "crowded_places": "人员密集场所",
}
_INDUSTRY_CODE_RE = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
# The server stores codes in String(32); no control character (PostgreSQL refuses NUL in text).
_CODE_RE = re.compile(r"^[^\s\x00-\x1f\x7f]{1,32}$")
# Characters that XLSX cannot store or PostgreSQL refuses (NUL), and DEL; tab and line breaks are text.
# The server's rule for multi-line text people send (exam_server/plaintext.py) is this one.
CONTROL_CHARACTERS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
# Column sizes of the server's question table.
_MAX_LENGTHS = {"category": 64, "basis": 255}


class QuestionType(str, Enum):
    SINGLE = "single"
    MULTIPLE = "multiple"
    TRUEFALSE = "truefalse"

    @property
    def label(self) -> str:
        """Return the Chinese label used in spreadsheets (单选/多选/判断)."""
        return {"single": "单选", "multiple": "多选", "truefalse": "判断"}[self.value]

    @property
    def english(self) -> str:
        """Return the English name used in messages."""
        return {"single": "single choice", "multiple": "multiple choice", "truefalse": "true/false"}[self.value]


class Status(str, Enum):
    DRAFT = "draft"
    ACTIVE = "active"
    RETIRED = "retired"

    @property
    def label(self) -> str:
        """Return the Chinese label used in spreadsheets."""
        return {"draft": "草稿", "active": "启用", "retired": "停用"}[self.value]


@dataclass(frozen=True)
class Problem:
    """One validation problem; row is 1-based as the administrator sees it, None for file-level."""

    row: int | None
    column: str
    message: str
    source: str = ""

    def __str__(self) -> str:
        parts = []
        if self.source:
            parts.append(self.source)
        if self.row is not None:
            parts.append(f"row {self.row}")
        if self.column:
            parts.append(f"column {self.column}")
        prefix = ", ".join(parts)
        return f"{prefix}: {self.message}" if prefix else self.message

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready dict."""
        return {"row": self.row, "column": self.column, "message": self.message, "source": self.source}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Problem:
        """Build from a dict made by to_dict."""
        return cls(data.get("row"), data.get("column", ""), data["message"], data.get("source", ""))


@dataclass(frozen=True)
class Question:
    """One exam question; answer holds sorted option letters by position, e.g. "ACD"."""

    code: str
    type: QuestionType
    stem: str
    options: tuple[str, ...]
    answer: str
    explanation: str = ""
    category: str = ""
    industries: tuple[str, ...] = ()
    job_categories: tuple[str, ...] = ()
    difficulty: int = 3
    basis: str = ""
    status: Status = Status.ACTIVE
    points: float | None = None
    version: int = 1
    # Kept for real papers: never drawn for practice or mock exams, never shown outside an exam.
    exam_only: bool = False

    @property
    def correct_indices(self) -> tuple[int, ...]:
        """Return the 0-based indices of the correct options."""
        return tuple(LETTERS.index(c) for c in self.answer if c in LETTERS)

    @property
    def stem_key(self) -> str:
        """Return the normalised stem used to detect duplicates."""
        return stem_key(self.stem)

    def with_changes(self, **changes: Any) -> Question:
        """Return a copy with the given fields replaced."""
        return replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        """Return the bundled JSON representation."""
        return {
            "code": self.code,
            "type": self.type.value,
            "stem": self.stem,
            "options": list(self.options),
            "answer": self.answer,
            "explanation": self.explanation,
            "category": self.category,
            "industries": list(self.industries),
            "job_categories": list(self.job_categories),
            "difficulty": self.difficulty,
            "basis": self.basis,
            "status": self.status.value,
            "points": self.points,
            "version": self.version,
            # Written only when set, so files of banks without the flag read and write as before.
            **({"exam_only": True} if self.exam_only else {}),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Question:
        """Build from the bundled JSON representation; raises ValueError/KeyError on bad types."""
        points = data.get("points")
        return cls(
            code=str(data["code"]),
            type=QuestionType(data["type"]),
            stem=str(data["stem"]),
            options=tuple(str(o) for o in data.get("options") or ()),
            answer=str(data["answer"]),
            explanation=str(data.get("explanation") or ""),
            category=str(data.get("category") or ""),
            industries=tuple(data.get("industries") or ()),
            job_categories=tuple(data.get("job_categories") or ()),
            difficulty=int(data.get("difficulty", 3)),
            basis=str(data.get("basis") or ""),
            status=Status(data.get("status") or "active"),
            points=None if points is None else float(points),
            version=int(data.get("version") or 1),
            exam_only=bool(data.get("exam_only", False)),
        )


def stem_key(stem: str) -> str:
    """Return a stem normalised for duplicate detection (width, case, spaces, end punctuation)."""
    text = unicodedata.normalize("NFKC", stem).casefold()
    text = re.sub(r"\s+", "", text)
    return text.rstrip("。.？?！!：:")


def validate_question(q: Question) -> list[Problem]:
    """Check one question's structure; problems name the field in `column`, row is None."""
    return [*_validate_text(q), *_validate_options(q), *_validate_answer(q), *_validate_figures_and_codes(q)]


def _validate_text(q: Question) -> list[Problem]:
    """Check the code, the required texts, control characters and lengths."""
    problems: list[Problem] = []

    def add(column: str, message: str) -> None:
        problems.append(Problem(None, column, message))

    if not q.code.strip():
        add("code", "编号不能为空 / code is empty")
    elif not _CODE_RE.match(q.code):
        add("code", f"编号 {q.code!r} 不能含空白或控制字符且不超过 32 字符 / code: no spaces or controls, max 32 chars")
    if not q.stem.strip():
        add("stem", "题干不能为空 / stem is empty")
    if not q.category.strip():
        add("category", "分类不能为空 / category is empty")
    for name in ("stem", "explanation", "category", "basis"):
        if CONTROL_CHARACTERS.search(getattr(q, name)):
            add(name, "含有不可见控制字符 / contains control characters")
    for name, limit in _MAX_LENGTHS.items():
        if len(getattr(q, name)) > limit:
            add(name, f"长度 {len(getattr(q, name))} 超过上限 {limit} 字 / longer than {limit} characters")
    return problems


def _validate_figures_and_codes(q: Question) -> list[Problem]:
    """Check difficulty, points, version, industry and job codes, and status."""
    problems: list[Problem] = []

    def add(column: str, message: str) -> None:
        problems.append(Problem(None, column, message))

    if isinstance(q.difficulty, bool) or not isinstance(q.difficulty, int) or not 1 <= q.difficulty <= 5:
        add("difficulty", f'难度 "{q.difficulty}" 必须是 1-5 的整数 / difficulty must be an integer 1-5')
    if q.points is not None and not (isinstance(q.points, (int, float)) and q.points > 0):
        add("points", f'分值 "{q.points}" 必须大于 0 / points must be greater than 0')
    if not isinstance(q.version, int) or q.version < 1:
        add("version", f'版本 "{q.version}" 必须是正整数 / version must be a positive integer')
    for ind in q.industries:
        if not _INDUSTRY_CODE_RE.match(str(ind)):
            add("industries", f'行业代码 "{ind}" 无效（应为小写字母代码，如 hazchem）/ invalid industry code')
    for job in q.job_categories:
        if job not in JOB_CATEGORIES:
            add("job_categories", f'岗位 "{job}" 无效，可选 {"/".join(JOB_CATEGORIES)} / unknown job category')
    if not isinstance(q.status, Status):
        add("status", f'状态 "{q.status}" 无效 / unknown status')
    return problems


def _validate_options(q: Question) -> list[Problem]:
    """Check option count, emptiness and uniqueness for the question type."""
    problems: list[Problem] = []
    opts = q.options
    if q.type is QuestionType.TRUEFALSE:
        if tuple(opts) != TRUEFALSE_OPTIONS:
            problems.append(
                Problem(None, "options", '判断题选项必须是 "正确"、"错误" / true/false options must be ["正确","错误"]')
            )
        return problems
    minimum = 3 if q.type is QuestionType.MULTIPLE else 2
    if len(opts) < minimum:
        problems.append(
            Problem(
                None,
                "options",
                f"{q.type.label}题至少需要 {minimum} 个选项，现有 {len(opts)} 个 / "
                f"{q.type.english} needs at least {minimum} options, has {len(opts)}",
            )
        )
    if len(opts) > MAX_OPTIONS:
        problems.append(
            Problem(
                None, "options", f"最多 {MAX_OPTIONS} 个选项 (A-F)，现有 {len(opts)} 个 / at most {MAX_OPTIONS} options"
            )
        )
    seen: dict[str, int] = {}
    for i, opt in enumerate(opts[:MAX_OPTIONS]):
        col = f"options[{i}]"
        if not str(opt).strip():
            problems.append(Problem(None, col, f"选项 {LETTERS[i]} 为空 / option {LETTERS[i]} is empty"))
            continue
        if CONTROL_CHARACTERS.search(opt):
            problems.append(Problem(None, col, "含有不可见控制字符 / contains control characters"))
        key = stem_key(opt)
        if key in seen:
            j = seen[key]
            problems.append(
                Problem(
                    None,
                    col,
                    f"选项 {LETTERS[i]} 与选项 {LETTERS[j]} 重复 / option {LETTERS[i]} duplicates option {LETTERS[j]}",
                )
            )
        else:
            seen[key] = i
    return problems


def _validate_answer(q: Question) -> list[Problem]:
    """Check the answer letters against the options and the question type."""
    ans = q.answer
    n = min(len(q.options), MAX_OPTIONS)
    if not ans:
        return [Problem(None, "answer", "答案不能为空 / answer is empty")]
    if not all(c in LETTERS for c in ans):
        return [Problem(None, "answer", f'答案 "{ans}" 只能由字母 A-F 组成 / answer must be letters A-F')]
    rng = f"A-{LETTERS[n - 1]}" if n else "(none)"
    outside = [c for c in ans if LETTERS.index(c) >= n]
    if outside:
        bad = "".join(outside)
        return [Problem(None, "answer", f'答案 "{bad}" 不在选项 {rng} 中 / "{bad}" is not among the options {rng}')]
    if len(set(ans)) != len(ans) or "".join(sorted(ans)) != ans:
        return [
            Problem(
                None,
                "answer",
                f'答案 "{ans}" 须按字母顺序且不重复，如 "ACD" / answer letters must be sorted and unique',
            )
        ]
    if q.type is QuestionType.MULTIPLE and len(ans) < 2:
        return [
            Problem(
                None,
                "answer",
                f'多选题至少需要两个正确选项，现为 "{ans}" / multiple choice needs at least two correct options',
            )
        ]
    if q.type in (QuestionType.SINGLE, QuestionType.TRUEFALSE) and len(ans) != 1:
        return [
            Problem(
                None,
                "answer",
                f'{q.type.label}题只能有一个正确答案，现为 "{ans}" / '
                f"{q.type.english} must have exactly one correct option",
            )
        ]
    return []


def find_duplicates(
    entries: Sequence[tuple[str, int | None, Question]],
    existing_codes: Iterable[str] = (),
    existing_stems: Iterable[str] = (),
) -> list[Problem]:
    """Report duplicate codes/stems among (source, row, question) entries and against existing ones."""
    problems: list[Problem] = []
    codes = set(existing_codes)
    stems = {stem_key(s) for s in existing_stems}
    seen_code: dict[str, tuple[str, int | None]] = {}
    seen_stem: dict[str, tuple[str, int | None]] = {}
    for source, row, q in entries:
        key = q.stem_key
        if q.code in seen_code:
            where = _where(seen_code[q.code], source)
            problems.append(
                Problem(row, "code", f'编号 "{q.code}" 与{where[0]}重复 / duplicate code, same as {where[1]}', source)
            )
        elif q.code in codes:
            problems.append(
                Problem(row, "code", f'编号 "{q.code}" 已存在于题库 / code already exists in the bank', source)
            )
        elif q.code:
            seen_code[q.code] = (source, row)
        if key in seen_stem:
            where = _where(seen_stem[key], source)
            problems.append(Problem(row, "stem", f"题干与{where[0]}重复 / duplicate stem, same as {where[1]}", source))
        elif key and key in stems:
            problems.append(Problem(row, "stem", "题干与题库中已有题目重复 / stem already exists in the bank", source))
        elif key:
            seen_stem[key] = (source, row)
    return problems


def _where(first: tuple[str, int | None], source: str) -> tuple[str, str]:
    """Describe where the first occurrence was, in Chinese and English."""
    src, row = first
    zh = f"第 {row} 行" if row is not None else "前文"
    en = f"row {row}" if row is not None else "an earlier entry"
    if src and src != source:
        zh, en = f"{src} {zh}", f"{src} {en}"
    return zh, en


def validate_bank(questions: Sequence[Question], source: str = "") -> list[Problem]:
    """Validate every question plus duplicate codes and stems; rows are 1-based positions."""
    problems: list[Problem] = []
    for i, q in enumerate(questions, start=1):
        problems.extend(replace(p, row=i, source=source) for p in validate_question(q))
    problems.extend(find_duplicates([(source, i, q) for i, q in enumerate(questions, start=1)]))
    return problems
