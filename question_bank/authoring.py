"""Rules for a question written by hand (the console's 新建题目 and edit forms): codes, options, duplicates."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from .assembly import RuleSet
from .model import TRUEFALSE_OPTIONS, Problem, Question, QuestionType, stem_key, validate_question

AUTHORED_PREFIX = "Q-"
_AUTHORED_RE = re.compile(rf"^{re.escape(AUTHORED_PREFIX)}(\d+)$")


def next_code(existing_codes: Iterable[str]) -> str:
    """Return the next free code of a hand-written question, Q-0001, Q-0002, … after the highest in use."""
    numbers = [int(m[1]) for code in existing_codes if (m := _AUTHORED_RE.match(code))]
    return f"{AUTHORED_PREFIX}{max(numbers, default=0) + 1:04d}"


def authored_options(qtype: QuestionType, options: Iterable[str]) -> tuple[str, ...]:
    """Return the options as typed, without trailing blanks; a true/false question left blank gets 正确/错误."""
    kept = [str(o).strip() for o in options]
    while kept and not kept[-1]:
        kept.pop()
    if qtype is QuestionType.TRUEFALSE and not kept:
        return TRUEFALSE_OPTIONS  # the only options a true/false question may have: no need to type them
    return tuple(kept)


def check_authored(
    question: Question, existing: Iterable[tuple[str, str]], *, replacing: str | None = None
) -> list[Problem]:
    """Validate a hand-written question against the bank's (code, stem) pairs; `replacing` is the code being edited."""
    problems = validate_question(question)
    others = [(code, stem) for code, stem in existing if code != replacing]
    if replacing is None and question.code in {code for code, _ in others}:
        problems.append(Problem(None, "code", f"编号 {question.code} 已被使用 / code {question.code} is taken"))
    if question.stem.strip() and question.stem_key in {stem_key(stem) for _, stem in others}:
        problems.append(Problem(None, "stem", "题干与题库中已有题目重复 / the stem duplicates a question in the bank"))
    return problems


def edited_ruleset(base: RuleSet, changes: Mapping[str, Any]) -> tuple[RuleSet | None, list[str]]:
    """Return the rule set with an administrator's changes (a new version), or None and what is wrong with them."""
    data = {**base.to_dict(), **changes, "id": base.id, "version": base.version + 1}
    try:
        return RuleSet.from_dict(data), []
    except ValueError as exc:
        text = str(exc).split(": ", 1)[-1] if "invalid rule set" in str(exc) else str(exc)
        return None, [part.split(" / ")[0] for part in text.split("; ")]
