"""Shared fixtures: an app on a migrated database (SQLite by default, PostgreSQL on request)."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import pytest
from flask.testing import FlaskClient
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from tests import factories

REPO = Path(__file__).resolve().parent.parent
FACES_DIR = Path(os.environ.get("EXAM_FACES_DIR", REPO.parent / "shared" / "faces"))
DEFAULT_POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def postgres_server_url() -> str:
    return os.environ.get("EXAM_TEST_POSTGRES_URL", DEFAULT_POSTGRES_URL)


def postgres_available() -> str | None:
    """Return None when PostgreSQL answers, else the reason it does not."""
    try:
        engine = create_engine(postgres_server_url(), connect_args={"connect_timeout": 3})
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        engine.dispose()
        return None
    except Exception as exc:  # any driver or network failure means "absent here"
        return f"PostgreSQL not reachable at {make_url(postgres_server_url()).render_as_string()}: {str(exc).splitlines()[0]}"


class TempPostgresDatabase:
    """A throw-away database on the PostgreSQL server, so parallel runs never collide."""

    def __init__(self) -> None:
        self.server = make_url(postgres_server_url())
        self.name = f"exam_test_{uuid.uuid4().hex[:12]}"
        self._admin = create_engine(self.server, isolation_level="AUTOCOMMIT")

    @property
    def url(self) -> str:
        return self.server.set(database=self.name).render_as_string(hide_password=False)

    def __enter__(self) -> TempPostgresDatabase:
        with self._admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{self.name}"'))
        return self

    def __exit__(self, *exc) -> None:
        with self._admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)'))
        self._admin.dispose()


def pytest_report_header(config):
    return f"database under test: {'PostgreSQL' if os.environ.get('EXAM_TEST_DATABASE') == 'postgres' else 'SQLite'}"


@pytest.fixture(scope="session")
def database_url(tmp_path_factory):
    """Yield the URL of a fresh, empty database for this test session."""
    if os.environ.get("EXAM_TEST_DATABASE") == "postgres":
        reason = postgres_available()
        if reason:
            pytest.exit(f"EXAM_TEST_DATABASE=postgres but {reason}", returncode=3)
        with TempPostgresDatabase() as database:
            yield database.url
    else:
        yield f"sqlite:///{tmp_path_factory.mktemp('db') / 'exam.db'}"


class FreshContextClient(FlaskClient):
    """Give every request its own app context, as a real server does (no leaking ``g``)."""

    def open(self, *args, **kwargs):
        with self.application.app_context():
            return super().open(*args, **kwargs)


@pytest.fixture(scope="session")
def app(database_url, tmp_path_factory):
    """Return the app on a database migrated to head, shared by the session."""
    from flask_migrate import upgrade

    from exam_server import create_app

    data_dir = tmp_path_factory.mktemp("data")
    application = create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "test-secret-key",
            "SQLALCHEMY_DATABASE_URI": database_url,
            "DATA_DIR": str(data_dir),
            "WTF_CSRF_ENABLED": False,
            "LOGIN_RATE_LIMIT": "1000 per minute",
            "SERVER_NAME": "exam.test",
            # Jobs run inside the request that queues them; tests/jobs start real workers on real queues.
            "QUEUE_URL": "immediate",
            "INDEX_SYNC_SECONDS": 0,
        }
    )
    application.test_client_class = FreshContextClient
    with application.app_context():
        upgrade()
    yield application
    with application.app_context():
        from exam_server.extensions import db as sqla

        sqla.engine.dispose()


@pytest.fixture()
def make_app(database_url, tmp_path, db):
    """Return a maker of further apps on the test database, with CSRF on (the real default) and `config` added.

    The session's app turns CSRF off and lifts the login limit so that tests need not fetch tokens; the tests
    of those protections build their app here. Each app's connections are closed after the test.
    """
    from exam_server import create_app
    from exam_server.extensions import db as sqla

    built = []

    def make(**config):
        base = {"TESTING": True, "SECRET_KEY": "k", "SQLALCHEMY_DATABASE_URI": database_url, "DATA_DIR": str(tmp_path)}
        application = create_app({**base, **config})
        application.test_client_class = FreshContextClient
        built.append(application)
        return application

    yield make
    for application in built:
        with application.app_context():
            sqla.engine.dispose()


@pytest.fixture()
def db(app):
    """Yield the SQLAlchemy handle inside an app context; empty every table afterwards."""
    from exam_server.extensions import db as sqla

    with app.app_context():
        yield sqla
        sqla.session.rollback()
        factories.empty_all_tables(sqla)


@pytest.fixture()
def client(app, db):
    return app.test_client()


@pytest.fixture()
def login(app, db):
    """Return a function that logs a new test client in as a user and returns the client."""

    def _login(user, password=factories.PASSWORD):
        test_client = app.test_client()
        response = test_client.post("/auth/login", data={"username": user.username, "password": password})
        assert response.status_code == 302, response.get_data(as_text=True)[:500]
        return test_client

    return _login


@pytest.fixture()
def world(db):
    """Two counties with one enterprise each, workers, and a user of every role."""
    return factories.World.build(db.session)


@pytest.fixture(scope="session")
def faces_dir():
    if not FACES_DIR.is_dir():
        pytest.skip(f"real face photos not found at {FACES_DIR} (set EXAM_FACES_DIR); face tests need them")
    return FACES_DIR
