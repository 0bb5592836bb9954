"""Keep answers, captures and the submission in a local SQLite outbox (fsynced) and the sitting to resume."""

from __future__ import annotations

import json
import sqlite3
import threading
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

SCHEMA = """
CREATE TABLE IF NOT EXISTS outbox (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    sitting_id INTEGER NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('answer', 'capture', 'submit')),
    item_no INTEGER,
    response TEXT,
    nonce TEXT,
    frame BLOB,
    idempotency_key TEXT NOT NULL UNIQUE,
    created_at REAL NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    done_at REAL,
    outcome TEXT
);
CREATE INDEX IF NOT EXISTS outbox_pending ON outbox (done_at, seq);
CREATE TABLE IF NOT EXISTS answers (
    sitting_id INTEGER NOT NULL,
    item_no INTEGER NOT NULL,
    response TEXT NOT NULL,
    PRIMARY KEY (sitting_id, item_no)
);
CREATE TABLE IF NOT EXISTS state (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""


@dataclass(frozen=True)
class Entry:
    """One message waiting in the outbox."""

    seq: int
    sitting_id: int
    kind: str
    item_no: int | None
    response: str | None
    nonce: str | None
    frame: bytes | None
    idempotency_key: str
    attempts: int


class Journal:
    """The outbox and the resumable state, in one SQLite file written with synchronous=FULL."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.RLock()
        self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        # WAL with synchronous=FULL fsyncs the log at every commit: an answer acknowledged on the
        # screen survives a power cut.
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.executescript(SCHEMA)

    def close(self) -> None:
        """Close the database."""
        with self._lock:
            self._db.close()

    def pragma(self, name: str):
        """Return the value of a PRAGMA."""
        with self._lock:
            return self._db.execute(f"PRAGMA {name}").fetchone()[0]

    def _write(self, statements: list[tuple[str, tuple]]) -> None:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                for sql, args in statements:
                    self._db.execute(sql, args)
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise

    def _enqueue(self, sitting_id: int, kind: str, extra: Sequence[tuple[str, tuple]] = (), **fields) -> str:
        key = f"kiosk-{uuid.uuid4().hex}"
        columns = ["sitting_id", "kind", "idempotency_key", "created_at", *fields]
        values = (sitting_id, kind, key, time.time(), *fields.values())
        sql = f"INSERT INTO outbox ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})"
        self._write([*extra, (sql, values)])
        return key

    def record_answer(self, sitting_id: int, item_no: int, response: str) -> str:
        """Store the worker's answer and queue it for the server, in one transaction; return its key."""
        keep = (
            "INSERT INTO answers (sitting_id, item_no, response) VALUES (?, ?, ?) "
            "ON CONFLICT (sitting_id, item_no) DO UPDATE SET response = excluded.response",
            (sitting_id, item_no, response),
        )
        return self._enqueue(sitting_id, "answer", [keep], item_no=item_no, response=response)

    def record_capture(self, sitting_id: int, nonce: str, frame: bytes) -> str:
        """Queue a capture frame with its nonce; return its key."""
        return self._enqueue(sitting_id, "capture", nonce=nonce, frame=frame)

    def record_submit(self, sitting_id: int) -> str:
        """Queue the submission once per sitting; return its key."""
        with self._lock:
            row = self._db.execute(
                "SELECT idempotency_key FROM outbox WHERE sitting_id = ? AND kind = 'submit'", (sitting_id,)
            ).fetchone()
            return row[0] if row else self._enqueue(sitting_id, "submit")

    def next_pending(self) -> Entry | None:
        """Return the oldest message not yet delivered or given up."""
        with self._lock:
            row = self._db.execute(
                "SELECT seq, sitting_id, kind, item_no, response, nonce, frame, idempotency_key, attempts "
                "FROM outbox WHERE done_at IS NULL ORDER BY seq LIMIT 1"
            ).fetchone()
        return Entry(*row) if row else None

    def finish(self, seq: int, outcome: str) -> None:
        """Mark a message delivered ('ok') or given up (the server's refusal code)."""
        self._write([("UPDATE outbox SET done_at = ?, outcome = ? WHERE seq = ?", (time.time(), outcome, seq))])

    def attempted(self, seq: int) -> None:
        """Count one more delivery attempt."""
        self._write([("UPDATE outbox SET attempts = attempts + 1 WHERE seq = ?", (seq,))])

    def pending_count(self, sitting_id: int | None = None) -> int:
        """Return how many messages (of a sitting) wait for delivery."""
        with self._lock:
            if sitting_id is None:
                return self._db.execute("SELECT count(*) FROM outbox WHERE done_at IS NULL").fetchone()[0]
            return self._db.execute(
                "SELECT count(*) FROM outbox WHERE done_at IS NULL AND sitting_id = ?", (sitting_id,)
            ).fetchone()[0]

    def outcomes(self, sitting_id: int) -> list[tuple[str, int | None, str | None, str | None]]:
        """Return (kind, item_no, response, outcome) of every message of a sitting, in order."""
        with self._lock:
            return self._db.execute(
                "SELECT kind, item_no, response, outcome FROM outbox WHERE sitting_id = ? ORDER BY seq", (sitting_id,)
            ).fetchall()

    def answers(self, sitting_id: int) -> dict[int, str]:
        """Return the local answers of a sitting."""
        with self._lock:
            rows = self._db.execute("SELECT item_no, response FROM answers WHERE sitting_id = ?", (sitting_id,))
            return dict(rows.fetchall())

    def pending_answers(self, sitting_id: int, since: float | None = None) -> dict[int, str]:
        """Return the newest response of each item undelivered (or delivered after ``since``, a time.time()).

        Such a response overrides what the server last had: one delivered while the server's copy was being
        read may be missing from that copy.
        """
        with self._lock:
            rows = self._db.execute(
                "SELECT item_no, response FROM outbox WHERE sitting_id = ? AND kind = 'answer' "
                "AND (done_at IS NULL OR done_at >= ?) ORDER BY seq",
                (sitting_id, float("inf") if since is None else since),
            ).fetchall()
        return dict(rows)

    def adopt_answers(self, sitting_id: int, answers: dict[int, str]) -> None:
        """Replace the local copy of a sitting's answers (after reading them back from the server)."""
        self._write(
            [
                ("DELETE FROM answers WHERE sitting_id = ?", (sitting_id,)),
                *[
                    ("INSERT INTO answers (sitting_id, item_no, response) VALUES (?, ?, ?)", (sitting_id, k, v))
                    for k, v in answers.items()
                ],
            ]
        )

    def put(self, key: str, value) -> None:
        """Store a state value as JSON."""
        self._write(
            [
                (
                    "INSERT INTO state (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE "
                    "SET value = excluded.value",
                    (key, json.dumps(value, ensure_ascii=False)),
                )
            ]
        )

    def get(self, key: str, default=None):
        """Return a stored state value."""
        with self._lock:
            row = self._db.execute("SELECT value FROM state WHERE key = ?", (key,)).fetchone()
        return json.loads(row[0]) if row else default

    def forget(self, *keys: str) -> None:
        """Delete state values."""
        self._write([("DELETE FROM state WHERE key = ?", (key,)) for key in keys])
