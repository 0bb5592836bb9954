"""Mock exams: the plan's rules and timer over the practice bank, graded, never a sitting."""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta

from sqlalchemy import select

import question_bank as qb
from exam_server.database import DbSession
from exam_server.models import (
    OPEN_REQUIREMENT_STATUSES,
    DomainError,
    ExamPlan,
    ExamRequirement,
    MockExam,
    PracticeAnswer,
    Worker,
)
from exam_server.services.exam import question_store
from exam_server.services.practice import drills

MOCK = "mock"
# A hand-in this long after the deadline still counts: the page submits itself at zero, the network may lag.
GRACE = timedelta(seconds=30)
_SEED_LIMIT = 2**31


def plan_for(session: DbSession, worker: Worker, now: datetime) -> ExamPlan | None:
    """Return the plan of the worker's next open exam (the one closing first), or None."""
    return session.scalar(
        select(ExamPlan)
        .join(ExamRequirement, ExamRequirement.plan_id == ExamPlan.id)
        .where(
            ExamRequirement.worker_id == worker.id,
            ExamRequirement.status.in_(OPEN_REQUIREMENT_STATUSES),
            ExamPlan.closes_at > now,
        )
        .order_by(ExamPlan.closes_at, ExamPlan.id)
        .limit(1)
    )


def rules_for(session: DbSession, worker: Worker, now: datetime) -> tuple[qb.RuleSet, ExamPlan | None]:
    """Return the rules a mock exam follows: the worker's plan's, or the general ones when none is open."""
    plan = plan_for(session, worker, now)
    return qb.RuleSet.from_dict(plan.ruleset if plan else question_store.default_ruleset()), plan


def open_mock(session: DbSession, worker: Worker, now: datetime) -> MockExam | None:
    """Return the worker's mock exam still in time and not handed in, if any."""
    return session.scalar(
        select(MockExam)
        .where(MockExam.worker_id == worker.id, MockExam.submitted_at.is_(None), MockExam.deadline_at > now - GRACE)
        .order_by(MockExam.id.desc())
        .limit(1)
    )


def start(session: DbSession, worker: Worker, now: datetime) -> MockExam:
    """Draw a mock paper by the plan's rules from the practice bank (no exam-only question); one at a time."""
    running = open_mock(session, worker, now)
    if running is not None:
        return running
    ruleset, plan = rules_for(session, worker, now)
    bank, ids = drills.practice_bank(session)
    try:
        paper = qb.assemble(
            bank,
            ruleset,
            secrets.randbelow(_SEED_LIMIT),
            industry=worker.enterprise.industry.code,
            job_category=worker.job_category.value,
        )
    except qb.AssemblyError:
        raise DomainError("可用于模拟考试的题目暂时不够，请先按分类练习。") from None
    stored = paper.to_dict()
    for item in stored["items"]:
        item["question_id"] = ids[item["code"]]
    mock = MockExam(
        worker_id=worker.id,
        plan_id=plan.id if plan else None,
        title=f"{plan.name if plan else ruleset.name}（模拟）",
        paper=stored,
        responses={},
        started_at=now,
        deadline_at=now + timedelta(minutes=paper.duration_minutes),
    )
    session.add(mock)
    session.flush()
    return mock


def find(session: DbSession, worker: Worker, mock_id: int) -> MockExam | None:
    """Return the worker's own mock exam; another worker's is not found."""
    mock = session.get(MockExam, mock_id)
    return mock if mock is not None and mock.worker_id == worker.id else None


def paper_of(mock: MockExam) -> qb.Paper:
    """Return the mock exam's paper."""
    return qb.Paper.from_dict(mock.paper)


def submit(session: DbSession, mock: MockExam, responses: dict[int, str], now: datetime) -> qb.GradeResult:
    """Grade the hand-in (once: a second hand-in changes nothing); after the time, the responses do not count."""
    paper = paper_of(mock)
    if mock.submitted_at is None:
        late = now > mock.deadline_at + GRACE
        kept = {} if late else {n: r for n, r in responses.items() if any(it.number == n for it in paper.items)}
        try:
            result = qb.grade(paper, kept)
        except ValueError:
            raise DomainError("答案中有无效的选项，请重新选择后交卷。") from None
        mock.responses = {str(g.number): g.response for g in result.items if g.response}  # normalised letters
        mock.submitted_at, mock.late = now, late
        mock.score, mock.max_score, mock.passed = result.total, result.max_total, result.passed
        _store_answers(session, mock, paper, result)
        session.flush()
    return grade_of(mock)


def grade_of(mock: MockExam) -> qb.GradeResult:
    """Return the graded result of a handed-in mock exam."""
    return qb.grade(paper_of(mock), {int(n): r for n, r in (mock.responses or {}).items()})


def _store_answers(session: DbSession, mock: MockExam, paper: qb.Paper, result: qb.GradeResult) -> None:
    """Keep each answered item as a practice answer, so a mock mistake lands in the wrong-answer book."""
    ids = {item["number"]: item["question_id"] for item in mock.paper["items"]}
    for item, graded in zip(paper.items, result.items, strict=True):
        if not graded.response:
            continue
        session.add(
            PracticeAnswer(
                worker_id=mock.worker_id,
                question_id=ids[item.number],
                question_version=item.version,
                category=item.category,
                mode=MOCK,
                response=graded.response_original,
                correct=graded.correct,
                idempotency_key=f"mock:{mock.id}:{item.number}",
            )
        )


def history(session: DbSession, worker: Worker) -> list[MockExam]:
    """Return the worker's handed-in mock exams, newest first."""
    return list(
        session.scalars(
            select(MockExam)
            .where(MockExam.worker_id == worker.id, MockExam.submitted_at.is_not(None))
            .order_by(MockExam.id.desc())
            .limit(20)
        )
    )
