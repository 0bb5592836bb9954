"""Two kiosks start the same worker's sitting at the same moment: the database lets exactly one win."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from exam_server import create_app
from exam_server.extensions import db as sqla
from exam_server.models import CheckIn, ExamRequirement, Sitting, utcnow
from exam_server.services.exam import kiosks, question_store, sittings
from exam_server.services.exam.refusals import Refusal
from tests import factories
from tests.api.conftest import add_plan
from tests.conftest import TempPostgresDatabase, postgres_available


@pytest.fixture(scope="module")
def pg_app(tmp_path_factory):
    """An app on its own throw-away PostgreSQL database, whichever database the suite runs on."""
    if reason := postgres_available():
        pytest.skip(f"concurrent start needs PostgreSQL: {reason}")
    from flask_migrate import upgrade

    with TempPostgresDatabase() as database:
        app = create_app(
            {
                "TESTING": True,
                "SECRET_KEY": "x",
                "SQLALCHEMY_DATABASE_URI": database.url,
                "DATA_DIR": str(tmp_path_factory.mktemp("pg-data")),
                "SERVER_NAME": "exam.test",
            }
        )
        with app.app_context():
            upgrade()
            question_store.load_bundled(sqla.session)
            sqla.session.commit()
        yield app
        with app.app_context():
            sqla.engine.dispose()


@pytest.mark.postgres
@pytest.mark.parametrize("round_no", range(3))
def test_exactly_one_of_two_simultaneous_starts_wins(pg_app, round_no):
    with pg_app.app_context():
        assert sqla.engine.dialect.name == "postgresql"
        county = factories.county(sqla.session, f"3713{20 + round_no}", f"并发区{round_no}")
        worker = factories.worker(sqla.session, factories.enterprise(sqla.session, county))
        worker_id = worker.id
        plan = add_plan(sqla.session, [worker])
        requirement_id = sqla.session.scalar(select(ExamRequirement.id).where(ExamRequirement.plan_id == plan.id))
        now = utcnow()
        checkins = []
        for name in ("A", "B"):
            kiosk, _ = kiosks.register(sqla.session, f"race-{round_no}-{name}")
            checkin = CheckIn(
                worker_id=worker.id,
                plan_id=plan.id,
                kiosk_id=kiosk.id,
                challenge="blink",
                token_hash=kiosks.hash_token(f"race-{round_no}-{name}"),
                created_at=now,
                expires_at=now + timedelta(minutes=5),
            )
            sqla.session.add(checkin)
            sqla.session.flush()
            checkins.append((checkin.id, kiosk.id))
        sqla.session.commit()

    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def start(checkin_id: int, kiosk_id: int) -> None:
        with pg_app.app_context():
            session = sqla.session
            checkin = session.get(CheckIn, checkin_id)
            requirement = session.get(ExamRequirement, requirement_id)
            _ = requirement.plan, requirement.worker  # load before the race, as a real request has
            barrier.wait(timeout=10)
            try:
                sittings.start(session, checkin, requirement, kiosk_id, utcnow())
                session.commit()
                outcomes.append("started")
            except Refusal as refusal:
                session.rollback()
                outcomes.append(refusal.code)

    threads = [threading.Thread(target=start, args=pair) for pair in checkins]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(outcomes) == ["sitting_elsewhere", "started"]
    with pg_app.app_context():
        assert sqla.session.scalar(select(func.count(Sitting.id)).where(Sitting.worker_id == worker_id)) == 1
        assert sqla.session.get(ExamRequirement, requirement_id).attempts == 1
