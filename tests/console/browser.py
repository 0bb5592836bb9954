"""Console browser tests' parts: serve a fresh app on a thread, drive Debian's chromium, take screenshots."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path

import pytest

from exam_server.services.exam import question_store
from tests import factories


@dataclass(frozen=True)
class Served:
    """The served app: its base URL, the Flask app (for checks against the database) and enterprise A."""

    url: str
    app: object
    enterprise: dict


CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--lang=zh-CN",
]


@pytest.fixture()
def served(tmp_path):
    """Serve a fresh app (CSRF on, SQLite file) from a werkzeug thread on 127.0.0.1; yield its URL, app and world."""
    from flask_migrate import upgrade
    from werkzeug.serving import make_server

    from exam_server import create_app
    from exam_server.extensions import db

    app = create_app(
        {
            "SECRET_KEY": "browser-test",
            "ENV_NAME": "development",
            "DATA_DIR": str(tmp_path),
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'exam.db'}",
        }
    )
    with app.app_context():
        upgrade()
        world = factories.World.build(db.session)
        question_store.load_bundled(db.session)
        db.session.commit()
        enterprise = {"name": world.enterprise_a.name, "credit_code": world.enterprise_a.credit_code}
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield Served(f"http://127.0.0.1:{server.server_port}", app, enterprise)
    server.shutdown()
    thread.join(5)
    with app.app_context():
        db.engine.dispose()


@pytest.fixture()
def page():
    if not CHROMIUM.exists():
        pytest.skip("Debian chromium not installed at /usr/bin/chromium (apt-get install -y chromium)")
    playwright_api = pytest.importorskip("playwright.sync_api", reason="pip install playwright")
    with playwright_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        context = browser.new_context(viewport={"width": 1280, "height": 860}, locale="zh-CN")
        yield context.new_page()
        browser.close()


def shot(page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def log_in(page, base: str, username: str) -> None:
    page.goto(f"{base}/console/")
    page.fill("#username", username)
    page.fill("#password", factories.PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_selector("text=工作台")
