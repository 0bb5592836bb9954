"""Worker PINs: set (or reset) at a kiosk on the result screen of a face-checked sitting, checked at sign-in."""

from __future__ import annotations

import functools
import re
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import bindparam, select, true
from sqlalchemy.orm import joinedload
from werkzeug.security import check_password_hash, generate_password_hash

from exam_server.citizen_id import normalise_citizen_id
from exam_server.database import DbSession
from exam_server.models import (
    CheckIn,
    CheckInStatus,
    Decision,
    Enterprise,
    FaceCheck,
    Industry,
    Kiosk,
    ReviewCase,
    ReviewStatus,
    Sitting,
    SittingStatus,
    Worker,
    WorkerCredential,
)
from exam_server.services import audit
from exam_server.services.exam import question_store
from exam_server.services.exam.refusals import Refusal
from exam_server.services.practice import drills

PIN_LENGTH = 6
_DIGITS = re.compile(rf"[0-9]{{{PIN_LENGTH}}}")


@functools.cache
def _dummy_hash() -> str:
    """Return a hash to check against when the worker or their PIN does not exist: every sign-in costs one check."""
    return generate_password_hash("000000-not-a-real-pin")


def pin_problem(worker: Worker, pin: str) -> str | None:
    """Return why this PIN will not do for the worker (None: it will), in words the kiosk can show."""
    if not _DIGITS.fullmatch(pin or ""):
        return f"密码须为{PIN_LENGTH}位数字。"
    steps = {int(b) - int(a) for a, b in zip(pin, pin[1:], strict=False)}
    if len(set(pin)) == 1 or steps in ({1}, {-1}):
        return "密码太简单（如 111111、123456），请换一个。"
    citizen_id = worker.citizen_id
    if pin in (citizen_id[-PIN_LENGTH:], citizen_id[8:14]):  # the last digits, the birth date as YYMMDD
        return "密码不能取自身份证号或出生日期，请换一个。"
    return None


def _face_in_doubt(session: DbSession, sitting: Sitting) -> bool:
    """Tell whether the sitting's face checks leave a doubt that the worker sat it to the end."""
    # A review case not dismissed: a borderline entry check, a look-alike, several faces, a suspension.
    case = session.scalar(
        select(ReviewCase.id)
        .where(ReviewCase.sitting_id == sitting.id, ReviewCase.status != ReviewStatus.DISMISSED)
        .limit(1)
    )
    if case is not None:
        return True
    # The person at the kiosk now is the one the last compared frame showed: that must not be someone else.
    last = session.scalar(
        select(FaceCheck.decision)
        .where(FaceCheck.sitting_id == sitting.id, FaceCheck.decision != Decision.REFUSED)
        .order_by(FaceCheck.id.desc())
        .limit(1)
    )
    return last is Decision.MISMATCH


def after_sitting(session: DbSession, kiosk: Kiosk, sitting: Sitting, now: datetime) -> CheckIn:
    """Return the passed check-in that opened or resumed this kiosk's sitting just submitted, or refuse.

    The proof a PIN or sign-in code is the worker's: their face check passed at this kiosk, nothing
    since doubts it, and the sitting was submitted here moments ago (the worker is still at the screen).
    """
    if sitting.kiosk_id != kiosk.id:
        raise Refusal("sitting_elsewhere")
    if sitting.status is not SittingStatus.SUBMITTED or sitting.submitted_at is None:
        raise Refusal("sitting_not_submitted")
    if now > sitting.submitted_at + timedelta(seconds=current_app.config["PIN_WINDOW_SECONDS"]):
        raise Refusal("pin_window_closed")
    # A sitting exists only after a passed check-in, but one opened by other means (demo data, an import)
    # or resumed at another kiosk has none here: no proof at this screen.
    checkin = session.scalar(
        select(CheckIn)
        .where(
            CheckIn.sitting_id == sitting.id,
            CheckIn.kiosk_id == kiosk.id,
            CheckIn.worker_id == sitting.worker_id,
            CheckIn.status == CheckInStatus.PASSED,
        )
        .order_by(CheckIn.id.desc())
        .limit(1)
    )
    if checkin is None or _face_in_doubt(session, sitting):
        raise Refusal("face_not_confirmed")
    return checkin


def _set_for(session: DbSession, sitting: Sitting, credential: WorkerCredential | None) -> bool:
    """Tell whether the credential's PIN was set after this sitting (one PIN per sitting)."""
    if credential is None or credential.checkin_id is None:
        return False
    return session.scalar(select(CheckIn.sitting_id).where(CheckIn.id == credential.checkin_id)) == sitting.id


def offer_until(session: DbSession, kiosk: Kiosk, sitting: Sitting, now: datetime) -> datetime | None:
    """Return until when this kiosk may set the worker's PIN after the sitting (None: it may not)."""
    if sitting.status is not SittingStatus.SUBMITTED:
        return None  # the common case, answered without a query
    try:
        after_sitting(session, kiosk, sitting, now)
    except Refusal:
        return None
    if _set_for(session, sitting, session.get(WorkerCredential, sitting.worker_id)):
        return None
    assert sitting.submitted_at is not None  # after_sitting refuses a sitting without it
    return sitting.submitted_at + timedelta(seconds=current_app.config["PIN_WINDOW_SECONDS"])


def set_pin(session: DbSession, kiosk: Kiosk, sitting: Sitting, pin: str, now: datetime) -> Worker:
    """Set or replace the worker's PIN at the kiosk where they just submitted the sitting; once per sitting."""
    found = after_sitting(session, kiosk, sitting, now)
    worker = session.get_one(Worker, sitting.worker_id)
    credential = session.get(WorkerCredential, worker.id)
    if _set_for(session, sitting, credential):
        raise Refusal("pin_already_set")
    problem = pin_problem(worker, pin)
    if problem:
        raise Refusal("invalid_pin", problem, field="pin")
    replace_pin(session, worker, pin, now, found.id)
    audit.record(
        session,
        "worker_pin_set",
        target=worker,
        kiosk_id=kiosk.id,
        detail={"checkin_id": found.id, "sitting_id": sitting.id},
    )
    return worker


def replace_pin(session: DbSession, worker: Worker, pin: str, now: datetime, checkin_id: int) -> WorkerCredential:
    """Store the worker's new PIN, proved by the passed check-in; a new PIN ends every older session."""
    credential = session.get(WorkerCredential, worker.id)
    if credential is None:
        credential = WorkerCredential(worker_id=worker.id, session_version=1)
        session.add(credential)
    else:
        credential.session_version += 1
    credential.pin_hash = generate_password_hash(pin)
    credential.checkin_id = checkin_id
    credential.set_at = now
    session.flush()
    return credential


def authenticate(session: DbSession, citizen_id: str, pin: str) -> tuple[Worker, WorkerCredential] | None:
    """Return the active worker and credential this citizen ID and PIN name, or None."""
    try:
        normalised, _ = normalise_citizen_id(citizen_id or "")
    except ValueError:
        normalised = ""
    row = session.execute(
        select(Worker, WorkerCredential)
        .join(WorkerCredential, WorkerCredential.worker_id == Worker.id)
        .where(Worker.citizen_id == normalised)
    ).one_or_none()
    if row is None:
        check_password_hash(_dummy_hash(), pin or "")
        return None
    worker, credential = row
    if credential.pin_hash is None:  # signed in by one-time code only, no PIN set
        check_password_hash(_dummy_hash(), pin or "")
        return None
    if not check_password_hash(credential.pin_hash, pin or "") or not worker.active:
        return None
    return worker, credential


# Every worker page asks this: plain columns of the tables (no ORM objects, not even the ORM's execution path), the
# statement built once (building a select costs more CPU than running it). It also reads the question table's state
# (question_store.TABLE_STATE, one row), which every practice page needs: one round trip where there were two.
_W, _C, _E, _I = (model.__table__ for model in (Worker, WorkerCredential, Enterprise, Industry))
_SESSION_LEARNER = (
    select(_W.c.active, _W.c.job_category, _I.c.code, _C.c.session_version, question_store.TABLE_STATE)
    .select_from(
        _W.join(_C, _C.c.worker_id == _W.c.id)
        .join(_E, _E.c.id == _W.c.enterprise_id)
        .join(_I, _I.c.id == _E.c.industry_id)
        .join(question_store.TABLE_STATE, true())
    )
    .where(_W.c.id == bindparam("worker_id"))
)


def session_learner(session: DbSession, worker_id: int, version: int) -> drills.Learner | None:
    """Return who a worker's session names if it is still valid: active, and no PIN set since it began."""
    row = session.execute(_SESSION_LEARNER, {"worker_id": worker_id}).one_or_none()
    if row is None:
        return None
    question_store.note_table_state(session, (row.questions, row.updated, row.last_id))
    if row.session_version != version or not row.active:
        return None
    return drills.Learner(worker_id, row.code, row.job_category.value)


def worker_row(session: DbSession, worker_id: int) -> Worker:
    """Return the worker's row with their enterprise and industry, for the pages that show more than practice."""
    return session.execute(
        select(Worker)
        .where(Worker.id == worker_id)
        .options(joinedload(Worker.enterprise).joinedload(Enterprise.industry))
    ).scalar_one()
