"""Fixtures of the kiosk tests: chromium through Playwright (see browser.py)."""

import pytest

from tests.kiosk.browser import browser  # noqa: F401  (a fixture)
from tests.kiosk.live import Live, ThreadServer, build_app, open_exam


@pytest.fixture()
def live(tmp_path):
    """The real exam server app on a loopback port, with a kiosk token and an open sitting."""
    app = build_app(tmp_path)
    token, sitting_id, paper, other = open_exam(app)
    server = ThreadServer(app).start()
    yield Live(server, token, sitting_id, paper, other)
    server.stop()
    with app.app_context():
        from exam_server.extensions import db

        db.engine.dispose()
