"""Reminders: the outbox of notifications, the rules that fired, contact settings and opt-outs."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from exam_server.models.base import Base, enum_column, utcnow


class Channel(str, enum.Enum):
    INBOX = "inbox"  # the console's own inbox: always, for every console user addressed
    SMS = "sms"
    EMAIL = "email"


class DeliveryStatus(str, enum.Enum):
    PENDING = "pending"  # waiting for its (next) attempt
    SENDING = "sending"  # claimed by a dispatcher; left here only if it died mid-send
    SENT = "sent"
    FAILED = "failed"  # refused for good, or out of attempts
    UNCERTAIN = "uncertain"  # the gateway may have sent it (the answer never came): never retried


CHANNEL_LABELS = {Channel.INBOX: "站内消息", Channel.SMS: "短信", Channel.EMAIL: "电子邮件"}
DELIVERY_LABELS = {
    DeliveryStatus.PENDING: "待发送",
    DeliveryStatus.SENDING: "发送中",
    DeliveryStatus.SENT: "已发送",
    DeliveryStatus.FAILED: "发送失败",
    DeliveryStatus.UNCERTAIN: "结果未知",
}


class Notification(Base):
    """One message to one person over one channel: what, to whom, and every attempt's outcome."""

    __tablename__ = "notification"
    __table_args__ = (
        Index("ix_notification_due", "status", "next_attempt_at"),
        Index("ix_notification_inbox", "user_id", "channel", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # The same reminder to the same person over the same channel is queued once, whoever queues it.
    dedupe_key: Mapped[str] = mapped_column(String(160), unique=True)
    rule: Mapped[str] = mapped_column(String(32))
    channel: Mapped[Channel] = mapped_column(enum_column(Channel))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("console_user.id"))
    worker_id: Mapped[int | None] = mapped_column(ForeignKey("worker.id"), index=True)
    address: Mapped[str | None] = mapped_column(String(254))  # the phone number or e-mail address used
    enterprise_id: Mapped[int | None] = mapped_column(ForeignKey("enterprise.id"), index=True)
    county_id: Mapped[int | None] = mapped_column(ForeignKey("county.id"), index=True)
    subject: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    template_code: Mapped[str | None] = mapped_column(String(64))  # the SMS gateway's approved template
    params: Mapped[dict] = mapped_column(default=dict)  # the template's variables
    status: Mapped[DeliveryStatus] = mapped_column(enum_column(DeliveryStatus), default=DeliveryStatus.PENDING)
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(String(500))
    provider_id: Mapped[str | None] = mapped_column(String(64))  # the gateway's id of the sent message
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None]
    read_at: Mapped[datetime | None]


class Notice(Base):
    """A rule that fired for one subject (a plan opening, a certificate expiring...): it fires once."""

    __tablename__ = "notice"
    __table_args__ = (UniqueConstraint("rule", "subject_type", "subject_id", name="uq_notice_rule_subject"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    rule: Mapped[str] = mapped_column(String(32))
    subject_type: Mapped[str] = mapped_column(String(32))
    subject_id: Mapped[int]
    fired_at: Mapped[datetime] = mapped_column(default=utcnow)
    messages: Mapped[int] = mapped_column(default=0)


class ContactSettings(Base):
    """Where a console user takes reminders besides the inbox, and which channels they accept."""

    __tablename__ = "contact_settings"

    user_id: Mapped[int] = mapped_column(ForeignKey("console_user.id"), primary_key=True)
    email: Mapped[str | None] = mapped_column(String(254))
    phone: Mapped[str | None] = mapped_column(String(20))
    email_enabled: Mapped[bool] = mapped_column(default=True)
    sms_enabled: Mapped[bool] = mapped_column(default=True)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class WorkerOptOut(Base):
    """A worker's refusal of reminder SMS (consent withdrawn under PIPL art. 15), kept as the record of it."""

    __tablename__ = "worker_opt_out"

    worker_id: Mapped[int] = mapped_column(ForeignKey("worker.id"), primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("console_user.id"))
    source: Mapped[str] = mapped_column(String(32), default="console")  # console, worker (self-service), sms


__all__ = [
    "CHANNEL_LABELS",
    "Channel",
    "ContactSettings",
    "DELIVERY_LABELS",
    "DeliveryStatus",
    "Notice",
    "Notification",
    "WorkerOptOut",
]
