"""Exam plans, the requirements they create, sittings and answers."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint, false, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from exam_server.models.base import Base, enum_column, utcnow
from exam_server.models.people import Worker


class ExamPlan(Base):
    """Who must sit which paper in which window, and the face-check policy."""

    __tablename__ = "exam_plan"
    __table_args__ = (Index("ix_exam_plan_window", "opens_at", "closes_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(128))
    ruleset: Mapped[dict]  # question_bank RuleSet as a dict: counts, points, pass mark, duration
    county_id: Mapped[int | None] = mapped_column(ForeignKey("county.id"), index=True)
    industry_id: Mapped[int | None] = mapped_column(ForeignKey("industry.id"), index=True)
    enterprise_id: Mapped[int | None] = mapped_column(ForeignKey("enterprise.id"), index=True)
    job_categories: Mapped[list] = mapped_column(default=list)  # [] = every job category
    opens_at: Mapped[datetime]
    closes_at: Mapped[datetime]
    max_attempts: Mapped[int] = mapped_column(default=2)
    face_policy: Mapped[dict] = mapped_column(default=dict)  # mean interval, retries, suspend after
    certificate_valid_days: Mapped[int] = mapped_column(default=365 * 3)
    # After grading, the kiosk shows each wrong answer with the right one and its basis (the bank is then seen).
    review_answers: Mapped[bool] = mapped_column(default=False, server_default=false())
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("console_user.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class RequirementStatus(str, enum.Enum):
    PENDING = "pending"  # not yet sat
    FAILED = "failed"  # sat, not passed (attempts may remain)
    PASSED = "passed"
    EXPIRED = "expired"  # passed, but the certificate has since expired: sat, no longer qualified

    @property
    def label(self) -> str:
        """Return the Chinese label the console, exports and kiosk messages show."""
        return {"pending": "未参考", "failed": "不合格", "passed": "合格", "expired": "合格证已过期"}[self.value]


# The statuses a worker can still sit under; a passed or expired requirement is closed (a renewal is a new one).
OPEN_REQUIREMENT_STATUSES = (RequirementStatus.PENDING, RequirementStatus.FAILED)


class ExamRequirement(Base):
    """One worker's obligation under one plan; region columns are copied for fast statistics."""

    __tablename__ = "exam_requirement"
    __table_args__ = (
        # A worker has one requirement per plan and round; a renewal under the same plan is the next round.
        UniqueConstraint("plan_id", "worker_id", "round_no", name="uq_exam_requirement_plan_worker_round"),
        Index("ix_requirement_county_status", "county_id", "status"),
        Index("ix_requirement_enterprise_status", "enterprise_id", "status"),
        Index("ix_requirement_industry_status", "industry_id", "status"),
        Index("ix_requirement_township_status", "township_id", "status"),
        Index("ix_requirement_worker", "worker_id"),
        # Statistics: plan figures group by plan (migration 0002); monthly figures of the city and of a
        # county count first_sat_at ranges inside these covering indexes, plan filter included (0004).
        Index("ix_requirement_plan_status", "plan_id", "status"),
        Index("ix_requirement_first_sat_status_plan", "first_sat_at", "status", "plan_id"),
        Index("ix_requirement_county_first_sat", "county_id", "first_sat_at", "status", "plan_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("exam_plan.id"))
    worker_id: Mapped[int] = mapped_column(ForeignKey("worker.id"))
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprise.id"))
    county_id: Mapped[int] = mapped_column(ForeignKey("county.id"))
    township_id: Mapped[int | None] = mapped_column(ForeignKey("township.id"))
    industry_id: Mapped[int] = mapped_column(ForeignKey("industry.id"))
    status: Mapped[RequirementStatus] = mapped_column(enum_column(RequirementStatus), default=RequirementStatus.PENDING)
    attempts: Mapped[int] = mapped_column(default=0)
    round_no: Mapped[int] = mapped_column(default=1, server_default=text("1"))
    first_sat_at: Mapped[datetime | None]
    passed_at: Mapped[datetime | None]

    plan: Mapped[ExamPlan] = relationship()
    worker: Mapped[Worker] = relationship()


class SittingStatus(str, enum.Enum):
    IN_PROGRESS = "in_progress"
    SUSPENDED = "suspended"  # waiting for a reviewer after repeated face mismatches
    SUBMITTED = "submitted"
    VOIDED = "voided"

    @property
    def label(self) -> str:
        """Return the Chinese label the console, exports and kiosk messages show."""
        return {"in_progress": "进行中", "suspended": "已暂停", "submitted": "已交卷", "voided": "已作废"}[self.value]


ACTIVE_SITTING_STATUSES = (SittingStatus.IN_PROGRESS.value, SittingStatus.SUSPENDED.value)
_ACTIVE_WHERE = text("status IN ('in_progress', 'suspended')")


class Sitting(Base):
    """One attempt at one plan's paper by one worker."""

    __tablename__ = "sitting"
    __table_args__ = (
        # The database, not the application, guarantees one active sitting per worker.
        Index(
            "uq_sitting_one_active_per_worker",
            "worker_id",
            unique=True,
            sqlite_where=_ACTIVE_WHERE,
            postgresql_where=_ACTIVE_WHERE,
        ),
        Index("ix_sitting_worker", "worker_id"),
        Index("ix_sitting_status_deadline", "status", "deadline_at"),
        Index("ix_sitting_plan_status", "plan_id", "status"),
        Index("ix_sitting_submitted_at", "submitted_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("exam_plan.id"))
    worker_id: Mapped[int] = mapped_column(ForeignKey("worker.id"))
    requirement_id: Mapped[int] = mapped_column(ForeignKey("exam_requirement.id"), index=True)
    kiosk_id: Mapped[int | None] = mapped_column(ForeignKey("kiosk.id"))
    status: Mapped[SittingStatus] = mapped_column(enum_column(SittingStatus), default=SittingStatus.IN_PROGRESS)
    attempt_no: Mapped[int] = mapped_column(default=1)
    seed: Mapped[int]
    paper: Mapped[dict]  # assembled paper: presented items, option order, points
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    deadline_at: Mapped[datetime]
    submitted_at: Mapped[datetime | None]
    auto_submitted: Mapped[bool] = mapped_column(default=False)
    score: Mapped[float | None]
    max_score: Mapped[float | None]
    passed: Mapped[bool | None]
    status_reason: Mapped[str | None] = mapped_column(String(255))

    plan: Mapped[ExamPlan] = relationship()
    worker: Mapped[Worker] = relationship()
    answers: Mapped[list[Answer]] = relationship(back_populates="sitting", order_by="Answer.item_no")


class Answer(Base):
    """The latest response to one item of a sitting; resending the same answer changes nothing."""

    __tablename__ = "answer"
    __table_args__ = (UniqueConstraint("sitting_id", "item_no"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    sitting_id: Mapped[int] = mapped_column(ForeignKey("sitting.id"))
    item_no: Mapped[int]  # position on the presented paper, from 1
    question_id: Mapped[int] = mapped_column(ForeignKey("question.id"))
    response: Mapped[str] = mapped_column(String(8))  # presented letters, e.g. "BD"
    idempotency_key: Mapped[str | None] = mapped_column(String(64))
    answered_at: Mapped[datetime] = mapped_column(default=utcnow)
    revision: Mapped[int] = mapped_column(default=1)

    sitting: Mapped[Sitting] = relationship(back_populates="answers")


class AnswerReceipt(Base):
    """One answer request the server has seen; a late copy of an old request must not undo a newer answer."""

    __tablename__ = "answer_receipt"
    __table_args__ = (UniqueConstraint("sitting_id", "item_no", "idempotency_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    sitting_id: Mapped[int] = mapped_column(ForeignKey("sitting.id"))
    item_no: Mapped[int]
    idempotency_key: Mapped[str] = mapped_column(String(64))
    response: Mapped[str] = mapped_column(String(8))  # what this request asked for, applied or not
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
