"""Reviewers' decisions on face alerts: confirm or dismiss, and resume or void a suspended sitting."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update

from exam_server.database import DbSession, rows_touched
from exam_server.face.errors import reason_zh
from exam_server.models import (
    N_,
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

# Summaries stored before cases named the look-alike and the reason: "与工人384的", "（最后一次：face_mismatch）".
_WORKER_ID = re.compile(r"(?:工人|从业人员)\d+的")
_LAST_CODE = re.compile(r"（最后一次：(身份证照片 ?)?([a-z_]+)）")
_MODEL_LABELS = {"fused": N_("融合"), "dlib": "dlib", "sface": "SFace", "arcface": "ArcFace"}


@dataclass(frozen=True)
class Measure:
    """One distance a face decision weighed, with the threshold it was held to."""

    label: str
    distance: float
    threshold: float | None

    @property
    def beyond(self) -> bool:
        """Tell whether the distance is over the threshold (not the same person, for a 1:1 check)."""
        return self.threshold is not None and self.distance > self.threshold


def model_label(model_name: str | None) -> str:
    """Return how the console names a model ("融合" for the fused decision)."""
    name = (model_name or "").lower()
    return next((label for key, label in _MODEL_LABELS.items() if name.startswith(key)), model_name or "")


def measures(check: FaceCheck | None) -> list[Measure]:
    """Return the decision's distance and threshold, then each fused model's, from the check and its detail.

    A refused check-in stores no distance on the row (the burst was refused), but its detail keeps the
    judgement: the fused distance and every model's, each against its own threshold.
    """
    if check is None:
        return []
    identity = (check.detail or {}).get("identity") or {}
    distance = check.distance if check.distance is not None else identity.get("distance")
    threshold = check.threshold if check.threshold is not None else identity.get("threshold")
    found = [Measure(model_label(check.model_name), distance, threshold)] if distance is not None else []
    for verdict in identity.get("per_model") or []:
        if verdict.get("distance") is not None:
            found.append(Measure(model_label(verdict.get("model_name")), verdict["distance"], verdict.get("threshold")))
    return found


def summary(case: ReviewCase, tr: Callable[[str], str] = str) -> str:
    """Return the case's summary in the language ``tr`` (the console's gettext) translates to, never ids or codes.

    A case stores its msgid and values (``summary_message``); the look-alike is named as they are called
    now and a refusal reason is translated too. Cases stored before that show their Chinese sentence.
    """
    message = case.summary_message
    if message:
        params = dict(message.get("params") or {})
        if "last" in params:
            params["last"] = tr(params["last"])
        if "name" in params and case.other_worker is not None:
            params["name"] = case.other_worker.name
        return tr(message["msgid"]) % params
    text = case.summary or ""
    if case.other_worker is not None:
        text = _WORKER_ID.sub(f"从业人员{case.other_worker.name}的", text)
    return _LAST_CODE.sub(lambda m: f"（最后一次：{'身份证照片' if m[1] else ''}{reason_zh(m[2])}）", text)


def _check(user: User, reason: str, worker: Worker) -> str:
    if not policy.may_decide(user, worker):
        raise DomainError(N_("只有负责该人员所在区县的人脸审核员、区县管理员或市级管理员可以处理此告警"))
    reason = (reason or "").strip()
    if not 2 <= len(reason) <= 500:
        raise DomainError(N_("请填写处理理由（2-500字）"))
    return reason


def decide(
    session: DbSession,
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
        raise DomainError(N_("处理结果须为确认或驳回"))
    reason = _check(user, reason, case.worker)
    closed = rows_touched(
        session.execute(
            update(ReviewCase)
            .where(ReviewCase.id == case.id, ReviewCase.status == ReviewStatus.OPEN)
            .values(status=outcome, reason=reason, decided_by_id=user.id, decided_at=now)
            .execution_options(synchronize_session=False)
        )
    )
    if not closed:
        raise DomainError(N_("该告警已被处理"))
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
        template_id = (session.get_one(FaceCheck, case.face_check_id).detail or {}).get("template_id")
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


def resume_sitting(
    session: DbSession, sitting: Sitting, user: User, reason: str, now: datetime | None = None
) -> Sitting:
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
    moved = rows_touched(
        session.execute(
            update(Sitting)
            .where(Sitting.id == sitting.id, Sitting.status == SittingStatus.SUSPENDED)
            .values(
                status=SittingStatus.IN_PROGRESS,
                status_reason=None,
                deadline_at=sitting.deadline_at + max(now - suspended_at, timedelta(0)),
            )
            .execution_options(synchronize_session=False)
        )
    )
    if not moved:
        raise DomainError(N_("该考试未处于暂停状态"))
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


def void_sitting(session: DbSession, sitting: Sitting, user: User, reason: str, now: datetime | None = None) -> Sitting:
    """Void an active sitting; the attempt stays counted and its pending captures are cancelled."""
    now = now or utcnow()
    reason = _check(user, reason, sitting.worker)
    moved = rows_touched(
        session.execute(
            update(Sitting)
            .where(Sitting.id == sitting.id, Sitting.status.in_([SittingStatus.IN_PROGRESS, SittingStatus.SUSPENDED]))
            .values(status=SittingStatus.VOIDED, status_reason=reason[:255])
            .execution_options(synchronize_session=False)
        )
    )
    if not moved:
        raise DomainError(N_("只能作废进行中或暂停的考试"))
    session.refresh(sitting)
    captures.cancel_pending(session, sitting.id, now)
    audit.record(session, "sitting_voided", target=sitting, user_id=user.id, detail={"reason": reason})
    return sitting
