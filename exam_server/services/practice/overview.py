"""What managers see of their workers' practice: per worker, how much, how well, what is still open."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, and_, false, func, select, true
from sqlalchemy.orm import aliased

from exam_server.database import DbSession
from exam_server.models import MockExam, PracticeAnswer, Question, User, Worker
from exam_server.services.admin import worker_directory
from exam_server.services.practice.drills import RIGHT_TO_LEAVE_BOOK
from question_bank import Status

# The list's filter on whether a worker has practised at all.
PRACTISED_STATES = {"yes": "已练习", "no": "未练习"}


@dataclass(frozen=True)
class Figures:
    """One worker's practice: questions and answers, right answers, open book entries, mock exams."""

    questions: int = 0
    answers: int = 0
    right: int = 0
    open_in_book: int = 0
    mocks: int = 0
    best_mock: float | None = None
    last_practised: datetime | None = None

    @property
    def right_share(self) -> float | None:
        """Return the share of answers that were right (None before the first answer)."""
        return self.right / self.answers if self.answers else None


def search(user: User, practised: str = "", **filters: Any) -> Select:
    """Return the user's scoped workers matching the worker list's filters and, if given, practised or not."""
    stmt = worker_directory.search(user, **filters)
    answered = select(PracticeAnswer.id).where(PracticeAnswer.worker_id == Worker.id).exists()
    if practised == "yes":
        stmt = stmt.where(answered)
    elif practised == "no":
        stmt = stmt.where(~answered)
    return stmt


def figures(session: DbSession, worker_ids: list[int]) -> dict[int, Figures]:
    """Return the practice figures of these workers in one query; a worker who never practised has zeros."""
    if not worker_ids:
        return {}
    mine = PracticeAnswer.worker_id.in_(worker_ids)
    answers = (
        select(
            PracticeAnswer.worker_id,
            func.count(func.distinct(PracticeAnswer.question_id)).label("questions"),
            func.count(PracticeAnswer.id).label("answers"),
            func.count(PracticeAnswer.id).filter(PracticeAnswer.correct.is_(true())).label("right"),
            func.max(PracticeAnswer.answered_at).label("last_practised"),
        )
        .where(mine)
        .group_by(PracticeAnswer.worker_id)
        .subquery()
    )
    book = _open_book(worker_ids)
    mocks = (
        select(
            MockExam.worker_id,
            func.count(MockExam.id).label("mocks"),
            func.max(MockExam.score).label("best_mock"),
        )
        .where(MockExam.worker_id.in_(worker_ids), MockExam.submitted_at.is_not(None))
        .group_by(MockExam.worker_id)
        .subquery()
    )
    rows = session.execute(
        select(
            Worker.id,
            answers.c.questions,
            answers.c.answers,
            answers.c.right,
            book.c.open_in_book,
            mocks.c.mocks,
            mocks.c.best_mock,
            answers.c.last_practised,
        )
        .outerjoin(answers, answers.c.worker_id == Worker.id)
        .outerjoin(book, book.c.worker_id == Worker.id)
        .outerjoin(mocks, mocks.c.worker_id == Worker.id)
        .where(Worker.id.in_(worker_ids))
    )
    return {
        row.id: Figures(
            questions=row.questions or 0,
            answers=row.answers or 0,
            right=row.right or 0,
            open_in_book=row.open_in_book or 0,
            mocks=row.mocks or 0,
            best_mock=row.best_mock,
            last_practised=row.last_practised,
        )
        for row in rows
    }


def _open_book(worker_ids: list[int]):
    """Select (worker id, open entries) of the workers' wrong-answer books, by the book's own rule."""
    # The rule of drills.book for many workers at once: a question answered wrong stays until answered right
    # RIGHT_TO_LEAVE_BOOK times after its last wrong answer; exam-only and retired questions are no longer shown.
    last_wrong = (
        select(
            PracticeAnswer.worker_id,
            PracticeAnswer.question_id,
            func.max(PracticeAnswer.id).label("last_wrong"),
        )
        .where(PracticeAnswer.worker_id.in_(worker_ids), PracticeAnswer.correct.is_(false()))
        .group_by(PracticeAnswer.worker_id, PracticeAnswer.question_id)
        .subquery()
    )
    later = aliased(PracticeAnswer)
    still_open = (
        select(last_wrong.c.worker_id, last_wrong.c.question_id)
        .join(Question, Question.id == last_wrong.c.question_id)
        .outerjoin(
            later,
            and_(
                later.worker_id.in_(worker_ids),  # lets the planner read only these workers' answers by index
                later.worker_id == last_wrong.c.worker_id,
                later.question_id == last_wrong.c.question_id,
                later.correct.is_(true()),
                later.id > last_wrong.c.last_wrong,
            ),
        )
        .where(Question.status == Status.ACTIVE.value, Question.exam_only.is_(false()))
        .group_by(last_wrong.c.worker_id, last_wrong.c.question_id)
        .having(func.count(later.id) < RIGHT_TO_LEAVE_BOOK)
        .subquery()
    )
    return (
        select(still_open.c.worker_id, func.count().label("open_in_book")).group_by(still_open.c.worker_id).subquery()
    )
