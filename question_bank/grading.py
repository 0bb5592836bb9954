"""Grading of a worker's responses against an assembled paper."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, TypeAlias

from .assembly import PARTIAL_CREDIT_POLICIES, Paper, PaperItem
from .model import LETTERS, QuestionType

_SEPARATORS = re.compile(r"[\s,，、;；/]+")
# Scores are rounded to 2 decimals; the pass check allows for float noise below that.
_EPS = 1e-6

Response: TypeAlias = str | Iterable[str] | None
# Keyed by question code or by item number; a Mapping's key type is invariant, so each keying is named.
Responses: TypeAlias = Mapping[str, Response] | Mapping[int, Response] | Mapping[str | int, Response]


@dataclass(frozen=True)
class ItemGrade:
    """Score for one item; `response` is in presented letters, `response_original` in the bank's."""

    number: int
    code: str
    type: QuestionType
    response: str
    response_original: str
    answer: str
    correct: bool
    points_awarded: float
    points_possible: float

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready dict."""
        return {
            "number": self.number,
            "code": self.code,
            "type": self.type.value,
            "response": self.response,
            "response_original": self.response_original,
            "answer": self.answer,
            "correct": self.correct,
            "points_awarded": self.points_awarded,
            "points_possible": self.points_possible,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ItemGrade:
        """Build from a dict made by to_dict."""
        return cls(
            int(data["number"]),
            data["code"],
            QuestionType(data["type"]),
            data["response"],
            data.get("response_original", ""),
            data.get("answer", ""),
            bool(data["correct"]),
            float(data["points_awarded"]),
            float(data["points_possible"]),
        )


@dataclass(frozen=True)
class GradeResult:
    """A graded sitting: per-item grades, total, and pass/fail."""

    items: tuple[ItemGrade, ...]
    total: float
    max_total: float
    pass_mark: float
    passed: bool
    policy: str = "none"
    ruleset_id: str = ""

    @property
    def percent(self) -> float:
        """Return the total as a percentage of the maximum."""
        return round(100.0 * self.total / self.max_total, 2) if self.max_total else 0.0

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready dict."""
        return {
            "ruleset_id": self.ruleset_id,
            "total": self.total,
            "max_total": self.max_total,
            "pass_mark": self.pass_mark,
            "passed": self.passed,
            "policy": self.policy,
            "items": [i.to_dict() for i in self.items],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> GradeResult:
        """Build from a dict made by to_dict."""
        return cls(
            tuple(ItemGrade.from_dict(i) for i in data["items"]),
            float(data["total"]),
            float(data["max_total"]),
            float(data["pass_mark"]),
            bool(data["passed"]),
            data.get("policy", "none"),
            data.get("ruleset_id", ""),
        )


def normalise_response(value: Response) -> str:
    """Return response letters uppercased, de-duplicated and sorted ("c, a" -> "AC")."""
    if value is None:
        return ""
    text = value if isinstance(value, str) else "".join(value)
    return "".join(sorted(set(_SEPARATORS.sub("", text).upper())))


def grade(paper: Paper, responses: Responses, policy: str | None = None) -> GradeResult:
    """Score responses (keyed by question code or item number, in PRESENTED letters); policy defaults to the paper's."""
    policy = policy or paper.partial_credit or "none"
    if policy not in PARTIAL_CREDIT_POLICIES:
        raise ValueError(f"unknown partial-credit policy {policy!r}; use one of {PARTIAL_CREDIT_POLICIES}")
    by_key: dict[str | int, PaperItem] = {}
    for it in paper.items:
        by_key[it.code] = it
        by_key[it.number] = it
    given: dict[int, str] = {}
    for key, value in responses.items():
        item = by_key.get(key)
        if item is None:
            raise ValueError(f"作答中的题目 {key!r} 不在试卷中 / response for {key!r} is not on this paper")
        letters = normalise_response(value)
        allowed = LETTERS[: len(item.options)]
        wrong = [c for c in letters if c not in allowed]
        if wrong:
            raise ValueError(
                f"第 {item.number} 题作答 {''.join(wrong)!r} 不在选项 A-{allowed[-1]} 中 / "
                f"item {item.number} ({item.code}): {''.join(wrong)!r} is not among options "
                f"A-{allowed[-1]}"
            )
        given[item.number] = letters
    grades = tuple(_grade_item(it, given.get(it.number, ""), policy) for it in paper.items)
    total = round(sum(g.points_awarded for g in grades), 2)
    return GradeResult(
        items=grades,
        total=total,
        max_total=paper.total_points,
        pass_mark=paper.pass_mark,
        passed=total + _EPS >= paper.pass_mark,
        policy=policy,
        ruleset_id=paper.ruleset_id,
    )


def _grade_item(item: PaperItem, response: str, policy: str) -> ItemGrade:
    """Score one item under the policy."""
    correct = response == item.answer
    if correct:
        awarded = item.points
    elif (
        policy == "proportional"
        and item.type is QuestionType.MULTIPLE
        and response
        and set(response) <= set(item.answer)
    ):
        awarded = round(item.points * len(response) / len(item.answer), 2)
    else:
        awarded = 0.0
    return ItemGrade(
        number=item.number,
        code=item.code,
        type=item.type,
        response=response,
        response_original=item.to_original(response),
        answer=item.answer,
        correct=correct,
        points_awarded=float(awarded),
        points_possible=float(item.points),
    )
