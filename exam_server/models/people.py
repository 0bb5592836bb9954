"""Workers, their enrolled face photos and templates, and their certificates."""

from __future__ import annotations

import enum
from datetime import date, datetime
from typing import TYPE_CHECKING

from sqlalchemy import ForeignKey, Index, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column, relationship, validates

from exam_server.citizen_id import gender_of, normalise_citizen_id
from exam_server.models.base import Base, enum_column, utcnow
from exam_server.models.org import Enterprise

if TYPE_CHECKING:
    from exam_server.models.exams import ExamRequirement


class JobCategory(str, enum.Enum):
    PRINCIPAL = "principal"
    SAFETY_MANAGER = "safety_manager"
    SPECIAL_OPS = "special_ops"
    GENERAL = "general"

    @property
    def label(self) -> str:
        """Return the Chinese label the console, exports and kiosk messages show."""
        return {
            "principal": "主要负责人",
            "safety_manager": "安全生产管理人员",
            "special_ops": "特种作业人员",
            "general": "一般从业人员",
        }[self.value]


JOB_CATEGORY_LABELS = {job: job.label for job in JobCategory}


class Worker(Base):
    __tablename__ = "worker"
    __table_args__ = (Index("ix_worker_enterprise_job", "enterprise_id", "job_category"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    citizen_id: Mapped[str] = mapped_column(String(18), unique=True)
    name: Mapped[str] = mapped_column(String(64), index=True)
    gender: Mapped[str] = mapped_column(String(1))  # derived from the citizen ID: M/F
    birth_date: Mapped[date]
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprise.id"))
    job_category: Mapped[JobCategory] = mapped_column(enum_column(JobCategory))
    phone: Mapped[str | None] = mapped_column(String(20))
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    enterprise: Mapped[Enterprise] = relationship()

    @validates("citizen_id")
    def _check_citizen_id(self, _key: str, value: str) -> str:
        normalised, birth = normalise_citizen_id(value)
        self.birth_date = birth
        self.gender = gender_of(normalised)
        return normalised

    @validates("name")
    def _check_name(self, _key: str, value: str) -> str:
        value = (value or "").strip()
        if not value or len(value) > 64:
            raise ValueError("姓名不能为空且不超过64个字符 / name must be 1-64 characters")
        return value


class PhotoSource(str, enum.Enum):
    ID_CARD = "id_card"  # chip photo read from the resident ID card
    CERTIFICATE = "certificate"  # photo on file with a certificate record
    CONSOLE = "console"  # uploaded by an administrator
    BATCH = "batch"  # bulk enrolment from a folder or zip


class FacePhoto(Base):
    """An enrolment photo, stored under the data directory, never on a public URL."""

    __tablename__ = "face_photo"

    id: Mapped[int] = mapped_column(primary_key=True)
    worker_id: Mapped[int] = mapped_column(ForeignKey("worker.id"), index=True)
    source: Mapped[PhotoSource] = mapped_column(enum_column(PhotoSource))
    path: Mapped[str] = mapped_column(String(255))  # relative to DATA_DIR
    sha256: Mapped[str] = mapped_column(String(64))
    width: Mapped[int]
    height: Mapped[int]
    quality: Mapped[dict] = mapped_column(default=dict)  # face width, blur, brightness...
    uploaded_by_id: Mapped[int | None] = mapped_column(ForeignKey("console_user.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    worker: Mapped[Worker] = relationship()


class FaceTemplate(Base):
    """A face embedding of one photo by one model; re-enrolment supersedes, never deletes."""

    __tablename__ = "face_template"
    __table_args__ = (Index("ix_face_template_worker_model_active", "worker_id", "model_name", "active"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    worker_id: Mapped[int] = mapped_column(ForeignKey("worker.id"))
    photo_id: Mapped[int] = mapped_column(ForeignKey("face_photo.id"), index=True)
    model_name: Mapped[str] = mapped_column(String(64))
    model_version: Mapped[str] = mapped_column(String(64))
    vector: Mapped[bytes] = mapped_column(LargeBinary)  # float32, little-endian
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    superseded_at: Mapped[datetime | None]

    worker: Mapped[Worker] = relationship()
    photo: Mapped[FacePhoto] = relationship()


class CertificateState(str, enum.Enum):
    """What a certificate is worth on a given day (computed, not stored)."""

    VALID = "valid"
    EXPIRING = "expiring"  # valid, but within the window the page asks about
    EXPIRED = "expired"
    REVOKED = "revoked"

    @property
    def label(self) -> str:
        """Return the Chinese label the console, exports and kiosk messages show."""
        return {"valid": "有效", "expiring": "即将到期", "expired": "已过期", "revoked": "已撤销"}[self.value]


class Certificate(Base):
    """A pass, printed and verifiable; valid until ``valid_until`` (the bureau's day) unless revoked."""

    __tablename__ = "certificate"

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(32), unique=True)
    verify_code: Mapped[str] = mapped_column(String(32), unique=True)
    worker_id: Mapped[int] = mapped_column(ForeignKey("worker.id"), index=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("exam_plan.id"))
    sitting_id: Mapped[int] = mapped_column(ForeignKey("sitting.id"), unique=True)
    # The requirement the pass fulfilled (it turns "expired" with the certificate), and the one that renews it.
    requirement_id: Mapped[int | None] = mapped_column(ForeignKey("exam_requirement.id"), index=True)
    renewal_requirement_id: Mapped[int | None] = mapped_column(ForeignKey("exam_requirement.id"), index=True)
    issued_on: Mapped[date]
    valid_until: Mapped[date]
    revoked_at: Mapped[datetime | None]
    revoked_reason: Mapped[str | None] = mapped_column(String(255))

    worker: Mapped[Worker] = relationship()
    renewal_requirement: Mapped[ExamRequirement | None] = relationship(foreign_keys=[renewal_requirement_id])


__all__ = [
    "JobCategory",
    "JOB_CATEGORY_LABELS",
    "Worker",
    "PhotoSource",
    "FacePhoto",
    "FaceTemplate",
    "Certificate",
    "CertificateState",
]
