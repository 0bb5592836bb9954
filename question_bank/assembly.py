"""Paper assembly (组卷): rule sets, an indexed bank and seeded, shuffled draws."""

from __future__ import annotations

import json
import os
import random
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .model import JOB_CATEGORIES, LETTERS, Question, QuestionType, Status

PARTIAL_CREDIT_POLICIES = ("none", "proportional")
TYPE_ORDER = (QuestionType.SINGLE, QuestionType.MULTIPLE, QuestionType.TRUEFALSE)
_ALL_JOBS = frozenset(JOB_CATEGORIES)
# Options that refer to other options ("以上都对", "A和B") lose their meaning when shuffled.
_POSITIONAL_OPTION = re.compile(
    r"(以上|上述)(都|均|全|各|皆|说法|选项|答案)|(都|均)不(对|是|正确)|(?<![A-Za-z])[A-F]\s*[和与及、,，]\s*[A-F](?![A-Za-z])"
)


class AssemblyError(Exception):
    """The bank cannot satisfy a rule set; `shortfalls` lists every unmet rule."""

    def __init__(self, shortfalls: Sequence[str]):
        self.shortfalls = list(shortfalls)
        super().__init__(
            "题库无法满足组卷规则 / bank cannot satisfy the rule set:\n" + "\n".join(f"- {s}" for s in self.shortfalls)
        )


@dataclass(frozen=True)
class Rule:
    """Draw `count` questions of `type` in `category` (None = any) with difficulty lo..hi."""

    type: QuestionType
    count: int
    category: str | None = None
    difficulty: tuple[int, int] = (1, 5)

    def matches(self, q: Question) -> bool:
        """Tell whether a question falls under this rule (ignoring eligibility)."""
        lo, hi = self.difficulty
        return (
            q.type is self.type and lo <= q.difficulty <= hi and (self.category is None or q.category == self.category)
        )

    def overlaps(self, other: Rule) -> bool:
        """Tell whether some question could match both rules."""
        return (
            self.type is other.type
            and (self.category is None or other.category is None or self.category == other.category)
            and self.difficulty[0] <= other.difficulty[1]
            and other.difficulty[0] <= self.difficulty[1]
        )

    def describe(self) -> tuple[str, str]:
        """Return (Chinese, English) descriptions like 'category 危险化学品, multiple choice, difficulty 4-5'."""
        lo, hi = self.difficulty
        band = "any" if (lo, hi) == (1, 5) else (str(lo) if lo == hi else f"{lo}-{hi}")
        cat_zh = self.category or "任意"
        cat_en = self.category or "any"
        band_zh = "不限" if band == "any" else band
        return (
            f"分类 {cat_zh}，{self.type.label}题，难度 {band_zh}",
            f"category {cat_en}, {self.type.english}, difficulty {band}",
        )

    def to_dict(self) -> dict[str, Any]:
        """Return the JSON form used in rule set files."""
        lo, hi = self.difficulty
        band = "any" if (lo, hi) == (1, 5) else (str(lo) if lo == hi else f"{lo}-{hi}")
        return {"category": self.category, "type": self.type.value, "difficulty": band, "count": self.count}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Rule:
        """Build from JSON; difficulty may be "any", "3", "4-5", 3 or [4, 5]."""
        category = (data.get("category") or "").strip()
        if category in ("", "*", "any", "任意"):
            category = None
        return cls(
            type=QuestionType(data["type"]),
            count=int(data["count"]),
            category=category,
            difficulty=parse_band(data.get("difficulty", "any")),
        )


def parse_band(value: Any) -> tuple[int, int]:
    """Parse a difficulty band: "any", "3", "4-5", 3 or [4, 5]."""
    if value is None or value == "any":
        return (1, 5)
    if isinstance(value, int):
        return (value, value)
    if isinstance(value, (list, tuple)) and len(value) == 2:
        return (int(value[0]), int(value[1]))
    text = str(value).strip()
    if "-" in text:
        lo, hi = text.split("-", 1)
        return (int(lo), int(hi))
    return (int(text), int(text))


@dataclass(frozen=True)
class RuleSet:
    """Rules for one exam type (industry x job category); None means not specific."""

    id: str
    name: str
    rules: tuple[Rule, ...]
    points: Mapping[QuestionType, float]
    pass_mark: float
    duration_minutes: int
    industry: str | None = None
    job_category: str | None = None
    partial_credit: str = "none"
    group_by_type: bool = True
    shuffle_options: bool = True
    version: int = 1

    def __post_init__(self) -> None:
        problems = self.problems()
        if problems:
            raise ValueError(f"组卷规则 {self.id} 无效 / invalid rule set {self.id}: " + "; ".join(problems))

    @property
    def question_count(self) -> int:
        """Return the number of questions a paper will have."""
        return sum(r.count for r in self.rules)

    @property
    def nominal_points(self) -> float:
        """Return the paper total when no question overrides its points."""
        return sum(r.count * self.points[r.type] for r in self.rules)

    def problems(self) -> list[str]:
        """Return structural problems: bad counts/bands/points, overlapping rules, unreachable pass mark."""
        out: list[str] = []
        if not self.rules:
            out.append("没有规则 / no rules")
        for i, r in enumerate(self.rules, start=1):
            lo, hi = r.difficulty
            if r.count < 1:
                out.append(f"第 {i} 条规则题数须至少为 1 / rule {i}: count must be >= 1")
            if not 1 <= lo <= hi <= 5:
                out.append(f"第 {i} 条规则难度 {lo}-{hi} 须在 1-5 之内 / rule {i}: difficulty band must lie within 1-5")
            if not self.points.get(r.type, 0) > 0:
                out.append(f"第 {i} 条规则的题型没有设置分值 / rule {i}: no positive points for type {r.type.value}")
            for j, other in enumerate(self.rules[: i - 1], start=1):
                if r.overlaps(other):
                    out.append(
                        f"第 {j} 条与第 {i} 条规则范围重叠 / rules {j} and {i} overlap "
                        f"({other.describe()[1]} / {r.describe()[1]})"
                    )
        if self.partial_credit not in PARTIAL_CREDIT_POLICIES:
            out.append(
                f"partial_credit 须为 {'/'.join(PARTIAL_CREDIT_POLICIES)} / "
                f"partial_credit must be one of {PARTIAL_CREDIT_POLICIES}"
            )
        if self.duration_minutes <= 0:
            out.append("考试时长须大于 0 / duration_minutes must be positive")
        if not out and not 0 < self.pass_mark <= self.nominal_points:
            out.append(
                f"及格分 {self.pass_mark:g} 须在 0 与满分 {self.nominal_points:g} 之间 / "
                f"pass_mark {self.pass_mark:g} must be within (0, {self.nominal_points:g}]"
            )
        if self.job_category is not None and self.job_category not in JOB_CATEGORIES:
            out.append(f"未知岗位 / unknown job_category {self.job_category}")
        return out

    def to_dict(self) -> dict[str, Any]:
        """Return the JSON form used in rule set files."""
        return {
            "id": self.id,
            "name": self.name,
            "version": self.version,
            "industry": self.industry,
            "job_category": self.job_category,
            "duration_minutes": self.duration_minutes,
            "pass_mark": self.pass_mark,
            "points": {t.value: p for t, p in self.points.items()},
            "partial_credit": self.partial_credit,
            "group_by_type": self.group_by_type,
            "shuffle_options": self.shuffle_options,
            "rules": [r.to_dict() for r in self.rules],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> RuleSet:
        """Build from JSON; raises ValueError for an invalid rule set."""
        rules = []
        for i, r in enumerate(data.get("rules") or (), start=1):
            try:
                rules.append(Rule.from_dict(r))
            except (KeyError, ValueError, TypeError, AttributeError) as exc:
                raise ValueError(f"第 {i} 条规则无效 / rule {i} is invalid: {exc!r}") from exc
        try:
            points = {QuestionType(k): float(v) for k, v in data["points"].items()}
        except (KeyError, ValueError, TypeError, AttributeError) as exc:
            raise ValueError(f"各题型分值 points 无效 / invalid points per type: {exc!r}") from exc
        try:
            return cls._build(data, tuple(rules), points)
        except (KeyError, TypeError, AttributeError) as exc:
            raise ValueError(f"组卷规则缺少或含有无效字段 / rule set has a missing or invalid field: {exc!r}") from exc

    @classmethod
    def _build(cls, data: Mapping[str, Any], rules: tuple[Rule, ...], points: dict[QuestionType, float]) -> RuleSet:
        """Construct from already-parsed rules and points."""
        return cls(
            id=str(data["id"]),
            name=str(data.get("name") or data["id"]),
            rules=rules,
            points=points,
            pass_mark=float(data["pass_mark"]),
            duration_minutes=int(data["duration_minutes"]),
            industry=data.get("industry"),
            job_category=data.get("job_category"),
            partial_credit=data.get("partial_credit", "none"),
            group_by_type=bool(data.get("group_by_type", True)),
            shuffle_options=bool(data.get("shuffle_options", True)),
            version=int(data.get("version", 1)),
        )

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> RuleSet:
        """Load a rule set from a JSON file."""
        return cls.from_dict(json.loads(Path(path).read_text(encoding="utf-8")))


def eligible(q: Question, industry: str | None, job_category: str | None) -> bool:
    """Tell whether an active question may appear in an exam for this industry and job category."""
    if q.status is not Status.ACTIVE:
        return False
    if q.industries and industry not in q.industries:
        return False
    jobs = q.job_categories
    return not jobs or _ALL_JOBS.issubset(jobs) or job_category in jobs


class IndexedBank:
    """Active questions indexed by (category, type, difficulty); build once, assemble many times."""

    def __init__(self, questions: Iterable[Question]):
        # Sorting by code makes draws independent of the order the caller loaded questions in.
        self.questions: tuple[Question, ...] = tuple(
            sorted((q for q in questions if q.status is Status.ACTIVE), key=lambda q: q.code)
        )
        self._cells: dict[tuple[str, QuestionType, int], list[Question]] = {}
        for q in self.questions:
            self._cells.setdefault((q.category, q.type, q.difficulty), []).append(q)
        self._cache: dict[tuple[Rule, str | None, str | None], tuple[Question, ...]] = {}
        self._categories: dict[tuple[str | None, str | None], tuple[str, ...]] = {}
        self._by_code: dict[str, Question] | None = None

    def __len__(self) -> int:
        return len(self.questions)

    def for_practice(self) -> IndexedBank:
        """Return the bank practice and mock exams draw from: every question except the exam-only ones."""
        return IndexedBank(q for q in self.questions if not q.exam_only)

    def categories(self, industry: str | None = None, job_category: str | None = None) -> list[str]:
        """Return the categories holding a question eligible for this industry and job category, sorted (cached)."""
        key = (industry, job_category)
        found = self._categories.get(key)
        if found is None:
            found = tuple(sorted({q.category for q in self.questions if eligible(q, industry, job_category)}))
            self._categories[key] = found
        return list(found)

    def get(self, code: str) -> Question | None:
        """Return the bank's question of this code, or None."""
        if self._by_code is None:
            self._by_code = {q.code: q for q in self.questions}
        return self._by_code.get(code)

    def candidates(
        self, rule: Rule, industry: str | None = None, job_category: str | None = None
    ) -> tuple[Question, ...]:
        """Return the eligible questions matching a rule, in code order (cached)."""
        key = (rule, industry, job_category)
        found = self._cache.get(key)
        if found is None:
            lo, hi = rule.difficulty
            cells = [
                qs
                for (cat, t, d), qs in self._cells.items()
                if t is rule.type and lo <= d <= hi and (rule.category is None or cat == rule.category)
            ]
            found = tuple(
                sorted((q for qs in cells for q in qs if eligible(q, industry, job_category)), key=lambda q: q.code)
            )
            self._cache[key] = found
        return found


@dataclass(frozen=True)
class PaperItem:
    """One question as presented: `order[i]` is the original index of presented option i."""

    number: int
    code: str
    version: int
    type: QuestionType
    stem: str
    options: tuple[str, ...]
    order: tuple[int, ...]
    answer: str
    points: float
    category: str = ""
    difficulty: int = 3
    explanation: str = ""
    basis: str = ""

    def to_original(self, letters: str) -> str:
        """Map presented option letters to the question's original letters."""
        return "".join(sorted(LETTERS[self.order[LETTERS.index(c)]] for c in letters))

    def to_presented(self, letters: str) -> str:
        """Map original option letters to presented letters."""
        return "".join(sorted(LETTERS[self.order.index(LETTERS.index(c))] for c in letters))

    def public_dict(self) -> dict[str, Any]:
        """Return what the worker's screen may show: no answer, explanation or mapping."""
        return {
            "number": self.number,
            "code": self.code,
            "type": self.type.value,
            "stem": self.stem,
            "options": list(self.options),
            "points": self.points,
        }

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready dict (includes the answer: keep server-side)."""
        return {
            "number": self.number,
            "code": self.code,
            "version": self.version,
            "type": self.type.value,
            "stem": self.stem,
            "options": list(self.options),
            "order": list(self.order),
            "answer": self.answer,
            "points": self.points,
            "category": self.category,
            "difficulty": self.difficulty,
            "explanation": self.explanation,
            "basis": self.basis,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> PaperItem:
        """Build from a dict made by to_dict."""
        return cls(
            number=int(data["number"]),
            code=data["code"],
            version=int(data.get("version", 1)),
            type=QuestionType(data["type"]),
            stem=data["stem"],
            options=tuple(data["options"]),
            order=tuple(int(i) for i in data["order"]),
            answer=data["answer"],
            points=float(data["points"]),
            category=data.get("category", ""),
            difficulty=int(data.get("difficulty", 3)),
            explanation=data.get("explanation", ""),
            basis=data.get("basis", ""),
        )


@dataclass(frozen=True)
class Paper:
    """An assembled paper for one worker; store it with the sitting so grading never needs the bank."""

    ruleset_id: str
    seed: int | str
    items: tuple[PaperItem, ...]
    pass_mark: float
    duration_minutes: int
    partial_credit: str = "none"
    title: str = ""
    ruleset_version: int = 1

    @property
    def total_points(self) -> float:
        """Return the maximum score."""
        return round(sum(i.points for i in self.items), 2)

    def item(self, key: str | int) -> PaperItem:
        """Return an item by question code or 1-based number; raises KeyError."""
        for it in self.items:
            if it.code == key or it.number == key:
                return it
        raise KeyError(key)

    def public_dict(self) -> dict[str, Any]:
        """Return what the worker's screen may show (no answers)."""
        return {
            "title": self.title,
            "duration_minutes": self.duration_minutes,
            "pass_mark": self.pass_mark,
            "total_points": self.total_points,
            "items": [i.public_dict() for i in self.items],
        }

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready dict including answers (keep server-side)."""
        return {
            "ruleset_id": self.ruleset_id,
            "ruleset_version": self.ruleset_version,
            "seed": self.seed,
            "title": self.title,
            "pass_mark": self.pass_mark,
            "duration_minutes": self.duration_minutes,
            "partial_credit": self.partial_credit,
            "total_points": self.total_points,
            "items": [i.to_dict() for i in self.items],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Paper:
        """Build from a dict made by to_dict."""
        return cls(
            ruleset_id=data["ruleset_id"],
            seed=data["seed"],
            items=tuple(PaperItem.from_dict(i) for i in data["items"]),
            pass_mark=float(data["pass_mark"]),
            duration_minutes=int(data["duration_minutes"]),
            partial_credit=data.get("partial_credit", "none"),
            title=data.get("title", ""),
            ruleset_version=int(data.get("ruleset_version", 1)),
        )


def shortfalls(
    bank: IndexedBank, ruleset: RuleSet, *, industry: str | None = None, job_category: str | None = None
) -> list[str]:
    """Return one bilingual message per rule the bank cannot satisfy (empty when assemble will succeed)."""
    industry, job_category = ruleset.industry or industry, ruleset.job_category or job_category
    out = []
    for rule in ruleset.rules:
        have = len(bank.candidates(rule, industry, job_category))
        if have < rule.count:
            zh, en = rule.describe()
            out.append(f"{zh}：需要 {rule.count} 题，题库仅有 {have} 题 / {en}: need {rule.count}, bank has {have}")
    return out


def assemble(
    bank: IndexedBank | Iterable[Question],
    ruleset: RuleSet,
    seed: int | str,
    *,
    industry: str | None = None,
    job_category: str | None = None,
) -> Paper:
    """Draw a paper reproducibly from `seed`, shuffling question and option order; raises AssemblyError.

    `industry`/`job_category` (the worker's) widen eligibility only where the rule set leaves them
    open (None): then questions tagged for that industry or job may be drawn too. When questions
    carry their own points the pass mark is scaled by total / nominal points.
    """
    if not isinstance(bank, IndexedBank):
        bank = IndexedBank(bank)
    missing = shortfalls(bank, ruleset, industry=industry, job_category=job_category)
    if missing:
        raise AssemblyError(missing)
    industry, job_category = ruleset.industry or industry, ruleset.job_category or job_category
    rng = random.Random(seed)
    drawn: list[Question] = []
    for rule in ruleset.rules:
        drawn.extend(rng.sample(bank.candidates(rule, industry, job_category), rule.count))
    rng.shuffle(drawn)
    if ruleset.group_by_type:
        drawn.sort(key=lambda q: TYPE_ORDER.index(q.type))
    items = tuple(_present(n, q, ruleset, rng) for n, q in enumerate(drawn, start=1))
    total = sum(i.points for i in items)
    pass_mark = ruleset.pass_mark
    if abs(total - ruleset.nominal_points) > 1e-9:
        # Questions with their own points change the total; keep the pass mark's share of it fair.
        pass_mark = round(pass_mark * total / ruleset.nominal_points, 2)
    return Paper(
        ruleset_id=ruleset.id,
        seed=seed,
        items=items,
        pass_mark=pass_mark,
        duration_minutes=ruleset.duration_minutes,
        partial_credit=ruleset.partial_credit,
        title=ruleset.name,
        ruleset_version=ruleset.version,
    )


def _present(number: int, q: Question, ruleset: RuleSet, rng: random.Random) -> PaperItem:
    """Build a PaperItem with options shuffled unless order carries meaning."""
    order = list(range(len(q.options)))
    if ruleset.shuffle_options and q.type is not QuestionType.TRUEFALSE and not keeps_option_order(q):
        rng.shuffle(order)
    correct = set(q.correct_indices)
    answer = "".join(LETTERS[i] for i, orig in enumerate(order) if orig in correct)
    return PaperItem(
        number=number,
        code=q.code,
        version=q.version,
        type=q.type,
        stem=q.stem,
        options=tuple(q.options[i] for i in order),
        order=tuple(order),
        answer=answer,
        points=q.points if q.points is not None else ruleset.points[q.type],
        category=q.category,
        difficulty=q.difficulty,
        explanation=q.explanation,
        basis=q.basis,
    )


def keeps_option_order(q: Question) -> bool:
    """Tell whether a question's options refer to each other ("以上都对", "A和B") and must not move."""
    return any(_POSITIONAL_OPTION.search(o) for o in q.options)


def draw_practice(
    bank: IndexedBank,
    category: str,
    seed: int | str,
    *,
    industry: str | None = None,
    job_category: str | None = None,
    avoid: Iterable[str] = (),
) -> PaperItem:
    """Draw one practice question of a category through `assemble`, preferring codes not in `avoid`.

    The bank must be `for_practice()`: the draw follows the papers' eligibility and option shuffling.
    The type is drawn in proportion to how many eligible questions of each type the category holds.
    """
    rng = random.Random(seed)
    avoided = frozenset(avoid)
    by_type = {t: bank.candidates(Rule(t, 1, category), industry, job_category) for t in TYPE_ORDER}
    fresh = {t: [q for q in qs if q.code not in avoided] for t, qs in by_type.items()}
    pool = fresh if any(fresh.values()) else {t: list(qs) for t, qs in by_type.items()}
    weighted = [t for t, qs in pool.items() for _ in qs]
    if not weighted:
        raise AssemblyError([f"分类 {category} 没有可练习的题目 / category {category} has no practice questions"])
    chosen_type = rng.choice(weighted)
    # A bank of the candidates of that type keeps the choice inside `assemble` and the papers' rules.
    narrowed = IndexedBank(pool[chosen_type])
    paper = assemble(narrowed, _one_question(chosen_type, category), seed, industry=industry, job_category=job_category)
    return present(bank, paper.items[0].code, seed, industry=industry, job_category=job_category)


def present(
    bank: IndexedBank, code: str, seed: int | str, *, industry: str | None = None, job_category: str | None = None
) -> PaperItem:
    """Present one eligible question of the bank as a paper would (options shuffled by `seed`); raises KeyError."""
    question = bank.get(code)
    if question is None or not eligible(question, industry, job_category):
        raise KeyError(code)
    return _present(1, question, _one_question(question.type, question.category), random.Random(seed))


def _one_question(qtype: QuestionType, category: str) -> RuleSet:
    """Return the rule set of a one-question practice draw (one point, no time that counts)."""
    return RuleSet(
        id="practice",
        name=f"{category}练习",
        rules=(Rule(qtype, 1, category),),
        points=dict.fromkeys(TYPE_ORDER, 1.0),
        pass_mark=1,
        duration_minutes=1,
    )
