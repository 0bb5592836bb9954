"""Kiosk registration and tokens, and the sweep the job worker runs without any request."""

from __future__ import annotations

import hashlib
import os
import re
import subprocess
import sys
import time
from datetime import timedelta

import pytest
from click.testing import CliRunner
from sqlalchemy import create_engine, select, text

from exam_server.models import AuditLog, Kiosk, utcnow
from exam_server.services.exam import kiosks
from tests.conftest import REPO


def test_register_prints_the_token_once_and_stores_its_hash(app, db):
    result = CliRunner().invoke(app.cli, ["kiosk", "register", "兰陵县考点2号机", "--location", "兰陵县"])
    assert result.exit_code == 0, result.output
    token = result.output.strip().rsplit(" ", 1)[-1]
    kiosk = db.session.scalar(select(Kiosk).where(Kiosk.name == "兰陵县考点2号机"))
    assert kiosk.token_hash == hashlib.sha256(token.encode()).hexdigest() and token not in str(vars(kiosk))
    assert kiosks.authenticate(db.session, token).id == kiosk.id
    again = CliRunner().invoke(app.cli, ["kiosk", "register", "兰陵县考点2号机"])
    assert again.exit_code != 0 and "已存在" in again.output

    client = app.test_client()
    ping = client.get("/api/v1/ping", headers={"Authorization": f"Bearer {token}"}).get_json()
    assert ping["kiosk"] == {"id": kiosk.id, "name": "兰陵县考点2号机"} and ping["server_time"].endswith("Z")
    db.session.refresh(kiosk)
    seen = kiosk.last_seen_at
    assert seen is not None and utcnow() - seen < timedelta(seconds=30)
    client.get("/api/v1/ping", headers={"Authorization": f"Bearer {token}"})
    db.session.refresh(kiosk)
    assert kiosk.last_seen_at == seen  # at most one write a minute

    result = CliRunner().invoke(app.cli, ["kiosk", "disable", "兰陵县考点2号机"])
    assert result.exit_code == 0
    refused = client.get("/api/v1/ping", headers={"Authorization": f"Bearer {token}"})
    assert refused.status_code == 403 and refused.get_json()["error"] == "kiosk_disabled"
    actions = db.session.scalars(select(AuditLog.action).where(AuditLog.target_type == "kiosk")).all()
    assert actions == ["kiosk_registered", "kiosk_disabled"]
    assert CliRunner().invoke(app.cli, ["kiosk", "disable", "no-such"]).exit_code != 0


def test_reissued_token_replaces_the_old_one(db):
    kiosk, old = kiosks.register(db.session, "费县考点")
    new = kiosks.reissue_token(db.session, kiosk)
    assert kiosks.authenticate(db.session, new).id == kiosk.id
    with pytest.raises(kiosks.KioskAuthError):
        kiosks.authenticate(db.session, old)


@pytest.mark.slow
def test_the_job_worker_submits_overdue_sittings_with_no_request(tmp_path):
    """Build a database holding an overdue sitting, start `exam-server worker`, and wait for its periodic sweep."""
    from flask_migrate import upgrade

    from exam_server import create_app
    from exam_server.extensions import db as sqla
    from exam_server.services.exam import question_store
    from tests import factories
    from tests.api.conftest import Exam, add_plan, open_sitting

    url = f"sqlite:///{tmp_path / 'exam.db'}"
    app = create_app({"TESTING": True, "SECRET_KEY": "x", "SQLALCHEMY_DATABASE_URI": url, "DATA_DIR": str(tmp_path)})
    with app.app_context():
        upgrade()
        question_store.load_bundled(sqla.session)
        world = factories.World.build(sqla.session)
        plan = add_plan(sqla.session, world.workers_a[:1])
        kiosk, _ = kiosks.register(sqla.session, "gunicorn-test")
        from exam_server.models import ExamRequirement

        requirement = sqla.session.scalar(select(ExamRequirement))
        sitting = open_sitting(
            sqla, Exam(world.workers_a[0], plan, requirement, world), kiosk.id, now=utcnow() - timedelta(hours=1)
        )
        sitting_id = sitting.id
        sqla.engine.dispose()

    env = {k: v for k, v in os.environ.items() if not k.startswith("EXAM_")}
    env.update(
        {
            "EXAM_SECRET_KEY": "x",
            "EXAM_DATA_DIR": str(tmp_path),
            "EXAM_DATABASE_URL": url,
            "EXAM_SWEEP_SECONDS": "1",
            "EXAM_QUEUE_URL": f"sqlite:///{tmp_path / 'queue.sqlite3'}",
        }
    )
    process = subprocess.Popen(
        [sys.executable, "-m", "exam_server.cli", "worker", "--processes", "2"],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    engine = create_engine(url)
    try:
        deadline = time.monotonic() + 60
        status = None
        while time.monotonic() < deadline and status != "submitted":
            assert process.poll() is None, process.stdout.read().decode()[-2000:]
            with engine.connect() as conn:
                status = conn.execute(text("SELECT status FROM sitting WHERE id = :id"), {"id": sitting_id}).scalar()
            time.sleep(0.3)
        assert status == "submitted"
        with engine.connect() as conn:
            assert conn.execute(text("SELECT auto_submitted FROM sitting")).scalar() in (1, True)
    finally:
        process.terminate()
        output = process.communicate(timeout=30)[0].decode()
        engine.dispose()
    assert re.search(r"periodic sweep slot \d+: \{'submitted': 1", output), output[-3000:]
