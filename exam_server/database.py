"""Database helpers: the session type services take, the rows a statement touched, SQLite pragmas."""

from __future__ import annotations

from typing import Any, TypeAlias, cast

from flask_sqlalchemy.session import Session as AppSession
from sqlalchemy import CursorResult, Result, event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, scoped_session

# What every service takes: a plain Session (jobs, CLI, tests) or the app's request-scoped db.session, a
# scoped_session that proxies the same methods to the Session of the current request.
DbSession: TypeAlias = Session | scoped_session[AppSession]


def rows_touched(result: Result[Any]) -> int:
    """Return how many rows an UPDATE or DELETE touched."""
    # Session.execute is typed as returning Result; for DML it is a CursorResult, which carries rowcount.
    return cast(CursorResult[Any], result).rowcount


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    """Turn on WAL, foreign keys and a busy timeout for every SQLite connection."""
    if type(dbapi_connection).__module__ != "sqlite3":
        return
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def install_engine_hooks() -> None:
    """Register the SQLite connect hook once per process."""
    if not event.contains(Engine, "connect", _sqlite_pragmas):
        event.listen(Engine, "connect", _sqlite_pragmas)
