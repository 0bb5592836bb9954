"""Reviewers' decisions on face alerts: confirm or dismiss, and resume or void a suspended sitting."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from exam_server.models import (
    DomainError,
    FaceCheck,
    ReviewCase,
    ReviewKind,
    ReviewStatus,
    Sitting,
    SittingStatus,
    User,
    Worker,
    utcnow,
)
from exam_server.services import audit, policy
from exam_server.services.exam import captures
from exam_server.services.faces import face_service


def _check(user: User, reason: str, worker: Worker) -> str:
    if not policy.may_decide(user, worker):
        raise DomainError(
            "只有负责该人员所在区县的人脸审核员、区县管理员或市级管理员可以处理此告警 / "
            "only reviewers, county administrators of the worker's county and city administrators decide"
        )
    reason = (reason or "").strip()
    if not 2 <= len(reason) <= 500:
        raise DomainError("请填写处理理由（2-500字） / give a reason of 2-500 characters")
    return reason


def decide(
    session: Session,
    case: ReviewCase,
    outcome: ReviewStatus | str,
    reason: str,
    user: User,
    now: datetime | None = None,
) -> ReviewCase:
    """Close an open case as confirmed (a real problem) or dismissed (a false alarm), with its effects."""
    # A suspended sitting resumes when its mismatch alert is dismissed and is voided when it is
    # confirmed; a confirmed duplicate enrolment takes the new template out of use.
    now = now or utcnow()
    outcome = ReviewStatus(outcome)
    if outcome is ReviewStatus.OPEN:
        raise DomainError("处理结果须为确认或驳回 / outcome must be confirmed or dismissed")
    reason = _check(user, reason, case.worker)
    closed = session.execute(
        update(ReviewCase)
        .where(ReviewCase.id == case.id, ReviewCase.status == ReviewStatus.OPEN)
        .values(status=outcome, reason=reason, decided_by_id=user.id, decided_at=now)
        .execution_options(synchronize_session=False)
    ).rowcount
    if not closed:
        raise DomainError("该告警已被处理 / this case was already decided")
    session.refresh(case)
    sitting = (
        session.scalar(
            select(Sitting)
            .where(Sitting.id == case.sitting_id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
        if case.sitting_id
        else None
    )
    if case.kind is ReviewKind.IN_EXAM_MISMATCH and sitting is not None and sitting.status is SittingStatus.SUSPENDED:
        if outcome is ReviewStatus.DISMISSED:
            resume_sitting(session, sitting, user, reason, now)
        else:
            void_sitting(session, sitting, user, reason, now)
    if case.kind is ReviewKind.DUPLICATE_ENROLMENT and outcome is ReviewStatus.CONFIRMED and case.face_check_id:
        template_id = (session.get(FaceCheck, case.face_check_id).detail or {}).get("template_id")
        if template_id:
            face_service.deactivate_template(session, template_id, now)
    audit.record(
        session,
        f"review_{outcome.value}",
        target=case,
        user_id=user.id,
        detail={"kind": case.kind.value, "reason": reason, "sitting_id": case.sitting_id},
    )
    return case


def resume_sitting(session: Session, sitting: Sitting, user: User, reason: str, now: datetime | None = None) -> Sitting:
    """Let a suspended sitting go on, giving back the time it spent waiting for the reviewer."""
    now = now or utcnow()
    reason = _check(user, reason, sitting.worker)
    suspended_at = (
        session.scalar(
            select(ReviewCase.created_at)
            .where(ReviewCase.sitting_id == sitting.id, ReviewCase.kind == ReviewKind.IN_EXAM_MISMATCH)
            .order_by(ReviewCase.created_at.desc())
            .limit(1)
        )
        or now
    )
    moved = session.execute(
        update(Sitting)
        .where(Sitting.id == sitting.id, Sitting.status == SittingStatus.SUSPENDED)
        .values(
            status=SittingStatus.IN_PROGRESS,
            status_reason=None,
            deadline_at=sitting.deadline_at + max(now - suspended_at, timedelta(0)),
        )
        .execution_options(synchronize_session=False)
    ).rowcount
    if not moved:
        raise DomainError("该考试未处于暂停状态 / the sitting is not suspended")
    session.refresh(sitting)
    captures.schedule(session, sitting, now)
    audit.record(
        session,
        "sitting_resumed_by_review",
        target=sitting,
        user_id=user.id,
        detail={"reason": reason, "deadline_at": sitting.deadline_at.isoformat()},
    )
    return sitting


def void_sitting(session: Session, sitting: Sitting, user: User, reason: str, now: datetime | None = None) -> Sitting:
    """Void an active sitting; the attempt stays counted and its pending captures are cancelled."""
    now = now or utcnow()
    reason = _check(user, reason, sitting.worker)
    moved = session.execute(
        update(Sitting)
        .where(Sitting.id == sitting.id, Sitting.status.in_([SittingStatus.IN_PROGRESS, SittingStatus.SUSPENDED]))
        .values(status=SittingStatus.VOIDED, status_reason=reason[:255])
        .execution_options(synchronize_session=False)
    ).rowcount
    if not moved:
        raise DomainError("只能作废进行中或暂停的考试 / only an active sitting can be voided")
    session.refresh(sitting)
    captures.cancel_pending(session, sitting.id, now)
    audit.record(session, "sitting_voided", target=sitting, user_id=user.id, detail={"reason": reason})
    return sitting
