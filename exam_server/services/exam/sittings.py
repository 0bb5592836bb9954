"""Sittings: start with an assembled paper, answers, the server's clock, submission, grading, certificates."""

from __future__ import annotations

import re
import secrets
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

import question_bank as qb
from exam_server import localday
from exam_server.database import DbSession, rows_touched
from exam_server.models import (
    OPEN_REQUIREMENT_STATUSES,
    Answer,
    AnswerReceipt,
    Certificate,
    CheckIn,
    CheckInStatus,
    ExamRequirement,
    Kiosk,
    Question,
    RequirementStatus,
    Sitting,
    SittingStatus,
    Worker,
    utcnow,
)
from exam_server.services import audit
from exam_server.services.exam import captures, question_store
from exam_server.services.exam.refusals import Refusal

_LETTERS = re.compile(r"^[A-F]*$")
_SEED_LIMIT = 2**31  # the seed column is a 32-bit integer on PostgreSQL


def load(session: DbSession, sitting_id: int, kiosk: Kiosk, *, lock: bool = False) -> Sitting:
    """Return a sitting this kiosk runs (locked for update when asked) or refuse."""
    query = select(Sitting).where(Sitting.id == sitting_id)
    if lock:
        query = query.with_for_update().execution_options(populate_existing=True)
    sitting = session.scalar(query)
    if sitting is None:
        raise Refusal("sitting_not_found")
    if sitting.kiosk_id != kiosk.id:
        raise Refusal("sitting_elsewhere")
    return sitting


def remaining_seconds(sitting: Sitting, now: datetime) -> int:
    """Return whole seconds left (0 once closed or past the deadline)."""
    if sitting.status not in (SittingStatus.IN_PROGRESS, SittingStatus.SUSPENDED):
        return 0
    return max(0, int((sitting.deadline_at - now).total_seconds()))


def require_writable(session: DbSession, sitting: Sitting, now: datetime) -> None:
    """Refuse work on a suspended or closed sitting; close one whose time is up."""
    if sitting.status is SittingStatus.SUSPENDED:
        raise Refusal("sitting_suspended")
    if sitting.status is not SittingStatus.IN_PROGRESS:
        raise Refusal("sitting_closed")
    if now >= sitting.deadline_at:
        finish(session, sitting, now, auto=True)
        raise Refusal("sitting_closed", keep=True)


def start(session: DbSession, checkin: CheckIn, requirement: ExamRequirement, kiosk_id: int, now: datetime) -> Sitting:
    """Assemble the worker's paper and open the sitting; the database allows one active sitting per worker."""
    plan, worker = requirement.plan, requirement.worker
    bank, question_ids = question_store.bank(session)
    seed = secrets.randbelow(_SEED_LIMIT)
    try:
        paper = qb.assemble(
            bank,
            qb.RuleSet.from_dict(plan.ruleset),
            seed,
            industry=worker.enterprise.industry.code,
            job_category=worker.job_category.value,
        )
    except qb.AssemblyError as exc:
        raise Refusal("no_open_exam", "题库暂时无法组卷，请联系工作人员。", detail=exc.shortfalls) from exc
    stored = paper.to_dict()
    for item in stored["items"]:
        item["question_id"] = question_ids[item["code"]]
    # The picture is named by its content: the paper keeps the one it was drawn with, whatever happens later.
    drawn = [item["question_id"] for item in stored["items"]]
    pictures = {
        question_id: image
        for question_id, image in session.execute(
            select(Question.id, Question.image).where(Question.id.in_(drawn), Question.image.is_not(None))
        )
    }
    for item in stored["items"]:
        if item["question_id"] in pictures:
            item["image"] = pictures[item["question_id"]]
    sitting = Sitting(
        plan_id=plan.id,
        worker_id=worker.id,
        requirement_id=requirement.id,
        kiosk_id=kiosk_id,
        attempt_no=requirement.attempts + 1,
        seed=seed,
        paper=stored,
        started_at=now,
        deadline_at=now + timedelta(minutes=paper.duration_minutes),
    )
    try:
        with session.begin_nested():
            session.add(sitting)
    except IntegrityError:
        raise Refusal("sitting_elsewhere", "该考生的考试已在其他终端开始。") from None
    counted = rows_touched(
        session.execute(
            update(ExamRequirement)
            .where(
                ExamRequirement.id == requirement.id,
                ExamRequirement.attempts < plan.max_attempts,
                ExamRequirement.status.in_(OPEN_REQUIREMENT_STATUSES),
            )
            .values(attempts=ExamRequirement.attempts + 1, first_sat_at=requirement.first_sat_at or now)
            .execution_options(synchronize_session=False)
        )
    )
    if not counted:
        raise Refusal("no_attempts_left")
    session.refresh(requirement)
    captures.schedule(session, sitting, now)
    audit.record(
        session,
        "sitting_started",
        target=sitting,
        kiosk_id=kiosk_id,
        detail={"checkin_id": checkin.id, "attempt": sitting.attempt_no, "items": len(paper.items)},
    )
    return sitting


def resume(session: DbSession, sitting: Sitting, checkin: CheckIn, kiosk_id: int, now: datetime) -> Sitting:
    """Move an in-progress sitting to the kiosk that just checked the worker in; the deadline stays."""
    moved = rows_touched(
        session.execute(
            update(Sitting)
            .where(Sitting.id == sitting.id, Sitting.status == SittingStatus.IN_PROGRESS)
            .values(kiosk_id=kiosk_id)
            .execution_options(synchronize_session=False)
        )
    )
    if not moved:
        raise Refusal("sitting_closed")
    session.refresh(sitting)
    captures.cancel_pending(session, sitting.id, now)
    captures.schedule(session, sitting, now)
    audit.record(session, "sitting_resumed", target=sitting, kiosk_id=kiosk_id, detail={"checkin_id": checkin.id})
    return sitting


def paper_item(sitting: Sitting, item_no: int) -> dict:
    """Return the stored paper item with this number or refuse."""
    items = sitting.paper["items"]
    if not 1 <= item_no <= len(items) or items[item_no - 1]["number"] != item_no:
        raise Refusal("question_not_on_paper")
    return items[item_no - 1]


def normalise_response(item: dict, response: str) -> str:
    """Return the response as sorted, distinct presented letters, or refuse it naming the field."""
    letters = "".join(sorted(set((response or "").upper())))
    allowed = "ABCDEF"[: len(item["options"])]
    if not _LETTERS.match(letters) or any(c not in allowed for c in letters):
        raise Refusal("invalid_request", f"response 只能是选项字母 A-{allowed[-1]}。", field="response")
    if item["type"] != "multiple" and len(letters) > 1:
        raise Refusal("invalid_request", "response 单选题和判断题只能选一个选项。", field="response")
    return letters


def save_answer(session: DbSession, sitting: Sitting, item_no: int, response: str, key: str, now: datetime) -> Answer:
    """Store the latest response to an item; a key seen before (a retry, or its late copy) changes nothing."""
    require_writable(session, sitting, now)
    item = paper_item(sitting, item_no)
    letters = normalise_response(item, response)
    answer = session.scalar(select(Answer).where(Answer.sitting_id == sitting.id, Answer.item_no == item_no))
    try:
        with session.begin_nested():
            session.add(
                AnswerReceipt(
                    sitting_id=sitting.id, item_no=item_no, idempotency_key=key, response=letters, received_at=now
                )
            )
    except IntegrityError:
        # Seen already: a retry, or the original of a retry arriving after newer answers; those stand.
        return answer if answer is not None else _stored_answer(session, sitting, item_no)
    if answer is None:
        answer = Answer(
            sitting_id=sitting.id,
            item_no=item_no,
            question_id=item["question_id"],
            response=letters,
            idempotency_key=key,
            answered_at=now,
        )
        try:
            with session.begin_nested():
                session.add(answer)
            return answer
        except IntegrityError:  # the same answer raced in from a retry: update the winner instead
            answer = _stored_answer(session, sitting, item_no)
    if answer.idempotency_key == key or answer.response == letters:
        return answer
    answer.response, answer.idempotency_key, answer.answered_at = letters, key, now
    answer.revision += 1
    return answer


def _stored_answer(session: DbSession, sitting: Sitting, item_no: int) -> Answer:
    """Return the answer a concurrent request stored, whose receipt or row refused ours."""
    answer = session.scalar(select(Answer).where(Answer.sitting_id == sitting.id, Answer.item_no == item_no))
    if answer is None:
        raise RuntimeError(f"sitting {sitting.id} item {item_no}: a duplicate was refused but no answer is stored")
    return answer


def answers_of(session: DbSession, sitting_id: int) -> dict[int, str]:
    return dict(session.execute(select(Answer.item_no, Answer.response).where(Answer.sitting_id == sitting_id)).all())


def finish(session: DbSession, sitting: Sitting, now: datetime, *, auto: bool) -> bool:
    """Grade and close an in-progress sitting; return False if someone else closed it first."""
    grade = qb.grade(qb.Paper.from_dict(sitting.paper), answers_of(session, sitting.id))
    closed = rows_touched(
        session.execute(
            update(Sitting)
            .where(Sitting.id == sitting.id, Sitting.status == SittingStatus.IN_PROGRESS)
            .values(
                status=SittingStatus.SUBMITTED,
                submitted_at=min(now, sitting.deadline_at) if auto else now,
                auto_submitted=auto,
                score=grade.total,
                max_score=grade.max_total,
                passed=grade.passed,
            )
            .execution_options(synchronize_session=False)
        )
    )
    session.refresh(sitting)
    if not closed:
        return False
    requirement = session.get_one(ExamRequirement, sitting.requirement_id)
    if grade.passed:
        requirement.status, requirement.passed_at = RequirementStatus.PASSED, now
        issue_certificate(session, sitting, now)
    elif requirement.status is not RequirementStatus.PASSED:
        requirement.status = RequirementStatus.FAILED
    captures.cancel_pending(session, sitting.id, now)
    audit.record(
        session,
        "sitting_auto_submitted" if auto else "sitting_submitted",
        target=sitting,
        kiosk_id=sitting.kiosk_id,
        detail={"score": grade.total, "passed": grade.passed},
    )
    return True


def submit(session: DbSession, sitting: Sitting, now: datetime) -> Sitting:
    """Submit the sitting for grading; submitting again returns the same result."""
    if sitting.status is SittingStatus.SUBMITTED:
        return sitting
    if sitting.status is SittingStatus.SUSPENDED:
        raise Refusal("sitting_suspended")
    if sitting.status is not SittingStatus.IN_PROGRESS:
        raise Refusal("sitting_closed")
    finish(session, sitting, now, auto=now >= sitting.deadline_at)
    return sitting


def close_if_overdue(session: DbSession, sitting: Sitting, now: datetime) -> bool:
    """Auto-submit a sitting whose time is up (the sweep does the same when no kiosk asks)."""
    if sitting.status is SittingStatus.IN_PROGRESS and now >= sitting.deadline_at:
        return finish(session, sitting, now, auto=True)
    return False


def issue_certificate(session: DbSession, sitting: Sitting, now: datetime) -> Certificate:
    """Issue the certificate of a passed sitting with an unguessable public verification code."""
    issued = localday.local_date(now)  # the bureau's day: a pass at 02:17 Beijing time is dated that day
    certificate = Certificate(
        number=f"AQ{issued:%Y}{sitting.id:010d}",
        verify_code=secrets.token_urlsafe(18),
        worker_id=sitting.worker_id,
        plan_id=sitting.plan_id,
        sitting_id=sitting.id,
        requirement_id=sitting.requirement_id,
        issued_on=issued,
        valid_until=issued + timedelta(days=sitting.plan.certificate_valid_days),
    )
    session.add(certificate)
    session.flush()
    audit.record(session, "certificate_issued", target=certificate, detail={"sitting_id": sitting.id})
    return certificate


def certificate_of(session: DbSession, sitting_id: int) -> Certificate | None:
    return session.scalar(select(Certificate).where(Certificate.sitting_id == sitting_id))


def sweep(session: DbSession, now: datetime | None = None, batch: int = 200) -> dict[str, int]:
    """Auto-submit overdue sittings, expire check-ins and record missed captures; commit each step."""
    # Every change is a conditional UPDATE, so a second sweeper running at once finds nothing left to do.
    now = now or utcnow()
    submitted = 0
    overdue = session.scalars(
        select(Sitting.id)
        .where(Sitting.status == SittingStatus.IN_PROGRESS, Sitting.deadline_at <= now)
        .order_by(Sitting.deadline_at)
        .limit(batch)
    ).all()
    for sitting_id in overdue:
        sitting = session.scalars(
            select(Sitting).where(Sitting.id == sitting_id).with_for_update().execution_options(populate_existing=True)
        ).one()
        submitted += close_if_overdue(session, sitting, now)
        session.commit()
    expired = rows_touched(
        session.execute(
            update(CheckIn)
            .where(CheckIn.status == CheckInStatus.AWAITING_FACE, CheckIn.expires_at < now)
            .values(status=CheckInStatus.EXPIRED)
            .execution_options(synchronize_session=False)
        )
    )
    missed = captures.expire_missed(session, now)
    session.commit()
    return {"submitted": submitted, "checkins_expired": expired, "captures_missed": missed}


def masked_name(worker: Worker) -> str:
    return worker.name[0] + "*" * (len(worker.name) - 1)
