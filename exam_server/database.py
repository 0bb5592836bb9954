"""Database helpers: SQLite pragmas, readable connection errors, locale choice."""

from __future__ import annotations

from flask import request
from sqlalchemy import event
from sqlalchemy.engine import Engine


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


def locale_selector() -> str:
    """Pick Simplified Chinese unless the user asked for English."""
    wanted = request.args.get("lang") or request.cookies.get("lang")
    if wanted in ("en", "zh_Hans_CN"):
        return wanted
    return "en" if request.accept_languages.best_match(["zh", "en"]) == "en" else "zh_Hans_CN"
