"""Keep the question table in step with question_bank and convert rows to its dataclasses."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any

from sqlalchemy import func, select

import question_bank as qb
from exam_server.database import DbSession
from exam_server.models import Question

# A paper for anyone, used when question_bank ships no general rule set of its own.
GENERAL_RULESET: dict[str, Any] = {
    "id": "general",
    "name": "安全生产通用知识考试",
    "version": 1,
    "industry": None,
    "job_category": None,
    "duration_minutes": 60,
    "pass_mark": 80,
    "points": {"single": 2, "multiple": 3, "truefalse": 1},
    "partial_credit": "none",
    "group_by_type": True,
    "shuffle_options": True,
    "rules": [
        {"category": "安全生产法律法规", "type": "single", "count": 11},
        {"category": "消防安全", "type": "single", "count": 9},
        {"category": "应急救援与疏散", "type": "single", "count": 6},
        {"category": "安全生产法律法规", "type": "multiple", "count": 4},
        {"category": "消防安全", "type": "multiple", "count": 3},
        {"category": "应急救援与疏散", "type": "multiple", "count": 3},
        {"category": "安全生产法律法规", "type": "truefalse", "count": 6},
        {"category": "消防安全", "type": "truefalse", "count": 7},
        {"category": "应急救援与疏散", "type": "truefalse", "count": 5},
    ],
}

_COLUMNS = (
    "qtype",
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
_cache_lock = threading.Lock()
_cache: dict[str, Any] = {"key": None, "bank": None}


def columns_of(question: qb.Question) -> dict[str, Any]:
    """Return the question table's column values for a question_bank question."""
    return {
        "code": question.code,
        "qtype": question.type.value,
        "stem": question.stem,
        "options": list(question.options),
        "answer": question.answer,
        "explanation": question.explanation,
        "category": question.category,
        "industries": list(question.industries),
        "job_categories": list(question.job_categories),
        "difficulty": question.difficulty,
        "points": question.points,
        "basis": question.basis,
        "status": question.status.value,
        "version": question.version,
        "exam_only": question.exam_only,
    }


def to_question(row: Question) -> qb.Question:
    """Return the question_bank dataclass of a stored row."""
    return qb.Question(
        code=row.code,
        type=qb.QuestionType(row.qtype),
        stem=row.stem,
        options=tuple(row.options),
        answer=row.answer,
        explanation=row.explanation or "",
        category=row.category,
        industries=tuple(row.industries or ()),
        job_categories=tuple(row.job_categories or ()),
        difficulty=row.difficulty,
        basis=row.basis or "",
        status=qb.Status(row.status),
        points=row.points,
        version=row.version,
        exam_only=row.exam_only,
    )


def save(session: DbSession, questions: list[qb.Question], keep: tuple[str, ...] = ()) -> tuple[int, int]:
    """Insert new codes and update changed ones; return (added, updated). Running it twice changes nothing.

    Columns named in ``keep`` are written for new codes only: a stored row keeps its own value.
    """
    existing = {
        row.code: row for row in session.scalars(select(Question).where(Question.code.in_([q.code for q in questions])))
    }
    added = updated = 0
    for question in questions:
        values = columns_of(question)
        row = existing.get(question.code)
        if row is not None:
            values.update({name: getattr(row, name) for name in keep})
        if row is None:
            session.add(Question(**values))
            added += 1
        elif any(getattr(row, name) != values[name] for name in _COLUMNS):
            for name in _COLUMNS:
                setattr(row, name, values[name])
            updated += 1
    session.flush()
    return added, updated


def load_bundled(session: DbSession) -> tuple[int, int]:
    """Load question_bank's bundled questions into the table; return (added, updated)."""
    # Which questions are exam-only is decided in the console, not in the bundle: a reload keeps it.
    return save(session, qb.load_bundled(), keep=("exam_only",))


def default_ruleset() -> dict[str, Any]:
    """Return question_bank's general rule set as a dict, or GENERAL_RULESET when it ships none."""
    try:
        found = qb.select_ruleset(qb.load_rulesets(), None, None)
    except (OSError, ValueError):
        found = None
    return found.to_dict() if found is not None else dict(GENERAL_RULESET)


_SEEN = "question_store.bank_key"  # session.info: (the transaction, the table state it read)
_QUESTIONS = Question.__table__
# The question table's state, which says whether the cached bank still holds: built once (building a select costs
# more CPU than running this one), and offered as a one-row subquery that a request's first statement can join, so
# that the worker pages learn it in the round trip that checks the worker's session (services/practice/pins.py).
TABLE_STATE = select(
    func.count(_QUESTIONS.c.id).label("questions"),
    func.max(_QUESTIONS.c.updated_at).label("updated"),
    func.max(_QUESTIONS.c.id).label("last_id"),
).subquery("question_state")
_TABLE_STATE = select(TABLE_STATE)


def note_table_state(session: DbSession, state: Sequence[Any]) -> None:
    """Keep the TABLE_STATE another statement of this transaction read: bank() then asks no more until it ends."""
    session.info[_SEEN] = (session.connection().get_transaction(), (str(session.get_bind().engine.url), *state))


def bank(session: DbSession) -> tuple[qb.IndexedBank, dict[str, int]]:
    """Return the active bank indexed for assembly and the question id of each code."""
    # Rebuilt only when the table changed, so assembling a paper costs one small query, once per transaction
    # (a practice answer asks three times; what the first read saw holds until the transaction ends).
    seen = session.info.get(_SEEN)
    if seen is None or seen[0] is not session.connection().get_transaction():
        note_table_state(session, session.execute(_TABLE_STATE).one())
        seen = session.info[_SEEN]
    key = seen[1]
    with _cache_lock:
        if _cache["key"] == key:
            return _cache["bank"], _cache["ids"]
    rows = session.scalars(select(Question).where(Question.status == qb.Status.ACTIVE.value)).all()
    indexed = qb.IndexedBank(to_question(row) for row in rows)
    ids = {row.code: row.id for row in rows}
    with _cache_lock:
        _cache.update(key=key, bank=indexed, ids=ids)
    return indexed, ids
