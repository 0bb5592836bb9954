"""Practice by category and the wrong-answer book: one question at a time, every answer stored."""

from __future__ import annotations

import secrets
import threading
from dataclasses import dataclass

from sqlalchemy import bindparam, false, func, select, true
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import aliased

import question_bank as qb
from exam_server.database import DbSession
from exam_server.models import DomainError, PracticeAnswer, Question, Worker, utcnow
from exam_server.services.exam import question_store
from question_bank.model import LETTERS

CATEGORY = "category"
BOOK = "book"
MODES = (CATEGORY, BOOK)
# A question answered wrong leaves the book after this many right answers since the last wrong one.
RIGHT_TO_LEAVE_BOOK = 2
_SEED_LIMIT = 2**31
_cache_lock = threading.Lock()
_cache: dict[str, object] = {"source": None, "bank": None}

# The statements of a practice request, built once (building a select costs more CPU than running it) and on the
# tables' columns (no ORM objects, not even the ORM's execution path).
_ANSWERS, _QUESTIONS = PracticeAnswer.__table__, Question.__table__
_RIGHT_CODES = (
    select(_QUESTIONS.c.code)
    .select_from(_QUESTIONS.join(_ANSWERS, _ANSWERS.c.question_id == _QUESTIONS.c.id))
    .where(
        _ANSWERS.c.worker_id == bindparam("worker_id"),
        _ANSWERS.c.correct.is_(true()),
        _QUESTIONS.c.category == bindparam("category"),
    )
)
_MARKS = (
    select(_ANSWERS.c.correct)
    .where(_ANSWERS.c.worker_id == bindparam("worker_id"), _ANSWERS.c.question_id == bindparam("question_id"))
    .order_by(_ANSWERS.c.id)
)
_BY_KEY = select(PracticeAnswer).where(
    PracticeAnswer.worker_id == bindparam("worker_id"), PracticeAnswer.idempotency_key == bindparam("key")
)
# One INSERT per dialect that does nothing when the worker's key is taken (the table's, not the ORM's: no bulk path).
_INSERT_ONCE = {
    name: insert(_ANSWERS)
    .on_conflict_do_nothing(index_elements=["worker_id", "idempotency_key"])
    .returning(_ANSWERS.c.id)
    for name, insert in (("postgresql", postgresql_insert), ("sqlite", sqlite_insert))
}


@dataclass(frozen=True)
class Learner:
    """Who practises, as far as practice needs to know: the worker's id, their industry's code and job category."""

    id: int
    industry: str
    job: str


# Practice takes the signed-in worker's Learner (one row read per request, exam_server/worker/session.py) or a
# Worker row (the console's callers, scripts and tests), whose industry is then read through its enterprise.
Practiser = Learner | Worker


@dataclass(frozen=True)
class CategoryProgress:
    """A category the worker may practise, and how much of it they have done."""

    name: str
    questions: int
    answered: int
    correct: int


@dataclass(frozen=True)
class Drawn:
    """A practice question as shown: the presented item and the seed that reproduces its option order."""

    item: qb.PaperItem
    seed: int
    mode: str
    category: str
    key: str


@dataclass(frozen=True)
class Feedback:
    """What the worker sees after answering: right or wrong, the right answer and its legal basis."""

    item: qb.PaperItem
    response: str  # presented letters
    correct: bool
    category: str
    mode: str
    in_book: bool
    right_since_wrong: int


def practice_bank(session: DbSession) -> tuple[qb.IndexedBank, dict[str, int]]:
    """Return the bank practice draws from (no exam-only question) and each code's question id."""
    bank, ids = question_store.bank(session)
    with _cache_lock:
        if _cache["source"] is not bank:
            _cache.update(source=bank, bank=bank.for_practice())
        practice = _cache["bank"]
    assert isinstance(practice, qb.IndexedBank)
    return practice, ids


def _eligibility(worker: Practiser) -> tuple[str, str]:
    if isinstance(worker, Learner):
        return worker.industry, worker.job
    return worker.enterprise.industry.code, worker.job_category.value


def categories(session: DbSession, worker: Practiser) -> list[CategoryProgress]:
    """Return the categories that apply to the worker's industry and job, with their practice so far."""
    bank, _ = practice_bank(session)
    industry, job = _eligibility(worker)
    counts: dict[str, int] = {}
    for question in bank.questions:
        if qb.eligible(question, industry, job):
            counts[question.category] = counts.get(question.category, 0) + 1
    done = {
        row.category: (row.answered, row.correct or 0)
        for row in session.execute(
            select(
                PracticeAnswer.category,
                func.count(func.distinct(PracticeAnswer.question_id)).label("answered"),
                func.count(func.distinct(PracticeAnswer.question_id))
                .filter(PracticeAnswer.correct.is_(true()))
                .label("correct"),
            )
            .where(PracticeAnswer.worker_id == worker.id)
            .group_by(PracticeAnswer.category)
        )
    }
    return [CategoryProgress(name, total, *done.get(name, (0, 0))) for name, total in sorted(counts.items())]


def draw(session: DbSession, worker: Practiser, category: str) -> Drawn:
    """Draw the worker's next question of a category: one not yet answered right comes first."""
    bank, ids = practice_bank(session)
    industry, job = _eligibility(worker)
    if category not in bank.categories(industry, job):
        raise DomainError("没有这个练习分类，请从列表中选择。")
    right = session.scalars(_RIGHT_CODES, {"worker_id": worker.id, "category": category}).all()
    seed = secrets.randbelow(_SEED_LIMIT)
    item = qb.draw_practice(bank, category, seed, industry=industry, job_category=job, avoid=right)
    return Drawn(item, seed, CATEGORY, category, secrets.token_hex(16))


def _book_rows(worker_id: int):
    """Select (question id, right answers since the last wrong one) for each question in the worker's book."""
    last_wrong = (
        select(PracticeAnswer.question_id, func.max(PracticeAnswer.id).label("last_wrong"))
        .where(PracticeAnswer.worker_id == worker_id, PracticeAnswer.correct.is_(false()))
        .group_by(PracticeAnswer.question_id)
        .subquery()
    )
    later = aliased(PracticeAnswer)  # the answers of the same question after its last wrong one
    right_since = (
        select(func.count(later.id))
        .where(
            later.worker_id == worker_id,
            later.question_id == last_wrong.c.question_id,
            later.correct.is_(true()),
            later.id > last_wrong.c.last_wrong,
        )
        .scalar_subquery()
    )
    return (
        select(Question.code, Question.category, right_since.label("right_since"), last_wrong.c.last_wrong)
        .join(Question, Question.id == last_wrong.c.question_id)
        .where(right_since < RIGHT_TO_LEAVE_BOOK)
        .order_by(last_wrong.c.last_wrong)
    )


@dataclass(frozen=True)
class BookEntry:
    """A question in the wrong-answer book and how many right answers it still needs to leave."""

    code: str
    category: str
    stem: str
    needs: int


def book(session: DbSession, worker: Practiser) -> list[BookEntry]:
    """Return the worker's wrong-answer book, oldest mistake first (only questions practice may still show)."""
    bank, _ = practice_bank(session)
    industry, job = _eligibility(worker)
    shown = {q.code: q for q in bank.questions if qb.eligible(q, industry, job)}
    entries = []
    for row in session.execute(_book_rows(worker.id)):
        question = shown.get(row.code)
        if question is not None:  # a question since made exam-only or retired is no longer shown
            entries.append(BookEntry(row.code, row.category, question.stem, RIGHT_TO_LEAVE_BOOK - row.right_since))
    return entries


def draw_from_book(session: DbSession, worker: Practiser) -> Drawn | None:
    """Return the oldest question of the worker's book, freshly shuffled; None when the book is empty."""
    entries = book(session, worker)
    if not entries:
        return None
    bank, _ = practice_bank(session)
    industry, job = _eligibility(worker)
    seed = secrets.randbelow(_SEED_LIMIT)
    item = qb.present(bank, entries[0].code, seed, industry=industry, job_category=job)
    return Drawn(item, seed, BOOK, entries[0].category, secrets.token_hex(16))


def shown_again(session: DbSession, worker: Practiser, code: str, seed: int, mode: str) -> Drawn:
    """Present a question again as it was drawn (same seed); refuse one practice may not show this worker."""
    bank, _ = practice_bank(session)
    industry, job = _eligibility(worker)
    if mode not in MODES:
        raise DomainError("练习方式无效，请重新开始练习。")
    try:
        item = qb.present(bank, code, seed, industry=industry, job_category=job)
    except KeyError:
        raise DomainError("这道题不在您的练习范围内，请从练习列表重新开始。") from None
    return Drawn(item, seed, mode, item.category, "")


def answer(session: DbSession, worker: Practiser, drawn: Drawn, response: str, key: str) -> Feedback:
    """Grade and store a practice answer; the same key sent again is stored once and answered the same."""
    letters = "".join(sorted(set((response or "").strip().upper())))
    item = drawn.item
    valid = LETTERS[: len(item.options)]
    if not letters or any(c not in valid for c in letters):
        raise DomainError("请先选择答案再提交。")
    if item.type is not qb.QuestionType.MULTIPLE and len(letters) != 1:
        raise DomainError("这道题只能选一个答案。")
    if not key or len(key) > 64:
        raise DomainError("提交无效，请重新作答。")
    _, ids = practice_bank(session)
    values = {
        "worker_id": worker.id,
        "question_id": ids[item.code],
        "question_version": item.version,
        "category": item.category,
        "mode": drawn.mode,
        "response": item.to_original(letters),
        "correct": letters == item.answer,
        "idempotency_key": key,
        "answered_at": utcnow(),
    }
    # One statement: the same form sent twice (a double tap, a retry, both at once) stores one row, the first.
    dialect = "postgresql" if session.get_bind().dialect.name == "postgresql" else "sqlite"
    stored = session.execute(_INSERT_ONCE[dialect], values).scalar()
    existing = None if stored is not None else _by_key(session, worker.id, key)
    if existing is not None:
        if existing.question_id != ids[item.code]:
            raise DomainError("提交无效，请重新作答。")
        letters = item.to_presented(existing.response)
    right_since = _right_since_last_wrong(session, worker.id, ids[item.code])
    return Feedback(
        item=item,
        response=letters,
        correct=letters == item.answer,
        category=item.category,
        mode=drawn.mode,
        in_book=right_since is not None and right_since < RIGHT_TO_LEAVE_BOOK,
        right_since_wrong=right_since or 0,
    )


def _right_since_last_wrong(session: DbSession, worker_id: int, question_id: int) -> int | None:
    """Return the right answers to a question since the worker last got it wrong (None: never wrong)."""
    # The book's rule for one question, counted here from its few answers: cheaper than the book's query.
    marks = list(session.scalars(_MARKS, {"worker_id": worker_id, "question_id": question_id}))
    if False not in marks:
        return None
    last_wrong = len(marks) - 1 - marks[::-1].index(False)
    return sum(marks[last_wrong + 1 :])


def _by_key(session: DbSession, worker_id: int, key: str) -> PracticeAnswer | None:
    return session.scalar(_BY_KEY, {"worker_id": worker_id, "key": key})
