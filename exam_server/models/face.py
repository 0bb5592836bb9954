"""Face verification events, scheduled captures, check-ins and review cases."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import ForeignKey, Index, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from exam_server.models.base import Base, enum_column, utcnow
from exam_server.models.people import Worker


class CheckKind(str, enum.Enum):
    CHECKIN = "checkin"  # 人证合一 at entry
    IN_EXAM = "in_exam"  # 刷脸比对 during the exam
    ENROL_DUPLICATE = "enrol_duplicate"  # new enrolment searched against everyone
    SEARCH = "search"  # 1:N query from the console

    @property
    def label(self) -> str:
        """Return the Chinese label the console, exports and kiosk messages show."""
        return {"checkin": "入场核验", "in_exam": "考试中抽检", "enrol_duplicate": "登记查重", "search": "1:N 检索"}[
            self.value
        ]


class Decision(str, enum.Enum):
    MATCH = "match"
    REVIEW = "review"  # too close to the threshold to decide automatically
    MISMATCH = "mismatch"
    REFUSED = "refused"  # image refused: no face, several faces, blurred...

    @property
    def label(self) -> str:
        """Return the Chinese label the console, exports and kiosk messages show."""
        return {"match": "比对通过", "review": "待复核", "mismatch": "比对不符", "refused": "未能比对"}[self.value]


# The live monitor's state of a sitting with no face check yet, beside the decisions' labels.
UNCHECKED_LABELS = {"none": "待核验"}


class FaceCheck(Base):
    """One verification event, with the evidence frame kept outside any public URL."""

    __tablename__ = "face_check"
    __table_args__ = (
        Index("ix_face_check_sitting_time", "sitting_id", "created_at"),
        Index("ix_face_check_worker_time", "worker_id", "created_at"),
        Index("ix_face_check_created_at", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[CheckKind] = mapped_column(enum_column(CheckKind))
    worker_id: Mapped[int] = mapped_column(ForeignKey("worker.id"))
    sitting_id: Mapped[int | None] = mapped_column(ForeignKey("sitting.id"))
    checkin_id: Mapped[int | None] = mapped_column(ForeignKey("checkin.id"), index=True)
    kiosk_id: Mapped[int | None] = mapped_column(ForeignKey("kiosk.id"))
    model_name: Mapped[str] = mapped_column(String(64))
    model_version: Mapped[str] = mapped_column(String(64))
    distance: Mapped[float | None]
    threshold: Mapped[float | None]
    decision: Mapped[Decision] = mapped_column(enum_column(Decision))
    refusal_code: Mapped[str | None] = mapped_column(String(32))
    detail: Mapped[dict] = mapped_column(default=dict)  # quality figures, liveness measures
    evidence_path: Mapped[str | None] = mapped_column(String(255))  # relative to DATA_DIR
    evidence_purged_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    worker: Mapped[Worker] = relationship()


class CheckInStatus(str, enum.Enum):
    AWAITING_FACE = "awaiting_face"
    PASSED = "passed"
    REFUSED = "refused"  # too many failures: recorded for review
    EXPIRED = "expired"


class CheckIn(Base):
    """A worker's attempt to enter an exam at a kiosk: challenge, burst, result."""

    __tablename__ = "checkin"
    __table_args__ = (Index("ix_checkin_worker_time", "worker_id", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    worker_id: Mapped[int] = mapped_column(ForeignKey("worker.id"))
    plan_id: Mapped[int] = mapped_column(ForeignKey("exam_plan.id"))
    kiosk_id: Mapped[int] = mapped_column(ForeignKey("kiosk.id"))
    # One move (turn_left, turn_right, blink, nod, look_up) or a sequence of two joined by "+".
    challenge: Mapped[str] = mapped_column(String(40))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    chip_photo_path: Mapped[str | None] = mapped_column(String(255))
    status: Mapped[CheckInStatus] = mapped_column(enum_column(CheckInStatus), default=CheckInStatus.AWAITING_FACE)
    failures: Mapped[int] = mapped_column(default=0)
    sitting_id: Mapped[int | None] = mapped_column(ForeignKey("sitting.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]


class FrameHash(Base):
    """The perceptual hash of a frame a kiosk sent for a worker, so that a replayed copy is recognised."""

    __tablename__ = "frame_hash"
    __table_args__ = (Index("ix_frame_hash_worker_time", "worker_id", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    worker_id: Mapped[int] = mapped_column(ForeignKey("worker.id"))
    kind: Mapped[CheckKind] = mapped_column(enum_column(CheckKind))  # checkin (a burst's frame) or in_exam
    checkin_id: Mapped[int | None] = mapped_column(ForeignKey("checkin.id"))
    sitting_id: Mapped[int | None] = mapped_column(ForeignKey("sitting.id"))
    phash: Mapped[bytes] = mapped_column(LargeBinary(32))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class FaceConsent(Base):
    """A worker's separate consent to be filmed for one visit (PIPL art. 29), with the notice it answered."""

    __tablename__ = "face_consent"

    id: Mapped[int] = mapped_column(primary_key=True)
    checkin_id: Mapped[int] = mapped_column(ForeignKey("checkin.id"), unique=True)
    worker_id: Mapped[int] = mapped_column(ForeignKey("worker.id"), index=True)
    kiosk_id: Mapped[int] = mapped_column(ForeignKey("kiosk.id"))
    # The sitting this visit opened or resumed; a sitting resumed at another kiosk has one consent per visit.
    sitting_id: Mapped[int | None] = mapped_column(ForeignKey("sitting.id"), index=True)
    notice_version: Mapped[str] = mapped_column(String(32))  # which wording the kiosk showed and spoke
    retention_days: Mapped[int]  # the retention the notice told the worker
    accepted_at: Mapped[datetime]


class CaptureRequest(Base):
    """A scheduled in-exam capture; its nonce is stored hashed and can be used once."""

    __tablename__ = "capture_request"
    __table_args__ = (Index("ix_capture_sitting_due", "sitting_id", "due_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    sitting_id: Mapped[int] = mapped_column(ForeignKey("sitting.id"))
    nonce_hash: Mapped[str] = mapped_column(String(64), unique=True)
    due_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]
    face_check_id: Mapped[int | None] = mapped_column(ForeignKey("face_check.id"))
    is_retry: Mapped[bool] = mapped_column(default=False)


class ReviewKind(str, enum.Enum):
    CHECKIN_REFUSED = "checkin_refused"
    IN_EXAM_MISMATCH = "in_exam_mismatch"
    BORDERLINE = "borderline"
    DUPLICATE_ENROLMENT = "duplicate_enrolment"
    SEARCH_HIT = "search_hit"
    MULTIPLE_FACES = "multiple_faces"

    @property
    def label(self) -> str:
        """Return the Chinese label the console, exports and kiosk messages show."""
        return {
            "checkin_refused": "入场核验未通过",
            "in_exam_mismatch": "考试中人脸不符",
            "borderline": "临界相似度",
            "duplicate_enrolment": "重复登记",
            "search_hit": "1:N 检索命中",
            "multiple_faces": "画面多人",
        }[self.value]


class ReviewStatus(str, enum.Enum):
    OPEN = "open"
    CONFIRMED = "confirmed"  # the reviewer agrees there is a problem
    DISMISSED = "dismissed"  # false alarm

    @property
    def label(self) -> str:
        """Return the Chinese label the console, exports and kiosk messages show."""
        return {"open": "待处理", "confirmed": "已确认", "dismissed": "已驳回"}[self.value]


class ReviewCase(Base):
    """A face alert waiting for a person to decide."""

    __tablename__ = "review_case"
    __table_args__ = (Index("ix_review_status_time", "status", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[ReviewKind] = mapped_column(enum_column(ReviewKind))
    status: Mapped[ReviewStatus] = mapped_column(enum_column(ReviewStatus), default=ReviewStatus.OPEN)
    worker_id: Mapped[int] = mapped_column(ForeignKey("worker.id"), index=True)
    other_worker_id: Mapped[int | None] = mapped_column(ForeignKey("worker.id"))
    sitting_id: Mapped[int | None] = mapped_column(ForeignKey("sitting.id"), index=True)
    checkin_id: Mapped[int | None] = mapped_column(ForeignKey("checkin.id"))
    face_check_id: Mapped[int | None] = mapped_column(ForeignKey("face_check.id"))
    distance: Mapped[float | None]
    summary: Mapped[str] = mapped_column(String(255), default="")  # Chinese: the CLI, logs, cases stored before 0750
    # {"msgid": ..., "params": {...}}: the console shows the summary in its own language (review.summary)
    summary_message: Mapped[dict | None]
    reason: Mapped[str | None] = mapped_column(String(500))  # the reviewer's reason
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("console_user.id"))
    decided_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    worker: Mapped[Worker] = relationship(foreign_keys=[worker_id])
    other_worker: Mapped[Worker | None] = relationship(foreign_keys=[other_worker_id])


class FaceIndexChange(Base):
    """A worker whose templates changed: every host's 1:N index files catch up from these rows."""

    __tablename__ = "face_index_change"

    id: Mapped[int] = mapped_column(primary_key=True)
    worker_id: Mapped[int] = mapped_column(ForeignKey("worker.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)


def summary_fields(msgid: str, **params: object) -> dict:
    """Return a review case's summary columns: the Chinese sentence and its msgid (marked with N_) with the values."""
    return {"summary": (msgid % params)[:255], "summary_message": {"msgid": msgid, "params": params}}
