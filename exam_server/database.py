"""Database helpers: the session type services take, the rows a statement touched, SQLite pragmas, locale choice."""

from __future__ import annotations

from typing import Any, TypeAlias, cast

from flask import has_request_context, request
from flask_login import current_user
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


# Blueprints whose pages run through the catalogue; the worker, kiosk and public pages stay Chinese.
TRANSLATED_BLUEPRINTS = ("console", "auth")


def locale_selector() -> str:
    """Pick the console user's chosen language, else the browser's, else Simplified Chinese."""
    if not has_request_context() or request.blueprint not in TRANSLATED_BLUEPRINTS:
        return "zh_Hans_CN"
    chosen = getattr(current_user, "locale", None) if current_user.is_authenticated else None
    if chosen:
        return chosen
    return "en" if request.accept_languages.best_match(["zh", "en"]) == "en" else "zh_Hans_CN"
