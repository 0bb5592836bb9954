"""Where reminders may go: console users' addresses and choices, and workers' SMS opt-outs.

A console user always has the inbox (the duties the reminders are about are the user's job); e-mail and
SMS go to the addresses they give, each of which they may switch off. A worker's phone number is used for
reminders unless the worker has refused them: the processing rests on consent, which PIPL art. 15 lets
them withdraw at any time, and the refusal is kept with who recorded it and when.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from exam_server.database import DbSession
from exam_server.models import N_, ContactSettings, DomainError, User, Worker, WorkerOptOut
from exam_server.services import audit

PHONE = re.compile(r"^1[3-9]\d{9}$")  # a mainland mobile number
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


@dataclass(frozen=True)
class Reach:
    """A console user's addresses for reminders (None where they have none or switched it off)."""

    email: str | None
    phone: str | None


def settings_of(session: DbSession, user: User) -> ContactSettings:
    """Return the user's contact settings (empty ones if they never saved any)."""
    return session.get(ContactSettings, user.id) or ContactSettings(
        user_id=user.id, email=None, phone=None, email_enabled=True, sms_enabled=True
    )


def save(
    session: DbSession, user: User, email: str, phone: str, email_enabled: bool, sms_enabled: bool, now: datetime
) -> ContactSettings:
    """Save the user's own addresses and choices, refusing malformed ones."""
    email, phone = (email or "").strip(), re.sub(r"[\s-]", "", phone or "")
    if email and (len(email) > 254 or not EMAIL.match(email)):
        raise DomainError(N_("邮箱地址格式不正确：%(email)s"), email=email)
    if phone and not PHONE.match(phone):
        raise DomainError(N_("手机号应为11位大陆手机号码：%(phone)s"), phone=phone)
    found = session.get(ContactSettings, user.id)
    if found is None:
        found = ContactSettings(user_id=user.id)
        session.add(found)
    found.email, found.phone = email or None, phone or None
    found.email_enabled, found.sms_enabled, found.updated_at = email_enabled, sms_enabled, now
    audit.record(
        session,
        "contact_settings_saved",
        target=user,
        user_id=user.id,
        detail={"email": bool(email), "phone": bool(phone), "email_enabled": email_enabled, "sms_enabled": sms_enabled},
    )
    return found


def reach_of(session: DbSession, user_ids: list[int]) -> dict[int, Reach]:
    """Return each user's usable e-mail address and phone number."""
    if not user_ids:
        return {}
    found = session.scalars(select(ContactSettings).where(ContactSettings.user_id.in_(user_ids))).all()
    return {s.user_id: Reach(s.email if s.email_enabled else None, s.phone if s.sms_enabled else None) for s in found}


def opted_out(session: DbSession, worker_ids: list[int]) -> set[int]:
    """Return which of these workers have refused reminder SMS."""
    out: set[int] = set()
    for start in range(0, len(worker_ids), 500):
        chunk = worker_ids[start : start + 500]
        out.update(session.scalars(select(WorkerOptOut.worker_id).where(WorkerOptOut.worker_id.in_(chunk))))
    return out


def set_worker_opt_out(
    session: DbSession,
    worker: Worker,
    refuse: bool,
    now: datetime,
    *,
    user: User | None = None,
    source: str = "console",
) -> bool:
    """Record that the worker refuses (or accepts again) reminder SMS; return whether anything changed."""
    found = session.get(WorkerOptOut, worker.id)
    if refuse == (found is not None):
        return False
    if refuse:
        session.add(WorkerOptOut(worker_id=worker.id, at=now, recorded_by_id=user.id if user else None, source=source))
    else:
        session.delete(found)
    audit.record(
        session,
        "worker_sms_opt_out" if refuse else "worker_sms_opt_in",
        target=worker,
        user_id=user.id if user else None,
        detail={"source": source},
    )
    return True
