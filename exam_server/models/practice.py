"""A worker's own sign-in (citizen ID and PIN) and the practice answers they give."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from exam_server.models.base import Base, utcnow
from exam_server.models.people import Worker


class WorkerCredential(Base):
    """The PIN a worker set at a kiosk after a face-checked sitting; a new PIN ends every older session."""

    __tablename__ = "worker_credential"

    worker_id: Mapped[int] = mapped_column(ForeignKey("worker.id"), primary_key=True)
    # None: the worker signed in with a one-time code and has set no PIN (the row carries the session version).
    pin_hash: Mapped[str | None] = mapped_column(String(255))
    # The passed check-in of the sitting after which this PIN was set (the proof it was the worker; one per sitting).
    checkin_id: Mapped[int | None] = mapped_column(ForeignKey("checkin.id"))
    session_version: Mapped[int] = mapped_column(default=1)
    set_at: Mapped[datetime] = mapped_column(default=utcnow)

    worker: Mapped[Worker] = relationship()


class WorkerSignInCode(Base):
    """A one-time sign-in code for a worker's own pages: shown at a kiosk after a passed check, or printed.

    Only the code's SHA-256 is kept (it is random, 128 bits: a plain digest is enough, as for kiosk tokens).
    """

    __tablename__ = "worker_sign_in_code"

    id: Mapped[int] = mapped_column(primary_key=True)
    worker_id: Mapped[int] = mapped_column(ForeignKey("worker.id"), index=True)
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]
    # Who issued it: a kiosk after a face-checked sitting (its passed check-in), or a console user who printed it.
    checkin_id: Mapped[int | None] = mapped_column(ForeignKey("checkin.id"))
    issued_by_id: Mapped[int | None] = mapped_column(ForeignKey("console_user.id"))

    worker: Mapped[Worker] = relationship()


class PracticeAnswer(Base):
    """One answer a worker gave while practising; kept so the wrong-answer book and statistics are real."""

    __tablename__ = "practice_answer"
    __table_args__ = (
        # The same form sent twice (a double tap, a retry) is stored once.
        UniqueConstraint("worker_id", "idempotency_key", name="uq_practice_answer_worker_key"),
        Index("ix_practice_answer_worker_question", "worker_id", "question_id"),
        # The statistics page reads a worker's answers in time order: had they practised before a sitting?
        Index("ix_practice_answer_worker_answered", "worker_id", "answered_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    worker_id: Mapped[int] = mapped_column(ForeignKey("worker.id"))
    question_id: Mapped[int] = mapped_column(ForeignKey("question.id"), index=True)
    question_version: Mapped[int]
    category: Mapped[str] = mapped_column(String(64))
    mode: Mapped[str] = mapped_column(String(16))  # category / book
    response: Mapped[str] = mapped_column(String(8))  # the question's own letters, e.g. "ACD"
    correct: Mapped[bool]
    idempotency_key: Mapped[str] = mapped_column(String(64))
    answered_at: Mapped[datetime] = mapped_column(default=utcnow)


class MockExam(Base):
    """A mock exam: a paper drawn by the plan's rules from the practice bank, timed and graded, never a sitting."""

    __tablename__ = "mock_exam"
    __table_args__ = (Index("ix_mock_exam_worker_started", "worker_id", "started_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    worker_id: Mapped[int] = mapped_column(ForeignKey("worker.id"))
    # The plan whose rules drew the paper (None: the general rules, when no plan is open for the worker).
    plan_id: Mapped[int | None] = mapped_column(ForeignKey("exam_plan.id"))
    title: Mapped[str] = mapped_column(String(128))
    paper: Mapped[dict]  # question_bank Paper.to_dict() with each item's question_id
    responses: Mapped[dict] = mapped_column(default=dict)  # item number (as text) -> presented letters
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    deadline_at: Mapped[datetime]
    submitted_at: Mapped[datetime | None]
    late: Mapped[bool] = mapped_column(default=False)  # handed in after the time: the responses were not counted
    score: Mapped[float | None]
    max_score: Mapped[float | None]
    passed: Mapped[bool | None]


__all__ = ["MockExam", "PracticeAnswer", "WorkerCredential"]
