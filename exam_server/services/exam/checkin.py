"""人证合一 at the kiosk: find the worker's exam, issue a liveness challenge, judge the burst, open the sitting."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import NoReturn

from flask import current_app
from sqlalchemy import select

import question_bank as qb
from exam_server import localday
from exam_server.citizen_id import InvalidCitizenId, normalise_citizen_id
from exam_server.database import DbSession
from exam_server.face import FaceEngine, FaceRefusal, FaceSample, Template
from exam_server.face.errors import IMAGE_CODES, reason_zh
from exam_server.face.liveness import Challenge, draw_challenge, instruction_zh, steps_of
from exam_server.models import (
    ACTIVE_SITTING_STATUSES,
    N_,
    OPEN_REQUIREMENT_STATUSES,
    CheckIn,
    CheckInStatus,
    CheckKind,
    Decision,
    ExamPlan,
    ExamRequirement,
    FaceCheck,
    Kiosk,
    RequirementStatus,
    ReviewCase,
    ReviewKind,
    ReviewStatus,
    Sitting,
    SittingStatus,
    Worker,
    summary_fields,
)
from exam_server.services import audit
from exam_server.services.exam import question_store, replays, sittings
from exam_server.services.exam.refusals import Refusal
from exam_server.services.faces import face_service, face_verify

BURST_FRAMES = 8
BURST_SECONDS = 2.5
# A sequence is filmed longer: about 2 s and 5 frames per move (16 frames in 6.5 s for three moves).
SEQUENCE_FRAMES = {2: 12, 3: 16}
SEQUENCE_SECONDS = {2: 4.5, 3: 6.5}
MIN_FRAMES, MAX_FRAMES = 4, 16
# Codes that mean "not this person" or "not a live person": they count towards a refused check-in.
_COUNTED = {"face_mismatch", "liveness_failed", "replayed_frames"}


def challenge_of(kind: str) -> dict:
    """Return what the kiosk needs to film a challenge: its moves in order, how many frames over how long."""
    steps = steps_of(kind)
    return {
        "kind": kind,
        "prompt": instruction_zh(kind),
        "steps": [{"kind": step, "instruction": instruction_zh(step)} for step in steps],
        "frames": SEQUENCE_FRAMES.get(len(steps), BURST_FRAMES),
        "seconds": SEQUENCE_SECONDS.get(len(steps), BURST_SECONDS),
    }


def _new_kind() -> str:
    # Three moves from four by default: a recording made for one check-in answers the next one's challenge
    # 2.8% of the time (3.5% when it also holds a natural blink): docs/security.md, tests/face/test_liveness.py.
    return draw_challenge(
        tuple(current_app.config["CHECKIN_CHALLENGES"]), current_app.config["CHECKIN_CHALLENGE_STEPS"]
    )


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


@dataclass
class Started:
    """A check-in waiting for its burst, with what the kiosk shows before filming."""

    checkin: CheckIn
    token: str
    worker: Worker
    plan: ExamPlan
    duration_minutes: int
    question_count: int
    attempts_left: int
    resuming: bool


def begin(session: DbSession, kiosk: Kiosk, citizen_id: str, chip_photo: bytes | None, now: datetime) -> Started:
    """Start a check-in for the worker with this ID, or refuse (unknown, no exam, not enrolled...)."""
    try:
        normalised, _ = normalise_citizen_id(citizen_id, today=localday.local_date(now))
    except InvalidCitizenId as exc:
        raise Refusal("invalid_citizen_id", str(exc)) from None
    worker = session.scalar(select(Worker).where(Worker.citizen_id == normalised, Worker.active))
    if worker is None:
        raise Refusal("worker_not_found")
    if session.scalar(
        select(ReviewCase.id)
        .where(
            ReviewCase.worker_id == worker.id,
            ReviewCase.kind == ReviewKind.CHECKIN_REFUSED,
            ReviewCase.status == ReviewStatus.OPEN,
        )
        .limit(1)
    ):
        raise Refusal("checkin_refused")
    active = session.scalar(
        select(Sitting).where(Sitting.worker_id == worker.id, Sitting.status.in_(ACTIVE_SITTING_STATUSES))
    )
    if active is not None and sittings.close_if_overdue(session, active, now):
        session.commit()
        active = None
    if active is not None and active.status is SittingStatus.SUSPENDED:
        raise Refusal("sitting_suspended")
    if active is not None:
        requirement = session.get_one(ExamRequirement, active.requirement_id)
        duration, count = active.paper["duration_minutes"], len(active.paper["items"])
    else:
        requirement = open_requirement(session, worker, now)
        duration, count = _check_paper(session, requirement)
    if not face_service.is_enrolled(session, worker.id):
        raise Refusal("not_enrolled")
    token = secrets.token_urlsafe(32)
    checkin = CheckIn(
        worker_id=worker.id,
        plan_id=requirement.plan_id,
        kiosk_id=kiosk.id,
        challenge=_new_kind(),
        token_hash=_hash(token),
        created_at=now,
        expires_at=now + timedelta(seconds=current_app.config["CHECKIN_TTL_SECONDS"]),
    )
    if chip_photo:
        engine = face_service.engine()
        try:
            # Embedded by the model the decision asks first; the others only if the burst's decision asks.
            rgb = engine.decode(chip_photo, "id_card").rgb
            chip = engine.embed_lead(rgb, engine.analyse_rgb(rgb, "id_card", "id_card", embed=False))
        except FaceRefusal as refusal:
            raise Refusal(_api_code(refusal.code), refusal.message_zh, field="chip_photo") from None
        checkin.chip_photo_path = face_service.save_evidence(chip_photo, now)
        face_service.save_chip_analysis(checkin.chip_photo_path, chip)  # the burst's decision reuses it
    session.add(checkin)
    session.flush()
    return Started(
        checkin,
        token,
        worker,
        requirement.plan,
        duration,
        count,
        requirement.plan.max_attempts - requirement.attempts,
        active is not None,
    )


def open_requirement(session: DbSession, worker: Worker, now: datetime) -> ExamRequirement:
    """Return the requirement the worker can sit now, or refuse saying why not."""
    rows = session.scalars(
        select(ExamRequirement)
        .join(ExamPlan, ExamPlan.id == ExamRequirement.plan_id)
        .where(ExamRequirement.worker_id == worker.id, ExamPlan.opens_at <= now, ExamPlan.closes_at > now)
        .order_by(ExamPlan.closes_at, ExamRequirement.id)
    ).all()
    if not rows:
        raise Refusal("no_open_exam")
    for requirement in rows:
        if requirement.status in OPEN_REQUIREMENT_STATUSES and requirement.attempts < requirement.plan.max_attempts:
            return requirement
    if any(r.status is RequirementStatus.PASSED for r in rows):
        raise Refusal("already_passed")
    raise Refusal("no_attempts_left")


def _check_paper(session: DbSession, requirement: ExamRequirement) -> tuple[int, int]:
    """Make sure a paper can be drawn (without drawing it) and return (minutes, questions)."""
    ruleset = qb.RuleSet.from_dict(requirement.plan.ruleset)
    bank, _ = question_store.bank(session)
    worker = requirement.worker
    if qb.shortfalls(bank, ruleset, industry=worker.enterprise.industry.code, job_category=worker.job_category.value):
        raise Refusal("no_open_exam", "题库暂时无法组卷，请联系工作人员。")
    return ruleset.duration_minutes, ruleset.question_count


def find(session: DbSession, kiosk: Kiosk, checkin_id: int, token: str) -> CheckIn:
    """Return the kiosk's check-in whose token matches, or refuse."""
    checkin = session.get(CheckIn, checkin_id)
    if (
        checkin is None
        or checkin.kiosk_id != kiosk.id
        or not hmac.compare_digest(checkin.token_hash, _hash(token or ""))
    ):
        raise Refusal("checkin_not_found")
    return checkin


def started_at(session: DbSession, kiosk: Kiosk, checkin_id: int) -> datetime | None:
    """Return when this kiosk's check-in began (its burst's place in the face queue), None if not its own."""
    return session.scalar(select(CheckIn.created_at).where(CheckIn.id == checkin_id, CheckIn.kiosk_id == kiosk.id))


def answer_challenge(session: DbSession, kiosk: Kiosk, checkin: CheckIn, frames: list[bytes], now: datetime) -> Sitting:
    """Judge the burst (liveness and identity) and open or resume the sitting; refuse and count failures."""
    if checkin.status is CheckInStatus.PASSED:
        return session.get_one(Sitting, checkin.sitting_id)  # a retried upload: same answer
    if checkin.status is CheckInStatus.REFUSED:
        raise Refusal("checkin_refused")
    if checkin.status is CheckInStatus.EXPIRED or now > checkin.expires_at:
        checkin.status = CheckInStatus.EXPIRED
        raise Refusal("checkin_expired", keep=True)
    if not MIN_FRAMES <= len(frames) <= MAX_FRAMES:
        raise Refusal(
            "invalid_request", f"frames 须为{MIN_FRAMES}-{MAX_FRAMES}张连拍图像，实际{len(frames)}张。", field="frames"
        )
    engine = face_service.engine()
    templates = face_verify.templates_to_judge(engine, face_service.active_templates(session, checkin.worker_id))
    if not templates:
        raise Refusal("not_enrolled")
    fused = len(templates) > 1
    identity = (
        (face_verify.FUSED, face_verify.fusion_label(engine)) if fused else (engine.model.name, engine.model.version)
    )
    # Judged before the liveness work: a recording of an earlier visit (or a stored photo) is refused as such,
    # whatever challenge it happens to answer. Every burst's hashes are kept, refused or not.
    # Each frame decoded once, under the intake limits, for the hashes and the liveness check both.
    decoded = engine.decode_frames(frames)
    hashes = replays.hash_frames(decoded)
    replayed = replays.judge(session, engine, checkin.worker_id, hashes, burst=True)
    replays.remember(session, checkin.worker_id, hashes, CheckKind.CHECKIN, now, checkin_id=checkin.id)
    if replayed:
        _fail(session, checkin, "replayed_frames", frames, now, {"replay": replayed}, identity)
    challenge = Challenge(
        checkin.challenge, str(checkin.id), checkin.created_at.timestamp(), checkin.expires_at.timestamp()
    )
    result = engine.check_liveness(challenge, frames, now=now.timestamp(), decoded=decoded)
    detail = {"liveness": result.to_dict()}
    if not result.one_face:  # refused before its identity can be judged: no face, several, static, changed
        _fail(session, checkin, result.code, frames, now, detail, identity)
    # One decision, the one `exam-server face verify ENROLLED FRAME...` takes: the burst's frames together
    # against the registry photo and the ID-card chip photo both, judged against the enrolled population,
    # and every frame the tracking model alone embedded judged alone (liveness.embed_burst).
    if checkin.chip_photo_path:
        try:
            chip = _chip_templates(engine, checkin)
        except FaceRefusal as refusal:
            detail["chip"] = refusal.to_dict()
            if result.code:  # the moves were not seen: that is what the worker can do something about
                _fail(session, checkin, result.code, frames, now, detail, identity)
            _fail(session, checkin, refusal.code, frames, now, detail, identity, chip=True)
        # Judged together: begin() embedded the chip by the model asked first only (not a fused set alone).
        templates = face_verify.templates_to_judge(engine, [*templates, *chip])
        detail["chip"] = {"templates": len(chip)}
    worker = session.get_one(Worker, checkin.worker_id)
    population = face_verify.population(session, engine, worker)
    verdict = face_verify.judge(
        engine,
        result.samples,
        templates,
        population,
        tracked=result.tracked,
        templates_rest=(lambda: _chip_rest(engine, checkin, chip)) if checkin.chip_photo_path else None,
    )
    assert verdict is not None  # templates holds one of the primary model (not_enrolled otherwise), so judge decides
    detail["identity"] = verdict.to_dict()
    # Not the claimed worker's face is the stronger finding: reported before a move not seen.
    if verdict.decision == "mismatch":
        _fail(session, checkin, "face_mismatch", frames, now, detail, identity)
    if not result.passed:
        _fail(session, checkin, result.code, frames, now, detail, identity)
    # The identity was judged on some frames of the burst (liveness.identity_frames): keep the nearest of them.
    nearest = min(range(len(result.samples)), key=lambda i: verdict.frame_distances[i])
    best = result.identity_frames[nearest]
    return _pass(session, kiosk, checkin, verdict.decision, verdict, result.samples, frames[best], now, detail)


def _chip_templates(engine: FaceEngine, checkin: CheckIn) -> list[Template]:
    """Return the ID-card photo's templates as begin() analysed it; analyse the kept photo only without them.

    begin() embeds it by the models the decision asks first (engine.first_models); _chip_rest adds the
    others when the decision asks for them.
    """
    assert checkin.chip_photo_path is not None  # called only for a check-in that kept one
    kept_analysis = face_service.chip_templates(checkin.chip_photo_path)
    held = {m.key for m in engine.models}
    first = {m.key for m in engine.first_models}
    if kept_analysis is not None and first <= {t.embedding.model_key for t in kept_analysis}:
        return [t for t in kept_analysis if t.embedding.model_key in held]
    return _chip_sample(engine, checkin).templates()


def _chip_rest(engine: FaceEngine, checkin: CheckIn, kept: Sequence[Template]) -> list[Template]:
    """Return the ID-card photo's templates of the models its kept analysis lacks (analysing the kept photo)."""
    have = {t.embedding.model_key for t in kept}
    if {m.key for m in engine.models} <= have:
        return []
    try:
        again = _chip_sample(engine, checkin)
    except FaceRefusal:
        # The kept JPEG copy can lose a face begin() found (a soft, small chip): the photo then counts by
        # the model that embedded it at begin(), and the decision says how many templates it judged.
        return []
    return [t for t in again.templates() if t.embedding.model_key not in have]


def _chip_sample(engine: FaceEngine, checkin: CheckIn) -> FaceSample:
    """Analyse again the ID-card photo kept by begin() (a check-in begun before its analysis was kept)."""
    assert checkin.chip_photo_path is not None  # called only for a check-in that kept one
    kept = (face_service.data_dir() / checkin.chip_photo_path).read_bytes()
    # The kept copy is a JPEG re-encoding of what the reader sent: its face box, and so its size and
    # sharpness, can come out differently (a 46 px face measured 38 px), and judging them again
    # refused card photos begin() had accepted. Only the face itself is looked for here.
    return engine.analyse_rgb(engine.decode(kept, "id_card").rgb, "id_card", "id_card", check=False)


def _pass(session, kiosk, checkin, decision, verdict, samples, frame, now, detail) -> Sitting:
    active = session.scalar(
        select(Sitting)
        .where(Sitting.worker_id == checkin.worker_id, Sitting.status.in_(ACTIVE_SITTING_STATUSES))
        .with_for_update()
    )
    if active is not None and active.status is SittingStatus.SUSPENDED:
        raise Refusal("sitting_suspended")
    if active is not None and sittings.close_if_overdue(session, active, now):
        sitting = active  # time ran out while the worker changed kiosks: the kiosk shows the result
    elif active is not None:
        sitting = sittings.resume(session, active, checkin, kiosk.id, now)
    else:
        requirement = session.scalar(
            select(ExamRequirement)
            .where(
                ExamRequirement.worker_id == checkin.worker_id,
                ExamRequirement.plan_id == checkin.plan_id,
                ExamRequirement.status.in_(OPEN_REQUIREMENT_STATUSES),
            )
            .order_by(ExamRequirement.round_no.desc())  # a renewal round under the same plan is the one to sit
            .limit(1)
        )
        if requirement is None:  # passed (or closed) at another kiosk while this worker was checked in
            raise Refusal("already_passed")
        sitting = sittings.start(session, checkin, requirement, kiosk.id, now)
    # The embedding of this frame is the "same camera, same day" reference for the in-exam checks.
    check = FaceCheck(
        kind=CheckKind.CHECKIN,
        worker_id=checkin.worker_id,
        sitting_id=sitting.id,
        checkin_id=checkin.id,
        kiosk_id=kiosk.id,
        model_name=verdict.model_name,
        model_version=verdict.model_version,
        distance=verdict.distance,
        threshold=verdict.threshold,
        decision=Decision(decision),
        evidence_path=face_service.save_evidence(frame, now),
        detail={**detail, "probes": face_verify.probe_vectors(face_service.engine(), samples)},
        created_at=now,
    )
    session.add(check)
    session.flush()
    if decision == "review":
        look_alike = verdict.look_alike
        summary = (
            N_("该从业人员缺少部分人脸模型的登记模板（待重新提取），人证核验转人脸审核，已允许考试")
            if "fusion_unavailable" in verdict.detail
            else N_("现场人脸与另一名已登记人员更相似（疑似替考），已允许考试，请比对两人的登记照片")
            if look_alike
            else N_("人证核验距离处于审核区间，已允许考试，请人脸审核")
        )
        session.add(
            ReviewCase(
                kind=ReviewKind.SEARCH_HIT if look_alike else ReviewKind.BORDERLINE,
                other_worker_id=look_alike["worker_id"] if look_alike else None,
                worker_id=checkin.worker_id,
                sitting_id=sitting.id,
                checkin_id=checkin.id,
                face_check_id=check.id,
                distance=verdict.distance,
                created_at=now,
                **summary_fields(summary),
            )
        )
    checkin.status, checkin.sitting_id = CheckInStatus.PASSED, sitting.id
    return sitting


def _api_code(engine_code: str | None) -> str:
    if engine_code in IMAGE_CODES or engine_code in ("face_mismatch", "replayed_frames"):
        return engine_code
    if engine_code in ("too_large", "unsupported_format"):
        return "not_an_image"
    if engine_code == "liveness_expired":
        return "checkin_expired"
    return "liveness_failed"


def _fail(
    session, checkin, engine_code, frames, now, detail, identity: tuple[str, str], chip: bool = False
) -> NoReturn:
    """Record a failed burst (chip: the ID-card photo could not be used), count it, refuse with a fresh challenge."""
    code = _api_code(engine_code)
    if code == "checkin_expired":
        checkin.status = CheckInStatus.EXPIRED
        raise Refusal(code, keep=True)
    frame = frames[len(frames) // 2]
    try:
        evidence = face_service.save_evidence(frame, now)
    except FaceRefusal:
        evidence = None
    check = FaceCheck(
        kind=CheckKind.CHECKIN,
        worker_id=checkin.worker_id,
        checkin_id=checkin.id,
        kiosk_id=checkin.kiosk_id,
        model_name=identity[0],
        model_version=identity[1],
        decision=Decision.MISMATCH if code == "face_mismatch" else Decision.REFUSED,
        refusal_code=engine_code,
        evidence_path=evidence,
        detail=detail,
        created_at=now,
    )
    session.add(check)
    session.flush()
    # An unusable chip photo counts too: no new burst can change the card's photo, so the check-in
    # must end in a refusal a person reviews rather than ask for bursts forever.
    if code in _COUNTED or chip:
        checkin.failures += 1
    max_failures = current_app.config["CHECKIN_MAX_FAILURES"]
    if checkin.failures >= max_failures:
        checkin.status = CheckInStatus.REFUSED
        session.add(
            ReviewCase(
                kind=ReviewKind.CHECKIN_REFUSED,
                worker_id=checkin.worker_id,
                checkin_id=checkin.id,
                face_check_id=check.id,
                created_at=now,
                **summary_fields(
                    N_("入场人证核验连续%(failures)s次未通过（最后一次：身份证照片%(last)s）")
                    if chip
                    else N_("入场人证核验连续%(failures)s次未通过（最后一次：%(last)s）"),
                    failures=checkin.failures,
                    last=reason_zh(engine_code),
                ),
            )
        )
        audit.record(
            session,
            "checkin_refused",
            target=checkin,
            kiosk_id=checkin.kiosk_id,
            detail={"failures": checkin.failures, "last": engine_code, "chip_photo": chip},
        )
        raise Refusal("checkin_refused", keep=True)
    checkin.challenge = _new_kind()
    message = FaceRefusal(engine_code).message_zh if engine_code else ""
    if chip:
        message = "身份证芯片照片无法用于人脸比对，请联系现场工作人员。"
    raise Refusal(
        code,
        message,
        keep=True,
        reason=engine_code,
        attempts_left=max_failures - checkin.failures,
        challenge=challenge_of(checkin.challenge),
        field="chip_photo" if chip else None,
    )
