"""One-time sign-in codes for a worker's own pages: issued at a kiosk after a face-checked sitting or printed
by the worker's enterprise manager, used once, within minutes (kiosk) or a day (printed)."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import joinedload

from exam_server.database import DbSession
from exam_server.models import N_, DomainError, Kiosk, Sitting, User, Worker, WorkerCredential, WorkerSignInCode
from exam_server.services import audit
from exam_server.services.policy import can_see_enterprise
from exam_server.services.practice import pins

# A code on a kiosk screen is scanned there and then; a printed one is handed out at a safety meeting.
KIOSK_TTL = timedelta(minutes=10)
PRINTED_TTL = timedelta(hours=24)
# 128 random bits, URL-safe: guessing one is hopeless, so a plain SHA-256 of it is stored (as for kiosk tokens).
CODE_BYTES = 16
# A manager prints codes for a page of workers at most.
MAX_PRINTED = 100


@dataclass(frozen=True)
class Issued:
    """A code just issued: the code itself (shown once, never stored) and whom and until when it signs in."""

    worker: Worker
    code: str
    expires_at: datetime


def digest(code: str) -> str:
    """Return the stored form of a code."""
    return hashlib.sha256(code.encode("utf-8")).hexdigest()


def _issue(
    session: DbSession, worker: Worker, now: datetime, ttl: timedelta, checkin_id: int | None, user: User | None
) -> Issued:
    code = secrets.token_urlsafe(CODE_BYTES)
    row = WorkerSignInCode(
        worker_id=worker.id,
        code_hash=digest(code),
        created_at=now,
        expires_at=now + ttl,
        checkin_id=checkin_id,
        issued_by_id=user.id if user is not None else None,
    )
    session.add(row)
    session.flush()
    return Issued(worker, code, row.expires_at)


def issue_at_kiosk(session: DbSession, kiosk: Kiosk, sitting: Sitting, now: datetime) -> Issued:
    """Issue a code for the worker who just submitted this face-checked sitting at this kiosk (as for a PIN)."""
    found = pins.after_sitting(session, kiosk, sitting, now)
    worker = session.get_one(Worker, found.worker_id)
    issued = _issue(session, worker, now, KIOSK_TTL, found.id, None)
    audit.record(
        session,
        "worker_sign_in_code_issued",
        target=worker,
        kiosk_id=kiosk.id,
        detail={"checkin_id": found.id, "sitting_id": sitting.id},
    )
    return issued


def issue_printed(session: DbSession, user: User, worker_ids: list[int], now: datetime) -> list[Issued]:
    """Issue a code for each of these workers, all of them in the user's scope and active, or refuse."""
    wanted = sorted(set(worker_ids))
    if not wanted:
        raise DomainError(N_("请先选择要打印登录码的人员。"))
    if len(wanted) > MAX_PRINTED:
        raise DomainError(N_("一次最多打印%(count)d人的登录码。"), count=MAX_PRINTED)
    workers = session.scalars(
        select(Worker).where(Worker.id.in_(wanted)).options(joinedload(Worker.enterprise)).order_by(Worker.name)
    ).all()
    # A worker outside the user's scope is refused as unknown: the page must not tell who exists elsewhere.
    if len(workers) != len(wanted) or not all(can_see_enterprise(user, w.enterprise) for w in workers):
        raise LookupError("worker not in scope")
    if not all(w.active for w in workers):
        raise DomainError(N_("停用的人员不能打印登录码。"))
    issued = [_issue(session, w, now, PRINTED_TTL, None, user) for w in workers]
    for worker in workers:
        audit.record(session, "worker_sign_in_code_issued", target=worker, user_id=user.id, detail={"printed": True})
    return issued


def pending(session: DbSession, code: str, now: datetime) -> Worker | None:
    """Return the active worker an unused, unexpired code signs in, without using it (the confirmation page)."""
    row = session.scalar(
        select(WorkerSignInCode)
        .where(WorkerSignInCode.code_hash == digest(code or ""))
        .options(joinedload(WorkerSignInCode.worker))
    )
    if row is None or row.used_at is not None or now >= row.expires_at or not row.worker.active:
        return None
    return row.worker


def redeem(session: DbSession, code: str, now: datetime) -> tuple[Worker, WorkerCredential] | None:
    """Use the code once: return the worker and the credential carrying their session, or None if it will not do."""
    # One UPDATE marks it used only if it still is unused and in time: two requests racing cannot both win.
    used = session.execute(
        update(WorkerSignInCode)
        .where(
            WorkerSignInCode.code_hash == digest(code or ""),
            WorkerSignInCode.used_at.is_(None),
            WorkerSignInCode.expires_at > now,
        )
        .values(used_at=now)
        .returning(WorkerSignInCode.worker_id)
    ).scalar_one_or_none()
    if used is None:
        return None
    worker = session.get_one(Worker, used)
    if not worker.active:
        return None
    credential = session.get(WorkerCredential, worker.id)
    if credential is None:
        # No PIN yet: the row carries the session version only, until the worker sets a PIN at a kiosk.
        credential = WorkerCredential(worker_id=worker.id, session_version=1, pin_hash=None, set_at=now)
        session.add(credential)
        session.flush()
    return worker, credential
