"""A worker with a PIN proved by a real passed check-in, sittings submitted at a kiosk, and signed-in clients."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta

import pytest
from sqlalchemy import select

from exam_server.models import (
    CheckIn,
    CheckInStatus,
    ExamPlan,
    ExamRequirement,
    Kiosk,
    Sitting,
    SittingStatus,
    Worker,
    utcnow,
)
from exam_server.services.exam import kiosks, question_store
from exam_server.services.practice import pins
from tests import factories
from tests.certificates.conftest import document_config, seal  # noqa: F401  (fixtures for test_records)
from tests.console.browser import served  # noqa: F401  (the browser test's server)
from tests.console_stats.conftest import RULESET

PIN = "482915"


@dataclass
class Visit:
    """A kiosk, its token, a check-in of a worker with its token, and the sitting it opened (if any)."""

    kiosk: Kiosk
    kiosk_token: str
    checkin: CheckIn
    checkin_token: str
    sitting: Sitting | None = None


def open_plan(session) -> ExamPlan:
    now = utcnow()
    found = ExamPlan(
        name="练习测试考试计划", ruleset=RULESET, opens_at=now - timedelta(days=1), closes_at=now + timedelta(days=30)
    )
    session.add(found)
    session.flush()
    return found


def visit(session, worker: Worker, status: CheckInStatus = CheckInStatus.PASSED, at=None) -> Visit:
    """Record a check-in of the worker at a new kiosk, as the face check left it (no face work here)."""
    at = at or utcnow()
    plan = session.query(ExamPlan).first() or open_plan(session)
    kiosk, kiosk_token = kiosks.register(session, f"练习测试终端{secrets.token_hex(3)}", location="测试考点")
    token = secrets.token_urlsafe(16)
    checkin = CheckIn(
        worker_id=worker.id,
        plan_id=plan.id,
        kiosk_id=kiosk.id,
        challenge="blink",
        token_hash=hashlib.sha256(token.encode()).hexdigest(),
        status=status,
        created_at=at,
        expires_at=at + timedelta(minutes=5),
    )
    session.add(checkin)
    session.flush()
    return Visit(kiosk, kiosk_token, checkin, token)


def sat(session, worker: Worker, at=None) -> Visit:
    """Record a sitting the worker submitted at a new kiosk after a passed check-in there (no face work here)."""
    at = at or utcnow()
    seen = visit(session, worker, at=at - timedelta(minutes=30))
    plan_id = seen.checkin.plan_id
    requirement = session.scalar(select(ExamRequirement).filter_by(plan_id=plan_id, worker_id=worker.id))
    if requirement is None:
        enterprise = worker.enterprise
        requirement = ExamRequirement(
            plan_id=plan_id,
            worker_id=worker.id,
            enterprise_id=enterprise.id,
            county_id=enterprise.county_id,
            township_id=enterprise.township_id,
            industry_id=enterprise.industry_id,
        )
        session.add(requirement)
        session.flush()
    seen.sitting = Sitting(
        plan_id=plan_id,
        worker_id=worker.id,
        requirement_id=requirement.id,
        kiosk_id=seen.kiosk.id,
        seed=1,
        paper={"items": [], "pass_mark": 60},
        started_at=at - timedelta(minutes=30),
        deadline_at=at + timedelta(minutes=30),
        status=SittingStatus.SUBMITTED,
        submitted_at=at,
        score=0,
        max_score=100,
        passed=False,
    )
    session.add(seen.sitting)
    session.flush()
    seen.checkin.sitting_id = seen.sitting.id
    session.flush()
    return seen


def give_pin(session, worker: Worker, pin: str = PIN) -> None:
    """Store the worker's PIN as the kiosk endpoint does, proved by a passed check-in."""
    seen = visit(session, worker)
    pins.replace_pin(session, worker, pin, utcnow(), seen.checkin.id)
    session.commit()


@pytest.fixture()
def bank(db):
    question_store.load_bundled(db.session)
    db.session.commit()


@pytest.fixture()
def sign_in(app, db):
    """Return a function that signs a worker in on a new client with citizen ID and PIN."""

    def _sign_in(worker: Worker, pin: str = PIN):
        client = app.test_client()
        response = client.post("/worker/login", data={"citizen_id": worker.citizen_id, "pin": pin})
        assert response.status_code == 302 and response.headers["Location"].endswith("/worker/"), response.status
        return client

    return _sign_in


@pytest.fixture()
def workers(db, world, bank):
    """World A's first worker and B's first worker, each with a PIN."""
    a, b = world.workers_a[0], world.workers_b[0]
    give_pin(db.session, a)
    give_pin(db.session, b, "730461")
    return a, b


__all__ = ["PIN", "factories"]


@pytest.fixture()
def strict_client(make_app):
    """Return a test client of an app that checks CSRF tokens (the test app does not), on the same database."""
    return make_app(SECRET_KEY="strict-key", SERVER_NAME="exam.test", QUEUE_URL="immediate").test_client()
