"""Face re-checks during the exam: a random schedule, one-time nonces and the mismatch policy."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np
from flask import current_app
from sqlalchemy import select, update

from exam_server.database import DbSession, rows_touched
from exam_server.face import FaceRefusal, Template, replay
from exam_server.models import (
    N_,
    CaptureRequest,
    CheckKind,
    Decision,
    ExamPlan,
    FaceCheck,
    Kiosk,
    ReviewCase,
    ReviewKind,
    ReviewStatus,
    Sitting,
    SittingStatus,
    summary_fields,
)
from exam_server.services import audit
from exam_server.services.exam import replays
from exam_server.services.exam.refusals import Refusal
from exam_server.services.faces import face_service, face_verify

DEFAULT_POLICY = {
    "enabled": True,
    "distribution": "uniform",  # or "exponential" (memoryless: the next check is never "safe")
    "min_interval_seconds": 60,
    "max_interval_seconds": 120,
    "mean_interval_seconds": 90,
    "window_seconds": 30,  # how long a nonce stays valid after it is due
    "retry_after_seconds": 5,  # one clock poll later
    "suspend_after_mismatches": 3,  # consecutive mismatches
    "suspend_after_unverified": 6,  # consecutive checks without a match (no face, missed, review...)
}
MESSAGES = {
    "match": "核验通过，请继续答题。",
    "retry": "未能确认是考生本人，请正对摄像头，稍后将再次拍照。",
    "warning": "检测到多张人脸，请确保画面中只有考生本人。此情况已记录。",
    "suspended": "人脸核验多次不符，考试已暂停，请联系现场工作人员。",
}
_random = secrets.SystemRandom()


def policy(plan: ExamPlan) -> dict:
    """Return the plan's face policy with defaults for what it leaves out."""
    return {**DEFAULT_POLICY, **(plan.face_policy or {})}


def next_delay(rules: dict, rng=_random) -> float:
    """Return seconds until the next regular check, drawn so a worker cannot predict it."""
    low, high = float(rules["min_interval_seconds"]), float(rules["max_interval_seconds"])
    if rules["distribution"] == "exponential":
        mean = max(float(rules["mean_interval_seconds"]) - low, 1.0)
        return min(low + rng.expovariate(1.0 / mean), high)
    return rng.uniform(low, high)


def nonce_for(capture: CaptureRequest) -> str:
    """Return the capture's nonce: derived with the secret key, so only its hash is stored."""
    message = f"capture:{capture.id}:{capture.sitting_id}".encode()
    digest = hmac.new(current_app.config["SECRET_KEY"].encode(), message, hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")[:32]


def hash_nonce(nonce: str) -> str:
    return hashlib.sha256(nonce.encode("utf-8")).hexdigest()


def schedule(session: DbSession, sitting: Sitting, now: datetime, *, retry: bool = False) -> CaptureRequest | None:
    """Create the sitting's next capture request (a retry comes after one poll, others at random)."""
    rules = policy(sitting.plan)
    if not rules["enabled"]:
        return None
    delay = rules["retry_after_seconds"] if retry else next_delay(rules)
    due = now + timedelta(seconds=delay)
    capture = CaptureRequest(
        sitting_id=sitting.id,
        due_at=due,
        is_retry=retry,
        expires_at=due + timedelta(seconds=rules["window_seconds"]),
        nonce_hash=secrets.token_hex(32),
    )  # placeholder until the id is known
    session.add(capture)
    session.flush()
    capture.nonce_hash = hash_nonce(nonce_for(capture))
    return capture


def cancel_pending(session: DbSession, sitting_id: int, now: datetime) -> None:
    """Spend every unused nonce of a sitting (on resume elsewhere, suspension or closing)."""
    session.execute(
        update(CaptureRequest)
        .where(CaptureRequest.sitting_id == sitting_id, CaptureRequest.used_at.is_(None))
        .values(used_at=now)
    )


def current(session: DbSession, sitting: Sitting, now: datetime) -> dict | None:
    """Return the capture the kiosk must take now ({nonce, due_at, expires_at}) or None; note a missed one."""
    latest = session.scalar(
        select(CaptureRequest)
        .where(CaptureRequest.sitting_id == sitting.id)
        .order_by(CaptureRequest.id.desc())
        .limit(1)
    )
    if latest is None or latest.used_at is not None or latest.due_at > now:
        return None
    if now > latest.expires_at:
        _missed(session, sitting, latest, now)
        return None
    return {"nonce": nonce_for(latest), "due_at": latest.due_at, "expires_at": latest.expires_at}


def expire_missed(session: DbSession, now: datetime) -> int:
    """Record expired captures of sittings whose kiosk kept polling (a dead kiosk is not the worker's fault)."""
    rows = session.execute(
        select(CaptureRequest, Sitting)
        .join(Sitting, Sitting.id == CaptureRequest.sitting_id)
        .join(Kiosk, Kiosk.id == Sitting.kiosk_id)
        .where(
            CaptureRequest.used_at.is_(None),
            CaptureRequest.expires_at < now,
            Sitting.status == SittingStatus.IN_PROGRESS,
            Kiosk.last_seen_at > CaptureRequest.expires_at,
        )
        .limit(500)
    ).all()
    return sum(_missed(session, sitting, capture, now) for capture, sitting in rows)


def _missed(session: DbSession, sitting: Sitting, capture: CaptureRequest, now: datetime) -> bool:
    claimed = rows_touched(
        session.execute(
            update(CaptureRequest)
            .where(CaptureRequest.id == capture.id, CaptureRequest.used_at.is_(None))
            .values(used_at=now)
            .execution_options(synchronize_session=False)
        )
    )
    if not claimed:
        return False
    name, version = face_service.model_key()
    check = FaceCheck(
        kind=CheckKind.IN_EXAM,
        worker_id=sitting.worker_id,
        sitting_id=sitting.id,
        kiosk_id=sitting.kiosk_id,
        model_name=name,
        model_version=version,
        decision=Decision.REFUSED,
        refusal_code="capture_missed",
        created_at=now,
        detail={"capture_id": capture.id},
    )
    session.add(check)
    session.flush()
    session.execute(
        update(CaptureRequest)
        .where(CaptureRequest.id == capture.id)
        .values(face_check_id=check.id)
        .execution_options(synchronize_session=False)
    )
    _apply_policy(session, sitting, check, now)
    return True


def claim(session: DbSession, sitting: Sitting, nonce: str, now: datetime) -> CaptureRequest:
    """Spend a nonce of this sitting exactly once, or refuse (invalid, used, expired)."""
    capture = session.scalar(
        select(CaptureRequest).where(
            CaptureRequest.nonce_hash == hash_nonce(nonce or ""), CaptureRequest.sitting_id == sitting.id
        )
    )
    if capture is None or capture.due_at > now:
        raise Refusal("nonce_invalid")
    if capture.used_at is not None:
        raise Refusal("nonce_used")
    if now > capture.expires_at:
        raise Refusal("nonce_expired")
    won = rows_touched(
        session.execute(
            update(CaptureRequest)
            .where(CaptureRequest.id == capture.id, CaptureRequest.used_at.is_(None))
            .values(used_at=now)
            .execution_options(synchronize_session=False)
        )
    )
    if not won:
        raise Refusal("nonce_used")
    return capture


@dataclass
class FrameCheck:
    """What the face engine said about one in-exam frame (computed with no database lock held)."""

    refusal: FaceRefusal | None
    verification: face_verify.Judgement | None
    evidence_path: str | None
    detail: dict


def analyse_frame(session: DbSession, sitting: Sitting, frame: bytes, now: datetime) -> FrameCheck:
    """Compare a frame with the enrolled templates and with the face seen at check-in (same camera, same day)."""
    engine = face_service.engine()
    # Decoded once, for the hash and the analysis both (a second decode was 2-3% of a capture's CPU).
    decoded: np.ndarray | FaceRefusal
    try:
        decoded = engine.decode(frame, "live").rgb
    except FaceRefusal as undecodable:
        decoded = undecodable  # not an image: no hash, refused below as the analysis would refuse it
    # A stored photo sent as a capture matches the enrolled face perfectly: refused as a replay.
    hashes = [replay.phash(decoded) if isinstance(decoded, np.ndarray) else None]
    replayed = replays.judge(session, engine, sitting.worker_id, hashes, burst=False)
    replays.remember(session, sitting.worker_id, hashes, CheckKind.IN_EXAM, now, sitting_id=sitting.id)
    if replayed:
        refusal = FaceRefusal("replayed_frames", f"near-identical to a stored photo: {replayed}")
        return FrameCheck(refusal, None, face_service.save_evidence(frame, now), {"replay": replayed})
    try:
        if isinstance(decoded, FaceRefusal):
            raise decoded
        found = engine.analyse_rgb(decoded, "live", embed=False)
        # Embedded by the model the decision asks first; the others only if it leaves the decision open.
        sample = engine.embed_lead(decoded, found)
    except FaceRefusal as refusal:
        evidence = (
            None
            if refusal.code in ("not_an_image", "unsupported_format", "too_large")
            else face_service.save_evidence(frame, now)
        )
        return FrameCheck(refusal, None, evidence, {"refusal": refusal.detail})
    # One decision, the one `exam-server face verify` takes: the frame against the enrolment photo and the
    # day's check-in burst together, judged against the enrolled population (and its rank check).
    enrolled = face_service.active_templates(session, sitting.worker_id)
    # The entry reference holds the models the check-in embedded (SFace alone when SFace settled it).
    entry = entry_templates(session, sitting.id)
    templates = face_verify.templates_to_judge(engine, enrolled)
    if face_verify.unfused_reason(engine, templates) is None:
        templates += [t for t in entry if t.embedding.model_key in {x.embedding.model_key for x in templates}]
    population = face_verify.population(session, engine, sitting.worker)
    verdict = face_verify.judge(engine, [sample], templates, population)
    detail = {"identity": verdict.to_dict(), "checkin_templates": len(entry)} if verdict is not None else {}
    detail["quality"] = sample.quality_dict()
    return FrameCheck(None, verdict, face_service.save_evidence(frame, now), detail)


def entry_templates(session: DbSession, sitting_id: int) -> list[Template]:
    """Return the face embedded at the sitting's latest check-in (one template per model), if it was kept."""
    check = session.scalar(
        select(FaceCheck)
        .where(
            FaceCheck.sitting_id == sitting_id,
            FaceCheck.kind == CheckKind.CHECKIN,
            FaceCheck.decision.in_([Decision.MATCH, Decision.REVIEW]),
        )
        .order_by(FaceCheck.id.desc())
        .limit(1)
    )
    detail = (check.detail or {}) if check else {}
    if detail.get("probes"):
        return face_verify.stored_templates(detail["probes"])
    if (
        check is not None and detail.get("probe") and check.model_name != face_verify.FUSED
    ):  # kept before several models
        return [
            Template.from_stored(
                np.asarray(detail["probe"], dtype=np.float32), check.model_name, check.model_version, "live"
            )
        ]
    return []


def record(session: DbSession, sitting: Sitting, capture: CaptureRequest, result: FrameCheck, now: datetime) -> str:
    """Store the check, apply the policy and return the kiosk's decision: match, retry, warning or suspended."""
    verification = result.verification
    name, version = (verification.model_name, verification.model_version) if verification else face_service.model_key()
    check = FaceCheck(
        kind=CheckKind.IN_EXAM,
        worker_id=sitting.worker_id,
        sitting_id=sitting.id,
        kiosk_id=sitting.kiosk_id,
        model_name=name,
        model_version=version,
        distance=getattr(verification, "distance", None),
        threshold=getattr(verification, "threshold", None),
        decision=Decision(verification.decision) if verification else Decision.REFUSED,
        refusal_code=result.refusal.code if result.refusal else None,
        evidence_path=result.evidence_path,
        detail={**result.detail, "capture_id": capture.id},
        created_at=now,
    )
    session.add(check)
    session.flush()
    session.execute(
        update(CaptureRequest)
        .where(CaptureRequest.id == capture.id)
        .values(face_check_id=check.id)
        .execution_options(synchronize_session=False)
    )
    look_alike = getattr(verification, "look_alike", None) if verification is not None else None
    if look_alike:
        _flag_look_alike(session, sitting, check, look_alike, now)
    if sitting.status is not SittingStatus.IN_PROGRESS:
        return "retry"
    return _apply_policy(session, sitting, check, now)


def _open_case_once(session: DbSession, sitting: Sitting, kind: ReviewKind, **fields) -> None:
    """Open a review case of this kind for the sitting unless one with the same other worker is still open."""
    already = session.scalar(
        select(ReviewCase.id)
        .where(
            ReviewCase.sitting_id == sitting.id,
            ReviewCase.kind == kind,
            ReviewCase.other_worker_id == fields.get("other_worker_id"),
            ReviewCase.status == ReviewStatus.OPEN,
        )
        .limit(1)
    )
    if already is None:
        session.add(ReviewCase(kind=kind, worker_id=sitting.worker_id, sitting_id=sitting.id, **fields))


def _flag_look_alike(session: DbSession, sitting: Sitting, check: FaceCheck, look_alike: dict, now: datetime) -> None:
    """Open one review case per sitting and look-alike: another enrolled worker is nearer to the face in the seat."""
    _open_case_once(
        session,
        sitting,
        ReviewKind.SEARCH_HIT,
        other_worker_id=int(look_alike["worker_id"]),
        face_check_id=check.id,
        distance=check.distance,
        created_at=now,
        **summary_fields(N_("考试中抽检画面与另一名已登记人员更相似（疑似替考），请比对两人的登记照片")),
    )


def _apply_policy(session: DbSession, sitting: Sitting, check: FaceCheck, now: datetime) -> str:
    rules = policy(sitting.plan)
    if check.decision is Decision.MATCH:
        schedule(session, sitting, now)
        return "match"
    mismatches, unverified = _streaks(session, sitting.id)
    if mismatches >= rules["suspend_after_mismatches"] or unverified >= rules["suspend_after_unverified"]:
        suspend(session, sitting, check, now, mismatches=mismatches, unverified=unverified)
        return "suspended"
    schedule(session, sitting, now, retry=True)
    if check.refusal_code == "multiple_faces":
        _warn_multiple_faces(session, sitting, check, now)
        return "warning"
    return "retry"


def _streaks(session: DbSession, sitting_id: int) -> tuple[int, int]:
    """Count consecutive mismatches and consecutive checks without a match since the last fresh start."""
    since = session.scalar(
        select(ReviewCase.decided_at)
        .where(
            ReviewCase.sitting_id == sitting_id,
            ReviewCase.kind == ReviewKind.IN_EXAM_MISMATCH,
            ReviewCase.decided_at.is_not(None),
        )
        .order_by(ReviewCase.decided_at.desc())
        .limit(1)
    )
    query = select(FaceCheck.decision, FaceCheck.kind).where(FaceCheck.sitting_id == sitting_id)
    if since is not None:
        query = query.where(FaceCheck.created_at > since)
    mismatches = unverified = 0
    counting_mismatches = True
    for decision, kind in session.execute(query.order_by(FaceCheck.id.desc()).limit(50)):
        if kind is CheckKind.CHECKIN or decision is Decision.MATCH:
            break
        unverified += 1
        counting_mismatches = counting_mismatches and decision is Decision.MISMATCH
        mismatches += counting_mismatches
    return mismatches, unverified


def suspend(session: DbSession, sitting: Sitting, check: FaceCheck, now: datetime, **why: int) -> bool:
    """Suspend an in-progress sitting for a reviewer and open the review case; return whether it did."""
    moved = rows_touched(
        session.execute(
            update(Sitting)
            .where(Sitting.id == sitting.id, Sitting.status == SittingStatus.IN_PROGRESS)
            .values(status=SittingStatus.SUSPENDED, status_reason="face_mismatch")
            .execution_options(synchronize_session=False)
        )
    )
    if not moved:
        return False
    session.refresh(sitting)
    cancel_pending(session, sitting.id, now)
    session.add(
        ReviewCase(
            kind=ReviewKind.IN_EXAM_MISMATCH,
            worker_id=sitting.worker_id,
            sitting_id=sitting.id,
            face_check_id=check.id,
            distance=check.distance,
            created_at=now,
            **summary_fields(
                N_("考试中人脸核验连续不符（不符%(mismatches)s次，未确认%(unverified)s次），考试已暂停"),
                mismatches=why.get("mismatches", 0),
                unverified=why.get("unverified", 0),
            ),
        )
    )
    audit.record(session, "sitting_suspended", target=sitting, kiosk_id=sitting.kiosk_id, detail=why)
    return True


def _warn_multiple_faces(session: DbSession, sitting: Sitting, check: FaceCheck, now: datetime) -> None:
    _open_case_once(
        session,
        sitting,
        ReviewKind.MULTIPLE_FACES,
        face_check_id=check.id,
        created_at=now,
        **summary_fields(N_("考试中画面出现多张人脸")),
    )


def take(session: DbSession, sitting: Sitting, nonce: str, frame: bytes, now: datetime) -> tuple[Sitting, str]:
    """Check an in-exam frame answering a nonce for a writable, locked sitting; return it and the decision."""
    # The nonce is spent and committed before the face work, so no lock is held while the engine runs
    # and a replayed nonce is refused even while the first upload is still being checked.
    sitting_id = sitting.id
    capture = claim(session, sitting, nonce, now)
    session.commit()
    try:
        result = analyse_frame(session, sitting, frame, now)
    except Exception:
        schedule(session, sitting, now, retry=True)
        session.commit()
        raise
    sitting = session.scalars(
        select(Sitting).where(Sitting.id == sitting_id).with_for_update().execution_options(populate_existing=True)
    ).one()
    decision = record(session, sitting, capture, result, now)
    session.flush()
    return sitting, decision
