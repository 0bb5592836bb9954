"""Migrations: one head, and the schema they build equals the models on SQLite and PostgreSQL."""

import pytest
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from flask_migrate import downgrade, upgrade
from sqlalchemy import inspect

from exam_server import create_app
from exam_server.extensions import db as sqla
from exam_server.models import Base
from tests.conftest import REPO, TempPostgresDatabase, postgres_available

MIGRATIONS = REPO / "exam_server" / "migrations"


def test_there_is_a_single_migration_head():
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    heads = ScriptDirectory.from_config(config).get_heads()
    assert len(heads) == 1, f"several migration heads: {heads}; merge them"


def _migrate_and_compare(url: str, tmp_path) -> None:
    app = create_app({"TESTING": True, "SECRET_KEY": "x", "SQLALCHEMY_DATABASE_URI": url, "DATA_DIR": str(tmp_path)})
    with app.app_context():
        upgrade()
        with sqla.engine.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
            tables = set(inspect(conn).get_table_names())
        assert diff == [], f"models and migrations differ: {diff}"
        assert set(Base.metadata.tables) <= tables
        downgrade(revision="base")
        with sqla.engine.connect() as conn:
            assert set(inspect(conn).get_table_names()) <= {"alembic_version"}
        upgrade()
        sqla.engine.dispose()


def test_migrations_build_the_models_on_sqlite(tmp_path):
    _migrate_and_compare(f"sqlite:///{tmp_path / 'm.db'}", tmp_path)


@pytest.mark.postgres
def test_migrations_build_the_models_on_postgresql(tmp_path):
    if reason := postgres_available():
        pytest.skip(reason)
    with TempPostgresDatabase() as database:
        _migrate_and_compare(database.url, tmp_path)


def test_sqlite_runs_in_wal_mode_with_foreign_keys(tmp_path):
    app = create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "x",
            "DATA_DIR": str(tmp_path),
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'w.db'}",
        }
    )
    with app.app_context():
        with sqla.engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        sqla.engine.dispose()
