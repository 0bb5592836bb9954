"""The worker's consent to be filmed, given at the kiosk before the first capture of each visit (PIPL art. 29)."""

from __future__ import annotations

from datetime import datetime

from flask import current_app
from sqlalchemy import select, update

from exam_server.database import DbSession
from exam_server.models import CheckIn, FaceConsent, Sitting
from exam_server.services import audit
from exam_server.services.exam.refusals import Refusal


def retention_days() -> int:
    """Return how long kiosk frames are kept, as the notice tells the worker (EXAM_EVIDENCE_RETENTION_DAYS)."""
    return int(current_app.config["EVIDENCE_RETENTION_DAYS"])


def notice() -> dict:
    """Return the server's part of the notice: the retention the kiosk must tell before asking."""
    return {"retention_days": retention_days()}


def check(notice_version: str, told_days: int) -> None:
    """Refuse a consent given to a notice that told another retention than the server keeps."""
    if told_days != retention_days():
        raise Refusal(
            "consent_outdated",
            f"告知的保存期限（{told_days}天）与服务器不一致（{retention_days()}天），请重新阅读并同意。",
            retention_days=retention_days(),
        )
    if not notice_version.strip():
        raise Refusal("invalid_request", "consent.notice_version 不能为空。", field="consent.notice_version")


def record(session: DbSession, checkin: CheckIn, notice_version: str, told_days: int, now: datetime) -> FaceConsent:
    """Record the consent of the check-in's visit (check() first: nothing may be analysed before it)."""
    given = FaceConsent(
        checkin_id=checkin.id,
        worker_id=checkin.worker_id,
        kiosk_id=checkin.kiosk_id,
        notice_version=notice_version.strip(),
        retention_days=told_days,
        accepted_at=now,
    )
    session.add(given)
    session.flush()
    audit.record(
        session,
        "face_consent_given",
        target=checkin,
        kiosk_id=checkin.kiosk_id,
        detail={"notice_version": given.notice_version, "retention_days": told_days},
    )
    return given


def require(session: DbSession, checkin: CheckIn) -> None:
    """Refuse to analyse frames of a check-in whose worker did not consent at the kiosk."""
    if session.scalar(select(FaceConsent.id).where(FaceConsent.checkin_id == checkin.id)) is None:
        raise Refusal("consent_required")


def attach(session: DbSession, checkin: CheckIn, sitting: Sitting) -> None:
    """Record the consent with the sitting the visit opened or resumed."""
    session.execute(
        update(FaceConsent)
        .where(FaceConsent.checkin_id == checkin.id, FaceConsent.sitting_id.is_(None))
        .values(sitting_id=sitting.id)
        .execution_options(synchronize_session=False)
    )


def of_sitting(session: DbSession, sitting_id: int) -> list[FaceConsent]:
    """Return the consents of a sitting's visits, oldest first."""
    return list(
        session.scalars(
            select(FaceConsent).where(FaceConsent.sitting_id == sitting_id).order_by(FaceConsent.accepted_at)
        )
    )
