"""Console users, their roles and scope, and the audit log."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column, relationship, validates

from exam_server.models.base import Base, enum_column, utcnow
from exam_server.models.org import County, Enterprise


class Role(str, enum.Enum):
    CITY = "city"  # city administrator: everything
    COUNTY = "county"  # county administrator: their county
    ENTERPRISE = "enterprise"  # enterprise manager: their enterprise only
    REVIEWER = "reviewer"  # face alerts


ROLE_LABELS = {
    Role.CITY: "市级管理员",
    Role.COUNTY: "区县管理员",
    Role.ENTERPRISE: "企业管理员",
    Role.REVIEWER: "人脸审核员",
}


class User(Base):
    __tablename__ = "console_user"
    __table_args__ = (
        CheckConstraint("role != 'county' OR county_id IS NOT NULL", name="county_scope"),
        CheckConstraint("role != 'enterprise' OR enterprise_id IS NOT NULL", name="enterprise_scope"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(64), default="")
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[Role] = mapped_column(enum_column(Role))
    county_id: Mapped[int | None] = mapped_column(ForeignKey("county.id"), index=True)
    enterprise_id: Mapped[int | None] = mapped_column(ForeignKey("enterprise.id"), index=True)
    active: Mapped[bool] = mapped_column(default=True)
    # Bumped on password change; the session stores it, so older sessions stop working.
    session_version: Mapped[int] = mapped_column(default=1)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_login_at: Mapped[datetime | None]
    # The console language the user chose ("zh_Hans_CN" or "en"); None follows the browser (i18n.locale_selector).
    locale: Mapped[str | None] = mapped_column(String(16))

    county: Mapped[County | None] = relationship()
    enterprise: Mapped[Enterprise | None] = relationship()

    @validates("username")
    def _check_username(self, _key: str, value: str) -> str:
        value = (value or "").strip()
        if not 3 <= len(value) <= 64:
            raise ValueError("用户名须为3-64个字符 / username must be 3-64 characters")
        return value

    # flask-login protocol, written out so the model needs no Flask import.
    @property
    def is_authenticated(self) -> bool:
        return True

    @property
    def is_active(self) -> bool:
        return self.active

    @property
    def is_anonymous(self) -> bool:
        return False

    def get_id(self) -> str:
        return f"{self.id}:{self.session_version}"


class AuditLog(Base):
    """Who did what to which object, from where; written in the same transaction as the change."""

    __tablename__ = "audit_log"
    __table_args__ = (
        Index("ix_audit_at", "at"),
        Index("ix_audit_action_at", "action", "at"),
        Index("ix_audit_target", "target_type", "target_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("console_user.id"), index=True)
    kiosk_id: Mapped[int | None] = mapped_column(ForeignKey("kiosk.id"))
    action: Mapped[str] = mapped_column(String(64))
    target_type: Mapped[str | None] = mapped_column(String(32))
    target_id: Mapped[str | None] = mapped_column(String(64))
    detail: Mapped[dict] = mapped_column(default=dict)
    ip: Mapped[str | None] = mapped_column(String(45))
