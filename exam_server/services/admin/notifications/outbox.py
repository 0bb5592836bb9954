"""The outbox: queue a message once per person and channel, send what is due, retry what may work later.

Never twice: a notification is queued under a unique key (the rule, its subject, the person, the
channel), and a dispatcher claims it with a conditional UPDATE before sending, so two dispatchers never
send the same one. A send whose outcome is unknown (the gateway took it but never answered) is marked
"uncertain" and not retried; one the gateway refused for now is retried with a doubling delay up to
NOTIFY_MAX_ATTEMPTS; one refused for good is "failed". Each attempt's error is kept on the row.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import func, insert, select, update

from exam_server import localday
from exam_server.database import DbSession, rows_touched
from exam_server.models import Channel, DeliveryStatus, Notification, User
from exam_server.services.admin.notifications.channels import Mailer, SendError, SmsGateway

log = logging.getLogger(__name__)
STALE_CLAIM = timedelta(minutes=10)  # a dispatcher that held a message this long died mid-send


@dataclass
class Message:
    """One notification to queue: who, over which channel, what."""

    rule: str
    subject_key: str  # the rule's subject, e.g. "plan5-e12"; with person and channel it makes the unique key
    channel: Channel
    subject: str
    body: str
    user_id: int | None = None
    worker_id: int | None = None
    address: str | None = None
    enterprise_id: int | None = None
    county_id: int | None = None
    template_code: str | None = None
    params: dict = field(default_factory=dict)

    @property
    def dedupe_key(self) -> str:
        person = f"u{self.user_id}" if self.user_id is not None else f"w{self.worker_id}"
        return f"{self.rule}:{self.subject_key}:{person}:{self.channel.value}"[:160]


def queue(session: DbSession, messages: list[Message], now: datetime) -> int:
    """Insert the messages (inbox ones already delivered) in one statement; return how many."""
    if not messages:
        return 0
    rows = [
        {
            "dedupe_key": m.dedupe_key,
            "rule": m.rule,
            "channel": m.channel,
            "user_id": m.user_id,
            "worker_id": m.worker_id,
            "address": m.address,
            "enterprise_id": m.enterprise_id,
            "county_id": m.county_id,
            "subject": m.subject[:200],
            "body": m.body,
            "template_code": m.template_code,
            "params": m.params,
            "status": DeliveryStatus.SENT if m.channel is Channel.INBOX else DeliveryStatus.PENDING,
            "attempts": 0,
            "next_attempt_at": None if m.channel is Channel.INBOX else now,
            "created_at": now,
            "sent_at": now if m.channel is Channel.INBOX else None,
        }
        for m in messages
    ]
    session.execute(insert(Notification), rows)
    return len(rows)


def sms_gateway() -> SmsGateway | None:
    """Return the configured SMS gateway, or None when SMS is not set up."""
    config = current_app.config
    if not config.get("SMS_GATEWAY_URL"):
        return None
    return SmsGateway(
        url=config["SMS_GATEWAY_URL"],
        access_key_id=config["SMS_ACCESS_KEY_ID"],
        access_key_secret=config["SMS_ACCESS_KEY_SECRET"],
        sign_name=config["SMS_SIGN_NAME"],
        region=config.get("SMS_REGION") or "cn-hangzhou",
        timeout=float(config.get("SMS_TIMEOUT_SECONDS") or 10.0),
    )


def mailer() -> Mailer | None:
    """Return the configured SMTP mailer, or None when e-mail is not set up."""
    config = current_app.config
    if not config.get("SMTP_HOST"):
        return None
    return Mailer(
        host=config["SMTP_HOST"],
        port=int(config.get("SMTP_PORT") or 25),
        sender=config["SMTP_FROM"],
        security=config.get("SMTP_SECURITY") or "starttls",
        username=config.get("SMTP_USERNAME"),
        password=config.get("SMTP_PASSWORD"),
        timeout=float(config.get("SMTP_TIMEOUT_SECONDS") or 20.0),
    )


def _send(notification: Notification, now: datetime) -> str:
    """Send one claimed notification over its channel; return the provider's id or raise SendError."""
    if notification.channel is Channel.SMS:
        gateway = sms_gateway()
        if gateway is None or not notification.template_code:
            raise SendError("短信网关或短信模板未配置")
        return gateway.send(
            notification.address or "", notification.template_code, notification.params, str(notification.id), now
        )
    smtp = mailer()
    if smtp is None:
        raise SendError("邮件服务器未配置")
    domain = (current_app.config.get("SMTP_FROM") or "exam-server").rpartition("@")[2] or "exam-server"
    return smtp.send(
        notification.address or "", notification.subject, notification.body, f"<n{notification.id}@{domain}>"
    )


def _claim(session: DbSession, notification_id: int, now: datetime) -> bool:
    claimed = rows_touched(
        session.execute(
            update(Notification)
            .where(Notification.id == notification_id, Notification.status == DeliveryStatus.PENDING)
            .values(status=DeliveryStatus.SENDING, attempts=Notification.attempts + 1, next_attempt_at=now)
            .execution_options(synchronize_session=False)
        )
    )
    session.commit()
    return bool(claimed)


def _settle(notification: Notification, error: SendError | None, provider_id: str, now: datetime) -> str:
    """Record an attempt's outcome on the row and return the new status's value."""
    config = current_app.config
    if error is None:
        notification.status, notification.sent_at, notification.provider_id = DeliveryStatus.SENT, now, provider_id
        notification.last_error = None
    elif error.uncertain:
        notification.status = DeliveryStatus.UNCERTAIN
    elif error.retry and notification.attempts < int(config["NOTIFY_MAX_ATTEMPTS"]):
        delay = int(config["NOTIFY_RETRY_SECONDS"]) * 2 ** (notification.attempts - 1)
        notification.status, notification.next_attempt_at = DeliveryStatus.PENDING, now + timedelta(seconds=delay)
    else:
        notification.status = DeliveryStatus.FAILED
    if error is not None:
        notification.last_error = f"第{notification.attempts}次：{error}"[:500]
    return notification.status.value


def dispatch(session: DbSession, now: datetime | None = None, batch: int = 200) -> dict[str, int]:
    """Send the SMS and e-mail due at ``now`` (a batch at most), one commit each; return counts by outcome."""
    now = now or localday.utcnow()
    abandoned = rows_touched(
        session.execute(
            update(Notification)
            .where(Notification.status == DeliveryStatus.SENDING, Notification.next_attempt_at < now - STALE_CLAIM)
            .values(status=DeliveryStatus.UNCERTAIN, last_error="发送进程中断，结果未知，不再重发以免重复")
            .execution_options(synchronize_session=False)
        )
    )
    session.commit()
    due = session.scalars(
        select(Notification.id)
        .where(
            Notification.status == DeliveryStatus.PENDING,
            Notification.channel != Channel.INBOX,
            Notification.next_attempt_at <= now,
        )
        .order_by(Notification.next_attempt_at, Notification.id)
        .limit(batch)
    ).all()
    counts = {"sent": 0, "pending": 0, "failed": 0, "uncertain": 0, "abandoned": abandoned}
    for notification_id in due:
        if not _claim(session, notification_id, now):
            continue  # another dispatcher has it
        notification = session.get(Notification, notification_id, populate_existing=True)
        if notification is None:
            continue
        error, provider_id = None, ""
        try:
            provider_id = _send(notification, now)
        except SendError as exc:
            error = exc
            log.warning("notification %s (%s) not sent: %s", notification.id, notification.channel.value, exc)
        counts[_settle(notification, error, provider_id, now)] += 1
        session.commit()
    return counts


# ---- the console's inbox -------------------------------------------------------------------------------------------


def inbox(user: User):
    """Return the SELECT of the user's inbox, newest first."""
    return (
        select(Notification)
        .where(Notification.user_id == user.id, Notification.channel == Channel.INBOX)
        .order_by(Notification.created_at.desc(), Notification.id.desc())
    )


def unread(session: DbSession, user: User) -> int:
    return (
        session.scalar(
            select(func.count(Notification.id)).where(
                Notification.user_id == user.id, Notification.channel == Channel.INBOX, Notification.read_at.is_(None)
            )
        )
        or 0
    )


def mark_read(session: DbSession, user: User, now: datetime, notification_id: int | None = None) -> int:
    """Mark one of the user's inbox messages (or all of them) read; return how many changed."""
    stmt = update(Notification).where(
        Notification.user_id == user.id, Notification.channel == Channel.INBOX, Notification.read_at.is_(None)
    )
    if notification_id is not None:
        stmt = stmt.where(Notification.id == notification_id)
    return rows_touched(session.execute(stmt.values(read_at=now).execution_options(synchronize_session=False)))
