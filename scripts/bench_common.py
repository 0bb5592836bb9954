"""Shared by the scale benchmarks: throw-away databases, the app, percentiles, the machine, the results file."""

from __future__ import annotations

import contextlib
import os
import platform
import re
import shutil
import statistics
import sys
import tempfile
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
RESULTS = REPO / "docs" / "benchmarks_scale.md"
POSTGRES_SERVER = os.environ.get("EXAM_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


@contextlib.contextmanager
def throwaway_database(kind: str, name: str, keep: bool = False) -> Iterator[str]:
    """Yield the URL of a new empty database (PostgreSQL database ``name`` or an SQLite file); drop it after."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    if kind == "sqlite":
        folder = Path(tempfile.mkdtemp(prefix=f"{name}_", dir=os.environ.get("EXAM_BENCH_TMP")))
        try:
            yield f"sqlite:///{folder / 'exam.db'}"
        finally:
            if not keep:
                shutil.rmtree(folder, ignore_errors=True)
        return
    server = make_url(POSTGRES_SERVER)
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield server.set(database=name).render_as_string(hide_password=False)
    finally:
        if not keep:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def make_app(url: str, data_dir: Path, **config):
    """Return the real app on ``url`` (migrated to head) with its data under data_dir."""
    import logging

    from flask_migrate import upgrade

    from exam_server import create_app

    logging.getLogger("alembic").setLevel(logging.WARNING)
    data_dir.mkdir(parents=True, exist_ok=True)
    app = create_app(
        {"SECRET_KEY": "bench-secret-key", "SQLALCHEMY_DATABASE_URI": url, "DATA_DIR": str(data_dir), **config}
    )
    with app.app_context():
        upgrade()
    return app


def insert_practice_answers(
    session,
    worker_ids: Sequence[int],
    answers_each: int,
    questions: Sequence,
    rng,
    first: Callable[[int], datetime],
    step: timedelta,
    key: str = "bench",
    batch: int = 20_000,
) -> None:
    """Insert answers_each synthetic practice answers per worker, in bulk batches (70% right; no commit).

    questions: rows with id and category, each answer a random one of them (drawn with rng); the n-th
    answer of the i-th worker was given at first(i) + n * step, with the idempotency key f"{key}-{n}".
    """
    from sqlalchemy import insert

    from exam_server.models import PracticeAnswer

    rows: list[dict] = []
    for i, worker_id in enumerate(worker_ids):
        start = first(i)
        for n in range(answers_each):
            question = rng.choice(questions)
            rows.append(
                {
                    "worker_id": worker_id,
                    "question_id": question.id,
                    "question_version": 1,
                    "category": question.category,
                    "mode": "category",
                    "response": "A",
                    "correct": rng.random() < 0.7,
                    "idempotency_key": f"{key}-{n}",
                    "answered_at": start + n * step,
                }
            )
        if len(rows) >= batch:
            session.execute(insert(PracticeAnswer), rows)
            rows = []
    if rows:
        session.execute(insert(PracticeAnswer), rows)


def percentile(values: list[float], q: float) -> float:
    """Return the q-th percentile (0-100) by linear interpolation; nan for no values."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    position = (len(ordered) - 1) * q / 100
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def machine(postgres_url: str | None = None) -> str:
    """Describe the machine, Python, SQLite and (when given a URL) the PostgreSQL server."""
    import sqlite3

    cpu = platform.processor() or platform.machine()
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    memory = ""
    with contextlib.suppress(OSError, ValueError, IndexError):
        kib = int(Path("/proc/meminfo").read_text().split()[1])
        memory = f", {kib / 1024 / 1024:.0f} GiB RAM"
    parts = [
        f"{cpu}, {os.cpu_count()} cores{memory} (load average {os.getloadavg()[0]:.1f})",
        f"Linux {platform.release()}",
        f"Python {platform.python_version()}",
        f"SQLite {sqlite3.sqlite_version}",
    ]
    if postgres_url:
        with contextlib.suppress(Exception):
            from sqlalchemy import create_engine, text

            engine = create_engine(postgres_url)
            with engine.connect() as conn:
                parts.append("PostgreSQL " + conn.scalar(text("SHOW server_version")).split()[0])
            engine.dispose()
    return ", ".join(parts)


def stamp() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")


def write_section(key: str, body: str, path: Path = RESULTS) -> None:
    """Put body between this benchmark's markers in the results file, keeping the other sections."""
    start, end = f"<!-- {key}:start -->", f"<!-- {key}:end -->"
    block = f"{start}\n{body.strip()}\n{end}"
    text = (
        path.read_text()
        if path.exists()
        else "# Scale benchmarks\n\nWritten by `scripts/bench_import.py` and `scripts/bench_load.py`; each rewrites its own section.\n"
    )
    pattern = re.compile(re.escape(start) + r".*?" + re.escape(end), re.S)
    text = pattern.sub(lambda _: block, text) if pattern.search(text) else text.rstrip() + "\n\n" + block + "\n"
    path.write_text(text)
    if path == RESULTS:
        from benchdoc import rebuild

        rebuild()
