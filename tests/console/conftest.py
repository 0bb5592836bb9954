"""Console fixtures: a plan, a kiosk and the bundled questions next to the two-tenant world."""

from __future__ import annotations

from datetime import timedelta

import pytest

from exam_server.models import ExamPlan, utcnow
from exam_server.services.exam import kiosks, question_store
from tests import factories

# A paper the bundled questions can always fill, whatever rule sets question_bank ships.
SMALL_RULESET = factories.small_ruleset("console-test", "控制台测试试卷")


def add_plan(session, *, county_id=None, name="2026年度安全生产考试") -> ExamPlan:
    now = utcnow()
    plan = ExamPlan(
        name=name,
        ruleset=dict(SMALL_RULESET),
        county_id=county_id,
        opens_at=now - timedelta(days=1),
        closes_at=now + timedelta(days=30),
        face_policy={},
    )
    session.add(plan)
    session.flush()
    return plan


@pytest.fixture()
def plan_b(db, world) -> ExamPlan:
    """A plan of county B, which county A's administrator must not touch."""
    plan = add_plan(db.session, county_id=world.county_b.id, name="罗庄区年度考试")
    db.session.commit()
    return plan


@pytest.fixture()
def kiosk_b(db, world):
    kiosk, _ = kiosks.register(db.session, "罗庄区考点1号机", county_id=world.county_b.id)
    db.session.commit()
    return kiosk


@pytest.fixture()
def bundled_questions(db):
    question_store.load_bundled(db.session)
    db.session.commit()


from tests.console.browser import page, served  # noqa: E402,F401  (browser fixtures for test_browser*.py)
