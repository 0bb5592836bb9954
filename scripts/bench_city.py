"""The generated city the statistics and export benchmarks run on: built once per database, reused while unchanged.

The city comes from ``exam_server.demo.city_generator.generate``, run by scripts/generate_city.py.
A marker file next to each database records the scale, seed, anchor date and a hash of the generator's
source, plus a fingerprint of what the database held after generation (rows per table, requirements per
status); a run reuses the database only when all of them still match, and otherwise rebuilds it anew.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime
from pathlib import Path

from bench_common import POSTGRES_SERVER, REPO
from bench_common import make_app as common_app

ROOT = REPO / "var" / "bench"
PG_DATABASE = "exam_bench_city"
PASSWORD = "bench-password-42"
# What the generated data depends on: a change to any of these makes a reused database stale.
GENERATOR_SOURCES = (
    "scripts/generate_city.py",
    "exam_server/demo/city_generator.py",
    "exam_server/demo/city_history.py",
    "exam_server/demo/city_faces.py",
    "exam_server/demo/synthetic.py",
    "exam_server/reference.py",
)


@dataclass
class Target:
    """One database to benchmark: its label, URL, data directory (photos, 1:N index) and marker file."""

    label: str
    kind: str
    url: str
    data_dir: Path

    @property
    def marker(self) -> Path:
        return self.data_dir / "city.json"


def targets(which: str, scale: str) -> list[Target]:
    """Return the SQLite and/or PostgreSQL targets for this scale."""
    from sqlalchemy.engine import make_url

    found = []
    if which in ("sqlite", "both"):
        folder = ROOT / f"{scale}-sqlite"
        found.append(Target("SQLite", "sqlite", f"sqlite:///{folder / 'exam.db'}", folder))
    if which in ("postgres", "both"):
        name = PG_DATABASE if scale == "city" else f"{PG_DATABASE}_{scale}"
        url = make_url(POSTGRES_SERVER).set(database=name).render_as_string(hide_password=False)
        found.append(Target("PostgreSQL", "postgres", url, ROOT / f"{scale}-postgres"))
    return found


def spec(scale: str, seed: int | None, anchor: date | None) -> dict:
    """Describe the city wanted: scale fields (seed included), anchor date (None: any) and generator hash."""
    from exam_server.demo.city_generator import scale_named

    digest = hashlib.sha256()
    for path in GENERATOR_SOURCES:
        digest.update((REPO / path).read_bytes())
    return {
        "scale": scale,
        "fields": asdict(scale_named(scale, seed=seed)),
        "anchor": anchor.isoformat() if anchor else None,
        "generator_sha256": digest.hexdigest()[:16],
    }


def fingerprint(session) -> dict:
    """Return rows per table and requirements per status (with attempts): what a benchmark must leave as it found."""
    from sqlalchemy import func, select

    from exam_server.models import Base
    from exam_server.models import ExamRequirement as Req

    rows = {t.name: session.scalar(select(func.count()).select_from(t)) for t in Base.metadata.sorted_tables}
    statuses = {
        str(getattr(s, "value", s)): n
        for s, n in session.execute(select(Req.status, func.count()).group_by(Req.status))
    }
    return {
        "rows": rows,
        "requirements": statuses,
        "attempts": int(session.scalar(select(func.coalesce(func.sum(Req.attempts), 0)))),
    }


def make_app(target: Target):
    """Return the real app on the target (migrated to head), set up for the test client."""
    return common_app(
        target.url,
        target.data_dir,
        TESTING=True,
        WTF_CSRF_ENABLED=False,
        LOGIN_RATE_LIMIT="1000 per minute",
        SERVER_NAME="bench.test",
    )


def _wipe(target: Target) -> None:
    """Remove the target's database and data directory (both belong to this benchmark)."""
    import shutil

    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    shutil.rmtree(target.data_dir, ignore_errors=True)
    if target.kind == "postgres":
        admin = create_engine(POSTGRES_SERVER, isolation_level="AUTOCOMMIT")
        name = make_url(target.url).database
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        admin.dispose()


def _postgres_exists(target: Target) -> bool:
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    admin = create_engine(POSTGRES_SERVER)
    with admin.connect() as conn:
        found = conn.scalar(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": make_url(target.url).database})
    admin.dispose()
    return bool(found)


def reusable(target: Target, wanted: dict) -> dict | None:
    """Return the marker when the target holds exactly the wanted city, untouched since it was generated."""
    if not target.marker.exists() or (target.kind == "postgres" and not _postgres_exists(target)):
        return None
    marker = json.loads(target.marker.read_text())
    # Without --anchor any anchor will do (generation defaults to "today"); with it, it must match.
    recorded = dict(marker["spec"], anchor=wanted["anchor"] and marker["spec"]["anchor"])
    if recorded != wanted:
        return None
    from exam_server.extensions import db

    app = make_app(target)
    with app.app_context():
        same = fingerprint(db.session) == marker["fingerprint"]
        db.session.remove()
        db.engine.dispose()
    return marker if same else None


def generate(target: Target, scale: str, seed: int | None, anchor: date | None) -> tuple[float, str]:
    """Run scripts/generate_city.py into the target; return its wall time and summary line.

    A child process keeps the generation's memory out of this one, whose growth the export benchmark measures.
    """
    command = [
        sys.executable,
        str(REPO / "scripts" / "generate_city.py"),
        "--database-url",
        target.url,
        "--data-dir",
        str(target.data_dir),
        "--scale",
        scale,
        "--no-progress",
    ]
    command += (["--seed", str(seed)] if seed is not None else []) + (["--anchor", str(anchor)] if anchor else [])
    started = time.perf_counter()
    done = subprocess.run(command, cwd=REPO, capture_output=True, text=True)
    if done.returncode:
        raise SystemExit(f"{target.label}: generate_city.py failed ({done.returncode}):\n{done.stderr[-3000:]}")
    summary = next((line for line in done.stdout.splitlines() if line.startswith("generated ")), "")
    return time.perf_counter() - started, summary.removeprefix("generated ")


def open_city(target: Target, scale: str, seed: int | None, anchor: date | None, rebuild: bool = False):
    """Return (app, marker) on the target's generated city, generating it first unless it can be reused."""
    from exam_server.demo.city_generator import anchor_of
    from exam_server.extensions import db

    wanted = spec(scale, seed, anchor)
    marker = None if rebuild else reusable(target, wanted)
    if marker is not None:
        return make_app(target), dict(marker, reused=True)
    _wipe(target)
    seconds, summary = generate(target, scale, seed, anchor)
    app = make_app(target)
    with app.app_context():
        if target.kind == "postgres":
            # Autovacuum analyses a bulk load on its own a little later; do it now so every run starts alike.
            with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.exec_driver_sql("VACUUM ANALYZE")
        # SQLite is measured without ANALYZE statistics, as an ordinary deployment runs it.
        marker = {
            "spec": dict(wanted, anchor=anchor_of(anchor).date().isoformat()),
            "built_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "seconds": round(seconds),
            "summary": summary,
            "fingerprint": fingerprint(db.session),
        }
        db.session.remove()
    target.marker.write_text(json.dumps(marker, indent=1, ensure_ascii=False))
    return app, dict(marker, reused=False)


def describe(marker: dict) -> str:
    """Return one sentence naming the generated city and whether this run built or reused it."""
    fields, rows = marker["spec"]["fields"], marker["fingerprint"]["rows"]
    how = (
        f"reused (generated {marker['built_at'][:16].replace('T', ' ')} UTC in {marker['seconds']} s)"
        if marker["reused"]
        else f"generated in {marker['seconds']} s by this run"
    )
    return (
        f"`city_generator.generate` scale `{marker['spec']['scale']}`, seed {fields['seed']}, anchor "
        f"{marker['spec']['anchor']}, generator source {marker['spec']['generator_sha256']}: "
        f"{rows['enterprise']:,} enterprises, {rows['worker']:,} workers, {rows['exam_requirement']:,} "
        f"requirements, {rows['sitting']:,} sittings; {how}"
    )


@dataclass
class Places:
    """The places measured, picked from the generated data: the largest of each level and a median enterprise."""

    county: int
    township: int
    enterprise: int
    median_enterprise: int
    plan: int
    names: dict

    def name(self, kind: str) -> str:
        return self.names[kind]


def pick_places(session) -> Places:
    """Pick the county, township and enterprise with the most requirements, a median enterprise and the largest plan."""
    from sqlalchemy import func, select

    from exam_server.models import County, Enterprise, ExamPlan, Township
    from exam_server.models import ExamRequirement as Req

    def largest(column):
        return session.execute(
            select(column, func.count()).group_by(column).order_by(func.count().desc(), column).limit(1)
        ).first()

    sizes = session.execute(
        select(Req.enterprise_id, func.count()).group_by(Req.enterprise_id).order_by(func.count(), Req.enterprise_id)
    ).all()
    median = sizes[len(sizes) // 2]
    (county, nc), (township, nt), (enterprise, ne), (plan, np_) = (
        largest(c) for c in (Req.county_id, Req.township_id, Req.enterprise_id, Req.plan_id)
    )

    def label(model, key: int, count: int) -> str:
        return f"{session.get(model, key).name} (#{key}, {count:,} requirements)"

    names = {
        "county": label(County, county, nc),
        "township": label(Township, township, nt),
        "enterprise": label(Enterprise, enterprise, ne),
        "median_enterprise": label(Enterprise, *median),
        "plan": label(ExamPlan, plan, np_),
    }
    return Places(county, township, enterprise, median[0], plan, names)


ROLES = ("city", "county", "enterprise", "median_enterprise")


def create_users(session, places: Places) -> None:
    """Create a console user per role, scoped to the measured county and enterprises (bench_<role>)."""
    from exam_server.models import County, Enterprise, Role
    from exam_server.services.admin import accounts

    accounts.create_user(session, "bench_city", PASSWORD, Role.CITY)
    accounts.create_user(session, "bench_county", PASSWORD, Role.COUNTY, county=session.get(County, places.county))
    for role, enterprise in (("enterprise", places.enterprise), ("median_enterprise", places.median_enterprise)):
        accounts.create_user(
            session, f"bench_{role}", PASSWORD, Role.ENTERPRISE, enterprise=session.get(Enterprise, enterprise)
        )


def logged_in(app, role: str):
    """Return a test client logged in as bench_<role> (call outside any app context: each request gets its own)."""
    client = app.test_client()
    response = client.post("/auth/login", data={"username": f"bench_{role}", "password": PASSWORD})
    assert response.status_code == 302, f"login as bench_{role} failed ({response.status_code})"
    return client


class Undo:
    """Remember each table's last id and chosen rows' values; put the database back as it was."""

    def __init__(self, session) -> None:
        from sqlalchemy import func, select

        from exam_server.models import Base

        self.last = {
            t.name: session.scalar(select(func.coalesce(func.max(t.c.id), 0)))
            for t in Base.metadata.sorted_tables
            if "id" in t.c
        }
        self.kept: list[tuple] = []

    def keep(self, row, *columns: str) -> None:
        """Remember these columns of a row that the benchmark is about to change."""
        self.kept.append((type(row), row.id, {c: getattr(row, c) for c in columns}))

    def apply(self, session) -> None:
        """Delete every row added since, children first, and write the kept values back; commit."""
        from sqlalchemy import update

        from exam_server.models import Base

        session.rollback()
        for table in reversed(Base.metadata.sorted_tables):
            if table.name in self.last:
                session.execute(table.delete().where(table.c.id > self.last[table.name]))
        for model, row_id, values in self.kept:
            session.execute(update(model).where(model.id == row_id).values(**values))
        session.commit()


def load_average() -> str:
    return ", ".join(f"{x:.1f}" for x in os.getloadavg())


@contextlib.contextmanager
def prepared(target: Target, scale: str, seed: int | None = None, anchor: date | None = None, rebuild: bool = False):
    """Yield (app, marker, places, undo) with the bench users created; remove all the run added at the end."""
    from exam_server.extensions import db

    app, marker = open_city(target, scale, seed, anchor, rebuild)
    with app.app_context():
        undo = Undo(db.session)
        places = pick_places(db.session)
        create_users(db.session, places)
        db.session.commit()
        db.session.remove()
    try:
        yield app, marker, places, undo
    finally:
        with app.app_context():
            undo.apply(db.session)
            left = fingerprint(db.session)
            db.session.remove()
            db.engine.dispose()
        if left != marker["fingerprint"]:
            target.marker.unlink()  # the next run rebuilds rather than measure a changed city
            raise SystemExit(
                f"{target.label}: the database differs from the generated city after the run; "
                "its marker is removed so the next run rebuilds it"
            )
