"""The console's scripts run under its Content-Security-Policy (issue 14, finding 7), in a real browser."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from exam_server.extensions import db
from exam_server.models import Job, JobState, User, utcnow
from tests.console.browser import log_in

pytestmark = pytest.mark.browser


def test_console_scripts_run_under_the_content_security_policy(served, page):
    blocked: list[str] = []
    page.on("console", lambda msg: blocked.append(msg.text) if "Content Security Policy" in msg.text else None)
    page.on("pageerror", lambda exc: blocked.append(str(exc)))
    log_in(page, served.url, "city_admin")
    # The time-range select submits its form by itself (static/console.js, no inline handler).
    page.goto(f"{served.url}/console/questions/quality")
    page.select_option("select[name=days]", "90")
    page.wait_for_url("**days=90**")
    # A job page follows its job and reloads once it is finished.
    with served.app.app_context():
        owner = db.session.scalar(select(User).where(User.username == "city_admin"))
        job = Job(
            kind="export", title="安全策略测试任务", state=JobState.RUNNING, started_at=utcnow(), created_by_id=owner.id
        )
        db.session.add(job)
        db.session.commit()
        job_id = job.id
    page.goto(f"{served.url}/console/jobs/{job_id}")
    page.wait_for_selector("#state:has-text('处理中')")
    with served.app.app_context():
        db.session.get(Job, job_id).state = JobState.DONE
        db.session.commit()
    page.wait_for_selector("#state:has-text('已完成')", timeout=15000)
    assert blocked == []
