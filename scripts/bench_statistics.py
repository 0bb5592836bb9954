#!/usr/bin/env python3
"""Benchmark the statistics dashboard on the generated city, on SQLite and PostgreSQL, and check it is never stale.

Runs on the city of ``exam_server.demo.city_generator.generate`` (scripts/bench_city.py builds it
once per database and reuses it while the generator and its output are unchanged). Reports the median
time of each dashboard query and of whole pages for the city and the largest county, township and
enterprise; then records one new passed result through the sitting service and checks, in new HTTP
requests, that the enterprise's, its county's and the city's figures counted it at once. Everything the
run added is removed at the end. Writes docs/benchmarks_stats.md and rebuilds docs/benchmarks.md.

Usage: python scripts/bench_statistics.py [--db sqlite|postgres|both] [--rounds 15] [--rebuild]
                                          [--scale city|tiny] [--seed N] [--anchor YYYY-MM-DD]
Exits 1 when the figures were stale after a new result.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import io
import secrets
import statistics
import sys
import time
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import bench_city as city
import benchdoc
from bench_common import REPO, stamp, write_section

DOC = REPO / "docs" / "benchmarks_stats.md"


def median_ms(fn, rounds: int) -> float:
    """Return the median milliseconds of fn over rounds runs, after one warm-up run as a running server has had."""
    fn()
    samples = []
    for _ in range(rounds):
        started = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - started)
    return statistics.median(samples) * 1000


def query_cases(session, places: city.Places, anchor: datetime) -> list[tuple[str, object]]:
    """Return (name, call) for each query the dashboard runs, as the pages call them."""
    from sqlalchemy import func, select

    from exam_server import localday
    from exam_server.models import ACTIVE_SITTING_STATUSES, RequirementStatus, Sitting, User
    from exam_server.services.reporting import statistics as stats

    users = {r: session.scalar(select(User).where(User.username == f"bench_{r}")) for r in city.ROLES}
    at = {
        "city": stats.resolve_place(session, users["city"]),
        "county": stats.resolve_place(session, users["county"]),
        "township": stats.resolve_place(session, users["city"], township=places.township),
        "enterprise": stats.resolve_place(session, users["enterprise"]),
    }
    reader = {"city": "city", "county": "county", "township": "city", "enterprise": "enterprise"}
    required = {
        k: stats.total(stats.breakdown(session, users[reader[k]], p, stats.Filters(), "plan")).required
        for k, p in at.items()
    }
    live = session.scalar(select(func.count()).select_from(Sitting).where(Sitting.status.in_(ACTIVE_SITTING_STATUSES)))
    none, plan = stats.Filters(), stats.Filters(plan_id=places.plan)
    # Three months in the middle of the generated year: the month filter's own code path.
    months = stats.Filters(
        month_from=localday.local_month(anchor - timedelta(days=200)),
        month_to=localday.local_month(anchor - timedelta(days=140)),
    )
    pending = RequirementStatus.PENDING

    def rates(role, where, dimension, filters=none):
        return lambda: stats.breakdown(session, users[role], at[where], filters, dimension)

    def by_month(role, where, filters=none):
        return lambda: stats.monthly_first_sat(
            session, users[role], at[where], filters, required[where] if filters == none else None
        )

    return [
        ("city: rates by plan (also the totals)", rates("city", "city", "plan")),
        ("city: rates by county", rates("city", "city", "county")),
        ("city: rates by industry", rates("city", "city", "industry")),
        ("city: month of first sitting", by_month("city", "city")),
        (
            "city: first page of workers not yet sat (with its count)",
            lambda: stats.worker_page(session, users["city"], at["city"], none, status=pending),
        ),
        ("city: rates by county, one plan", rates("city", "city", "county", plan)),
        ("city: month of first sitting, one plan", by_month("city", "city", plan)),
        (f"city: month of first sitting, {months.month_from} to {months.month_to}", by_month("city", "city", months)),
        ("county: rates by plan", rates("county", "county", "plan")),
        ("county: rates by township", rates("county", "county", "township")),
        ("county: rates by industry", rates("county", "county", "industry")),
        ("county: month of first sitting", by_month("county", "county")),
        ("township: rates by enterprise", rates("city", "township", "enterprise")),
        ("township: month of first sitting", by_month("city", "township")),
        ("enterprise: rates by plan", rates("enterprise", "enterprise", "plan")),
        (
            "enterprise: worker list page",
            lambda: stats.worker_page(
                session, users["enterprise"], at["enterprise"], none, count=required["enterprise"]
            ),
        ),
        (
            f"live monitor: sittings in progress (city, {live:,} of them)",
            lambda: stats.live_sittings(session, users["city"], datetime.now(UTC)),
        ),
    ]


def bench_queries(app, places: city.Places, anchor: datetime, rounds: int) -> list[tuple[str, float]]:
    """Time each statistics query in one session, then whole pages through HTTP."""
    from exam_server.extensions import db

    results = []
    with app.app_context():
        for name, fn in query_cases(db.session, places, anchor):
            results.append((name, median_ms(fn, rounds)))
            db.session.rollback()
        db.session.remove()
    pages = [
        ("city", "/console/statistics"),
        ("county", "/console/statistics"),
        ("enterprise", "/console/statistics"),
        ("city", "/console/statistics/pending"),
        ("city", "/console/monitor/live.json"),
    ]
    for role, path in pages:
        client = city.logged_in(app, role)

        def page(client=client, path=path):
            response = client.get(path)
            assert response.status_code == 200, (path, response.status_code)

        results.append((f"whole page {path} as {role} (HTTP, rendered)", median_ms(page, max(5, rounds // 2))))
    return results


@dataclass
class Freshness:
    """Figures before and right after one new passed result, per place and reader."""

    county: str
    reads: list[dict] = field(default_factory=list)
    sitting: str = ""

    @property
    def ok(self) -> bool:
        return bool(self.reads) and all(
            r["after"] == (r["before"][0], r["before"][1] + 1, r["before"][2] + 1) for r in self.reads
        )


def figures(client, url: str) -> tuple[int, int, int]:
    """Return (required, sat, passed) from the total row of a figures CSV export."""
    response = client.get(url)
    assert response.status_code == 200, (url, response.status_code)
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))
    header, total = rows[0], rows[-1]
    assert total[0] == "合计", total
    return tuple(int(total[header.index(title)]) for title in ("应考人数", "参考人数", "合格人数"))


def record_result(session, places: city.Places, undo: city.Undo) -> str:
    """Check a worker of the measured enterprise in, sit and pass their paper through the sitting service; commit."""
    from sqlalchemy import select

    from exam_server.demo import city_faces
    from exam_server.models import (
        ACTIVE_SITTING_STATUSES,
        CheckIn,
        CheckInStatus,
        CheckKind,
        Decision,
        FaceCheck,
        Kiosk,
        RequirementStatus,
        Sitting,
        utcnow,
    )
    from exam_server.models import (
        ExamRequirement as Req,
    )
    from exam_server.services.exam import sittings

    busy = select(Sitting.worker_id).where(Sitting.status.in_(ACTIVE_SITTING_STATUSES))
    requirement = session.scalar(
        select(Req)
        .where(
            Req.enterprise_id == places.enterprise, Req.status == RequirementStatus.PENDING, Req.worker_id.not_in(busy)
        )
        .order_by(Req.id)
        .limit(1)
    )
    assert requirement is not None, "the measured enterprise has no pending requirement"
    undo.keep(requirement, "status", "attempts", "first_sat_at", "passed_at")
    kiosk = session.scalar(select(Kiosk).where(Kiosk.county_id == requirement.county_id).order_by(Kiosk.id).limit(1))
    now = utcnow()
    # As checkin.begin and answer_challenge leave a passed check-in: the token hashed, a matching face check.
    checkin = CheckIn(
        worker_id=requirement.worker_id,
        plan_id=requirement.plan_id,
        kiosk_id=kiosk.id,
        challenge="turn_left",
        status=CheckInStatus.PASSED,
        created_at=now - timedelta(seconds=20),
        token_hash=hashlib.sha256(secrets.token_urlsafe(32).encode()).hexdigest(),
        expires_at=now + timedelta(seconds=280),
    )
    session.add(checkin)
    session.flush()
    sitting = sittings.start(session, checkin, requirement, kiosk.id, now)
    model, settings = city_faces.model_identity()
    session.add(
        FaceCheck(
            kind=CheckKind.CHECKIN,
            worker_id=checkin.worker_id,
            sitting_id=sitting.id,
            checkin_id=checkin.id,
            kiosk_id=kiosk.id,
            model_name=model.name,
            model_version=model.version,
            distance=0.25,
            threshold=settings.live_threshold,
            decision=Decision.MATCH,
            detail={"bench": True},
            created_at=now,
        )
    )
    checkin.sitting_id = sitting.id
    session.commit()
    for item in sitting.paper["items"]:  # one request, one commit per answer, as the kiosk API does
        sittings.save_answer(session, sitting, item["number"], item["answer"], secrets.token_hex(16), utcnow())
        session.commit()
    sittings.submit(session, sitting, utcnow())
    session.commit()
    assert sitting.passed, f"sitting {sitting.id} did not pass with the paper's own answers"
    return (
        f"sitting {sitting.id} of worker {sitting.worker_id} ({len(sitting.paper['items'])} answers, "
        f"score {sitting.score:g}/{sitting.max_score:g})"
    )


def check_freshness(app, places: city.Places, undo: city.Undo) -> Freshness:
    """Record a new result, then read the figures in new HTTP requests at once; compare with before."""
    from exam_server.extensions import db
    from exam_server.models import Enterprise

    with app.app_context():
        county = db.session.get(Enterprise, places.enterprise).county
        result = Freshness(county=f"{county.name} (#{county.id})")
        db.session.remove()
    clients = {"enterprise": city.logged_in(app, "enterprise"), "city": city.logged_in(app, "city")}
    export = "/console/exports/figures.csv"
    for place, reader, url in (
        ("enterprise", "enterprise", export),
        ("enterprise", "city", f"{export}?enterprise={places.enterprise}"),
        ("county", "city", f"{export}?county={county.id}"),
        ("city", "city", export),
    ):
        result.reads.append({"place": place, "reader": reader, "url": url, "before": figures(clients[reader], url)})
    with app.app_context():
        result.sitting = record_result(db.session, places, undo)
        committed = time.perf_counter()
        db.session.remove()
    for read in result.reads:
        read["after"] = figures(clients[read["reader"]], read["url"])
        read["ms"] = (time.perf_counter() - committed) * 1000
    return result


def freshness_lines(label: str, places: city.Places, fresh: Freshness) -> list[str]:
    """Return the Markdown lines of one database's freshness check."""
    names = {
        "enterprise": f"enterprise {places.name('enterprise')}",
        "county": f"its county {fresh.county}",
        "city": "the whole city",
    }
    readers = {"enterprise": "its manager", "city": "the city administrator"}
    lines = [f"- {label}: correct right after a new result: **{'yes' if fresh.ok else 'NO'}** ({fresh.sitting})."]
    for r in fresh.reads:
        (_, sat0, pass0), (_, sat1, pass1) = r["before"], r["after"]
        lines.append(
            f"  - {names[r['place']]}, read by {readers[r['reader']]}: sat {sat0:,} → {sat1:,}, "
            f"passed {pass0:,} → {pass1:,}; read {r['ms']:.0f} ms after the commit"
        )
    return lines


NOTES = """How the queries reach these times: every figure is a GROUP BY on `exam_requirement` alone (its copied
county, township, industry and enterprise columns), read through a covering `(dimension, status)` index; the
totals are the sum of the per-plan rows, so the page spends no query on them. The months of the city and of a
county count one `first_sat_at` range per local month (UNION ALL of `count(*) FILTER (...)`) inside the covering
indexes `(first_sat_at, status, plan_id)` and `(county_id, first_sat_at, status, plan_id)` of migration 0004,
which names the times on this data that led to them; a township or an enterprise groups its few rows by the
local month expression. A month filter that selects every plan (the generated plans each run a whole year)
filters nothing and is left out of the SQL. With a filter the dimension is grouped as `column + 0`, and inside
the month ranges the plan is tested as `plan_id + 0`, which keeps SQLite on the covering index instead of
looking rows up by plan. Nothing is cached: a page reads committed rows, which the freshness check confirms."""


def section(args, runs: dict, machine_line: str) -> str:
    """Return the Markdown section: the data, a table of medians per database, the freshness check, the notes."""
    labels = list(runs)
    first = next(iter(runs.values()))
    lines = [
        "## Statistics dashboard (`scripts/bench_statistics.py`)",
        "",
        f"Run {stamp()} with `python scripts/bench_statistics.py {command_args(args)}` on "
        f"{machine_line}; the machine is shared with other work, so load averages are given.",
        "",
    ]
    for label, run in runs.items():
        lines.append(f"- {label} data: {city.describe(run['marker'])}; load average after the run {run['load']}.")
    places = first["places"]
    lines += [
        "",
        f"Measured places (the largest by requirements): county {places.name('county')}, township "
        f"{places.name('township')}, enterprise {places.name('enterprise')}; the one-plan filter is "
        f"{places.name('plan')}.",
        f"Median of {args.rounds} runs after one warm-up (whole pages: {max(5, args.rounds // 2)}); no caching "
        "(every run queries the database). Target: each dashboard query < 300 ms.",
        "",
        "| Query | " + " | ".join(labels) + " |",
        "| --- | " + " | ".join("---:" for _ in labels) + " |",
    ]
    names = list(dict.fromkeys(name for run in runs.values() for name, _ in run["queries"]))
    for name in names:
        cells = [next((f"{ms:.1f} ms" for n, ms in run["queries"] if n == name), "–") for run in runs.values()]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    slowest = max(ms for run in runs.values() for name, ms in run["queries"] if not name.startswith("whole page"))
    met = "met" if slowest < 300 else "NOT met"
    lines += [
        "",
        f"Slowest dashboard query: {slowest:.1f} ms (target 300 ms: {met}).",
        "",
        "Freshness: after the timings, one pending requirement of the measured enterprise gets a passed "
        "check-in, `sittings.start`, the paper's correct answers through `sittings.save_answer` and "
        "`sittings.submit`, committed as the kiosk API commits; then new HTTP requests download "
        "`/console/exports/figures.csv` (the same `counts_by` the dashboard uses) and compare its total row "
        "with the one read just before. Every row the run added is deleted and the requirement restored "
        "afterwards, and the database is checked against its generation fingerprint.",
        "",
    ]
    for label, run in runs.items():
        lines += freshness_lines(label, run["places"], run["fresh"])
    return "\n".join(lines + ["", NOTES])


def command_args(args) -> str:
    """Return the options that reproduce this run (the defaults left out)."""
    extra = [
        f"--{name} {value}"
        for name, value in (("scale", args.scale), ("seed", args.seed), ("anchor", args.anchor))
        if value not in (None, "city")
    ]
    return " ".join([f"--db {args.db}", f"--rounds {args.rounds}", *extra])


def machine(targets: list[city.Target]) -> str:
    """Describe the machine now (its load included) and the SQLite and PostgreSQL versions measured."""
    import sqlite3

    from bench_common import POSTGRES_SERVER
    from sqlalchemy import create_engine, text

    parts = [f"SQLite {sqlite3.sqlite_version}"]
    if any(target.kind == "postgres" for target in targets):
        engine = create_engine(POSTGRES_SERVER)
        with engine.connect() as conn:
            parts.append("PostgreSQL " + conn.scalar(text("SHOW server_version")).split()[0])
        engine.dispose()
    return benchdoc.machine(*parts)


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", choices=("sqlite", "postgres", "both"), default="both")
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--rebuild", action="store_true", help="regenerate the city even if it can be reused")
    parser.add_argument("--scale", choices=("city", "tiny"), default="city")
    parser.add_argument("--seed", type=int, help="generator seed (default the scale's)")
    parser.add_argument("--anchor", type=date.fromisoformat, help="generator anchor (default: today, or reuse any)")
    parser.add_argument("--out", type=Path, default=DOC)
    return parser.parse_args(argv)


def main(argv=None) -> int:
    from exam_server.demo.city_generator import anchor_of

    args = parse_args(argv)
    runs = {}
    targets = city.targets(args.db, args.scale)
    machine_line = machine(targets)
    for target in targets:
        with city.prepared(target, args.scale, args.seed, args.anchor, args.rebuild) as (app, marker, places, undo):
            print(f"{target.label}: {city.describe(marker)}", flush=True)
            anchor = anchor_of(date.fromisoformat(marker["spec"]["anchor"]))
            queries = bench_queries(app, places, anchor, args.rounds)
            for name, ms in queries:
                print(f"  {target.label:10} {name:62} {ms:8.1f} ms", flush=True)
            fresh = check_freshness(app, places, undo)
        runs[target.label] = {
            "marker": marker,
            "places": places,
            "queries": queries,
            "fresh": fresh,
            "load": city.load_average(),
        }
        print("\n".join(freshness_lines(target.label, places, fresh)), flush=True)
    write_section("bench_statistics", section(args, runs, machine_line), args.out)
    if args.out.parent == benchdoc.DOCS:
        benchdoc.rebuild()
    print(f"wrote {args.out}")
    stale = [label for label, run in runs.items() if not run["fresh"].ok]
    if stale:
        print(f"STALE: the figures did not count the new result at once on {', '.join(stale)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
