#!/usr/bin/env python3
"""Benchmark importing 310,000 workers from one CSV through the console's importer (per-row validation).

Each round builds a throw-away database with the city's 9,032 enterprises and its open plans, then
times services.worker_import.check (read the CSV, validate every cell, look up registered IDs) and
write (bulk insert, then the requirements of every open plan), and checks the row counts. The
baseline in the same run is the per-row path, services.workers.register_worker, on a sample.

Usage: python scripts/bench_import.py [--db sqlite|postgres|both] [--rounds 1] [--workers 310000]
                                      [--baseline-rows 3000] [--no-write-doc]
"""

from __future__ import annotations

import argparse
import csv
import io
import random
import sys
import tempfile
import time
from pathlib import Path

from bench_common import (
    POSTGRES_SERVER,
    machine,
    make_app,
    median,
    stamp,
    throwaway_database,  # noqa: E402
    write_section,
)
from sqlalchemy import func, insert, select  # noqa: E402

from exam_server.demo import city_generator as cg  # noqa: E402
from exam_server.models import JOB_CATEGORY_LABELS, Enterprise, ExamPlan, ExamRequirement, Worker  # noqa: E402
from exam_server.services.admin import accounts

TARGET_SECONDS = 90.0
HEADER = ["姓名", "身份证号", "岗位类别", "手机号", "统一社会信用代码"]


def build_city(session, workers: int):
    """Insert the reference data, the enterprises and the open plans; return the city with workers in memory."""
    scale = cg.scale_named("city", workers=workers)
    city = cg.City(scale, cg.anchor_of(None), random.Random(scale.seed))
    from exam_server.services.exam import question_store

    question_store.load_bundled(session)
    cg.load_reference(session, city)
    cg.make_enterprises(session, city)
    cg.make_workers(session, city)
    cg.make_plans(session, city)
    for model, rows in ((Enterprise, city.enterprises), (ExamPlan, city.plans)):
        session.execute(insert(model.__table__), [{k: v for k, v in r.items() if not k.startswith("_")} for r in rows])
    admin = accounts.create_user(session, "bench_city_admin", "Bench-import-2026!", "city")
    session.commit()
    return city, admin


def csv_bytes(city) -> bytes:
    """Return the city's workers as the CSV an administrator would upload (UTF-8 with BOM)."""
    codes = {e["id"]: e["credit_code"] for e in city.enterprises}
    rng = random.Random(7)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(HEADER)
    for w in city.workers:
        phone = f"1{rng.choice('3578')}{rng.randrange(10**9):09d}" if rng.random() < 0.6 else ""
        writer.writerow(
            [w["name"], w["citizen_id"], JOB_CATEGORY_LABELS[w["job_category"]], phone, codes[w["enterprise_id"]]]
        )
    return out.getvalue().encode("utf-8-sig")


def import_round(kind: str, workers: int, data_dir: Path) -> dict:
    """Time one import of the whole file into a fresh database; return the timings and counts."""
    from exam_server.extensions import db
    from exam_server.services.admin import worker_import

    with throwaway_database(kind, "bench_import") as url:
        app = make_app(url, data_dir)
        with app.app_context():
            city, admin = build_city(db.session, workers)
            data = csv_bytes(city)
            started = time.perf_counter()
            checked = worker_import.check(db.session, data, "workers.csv", admin, None)
            validated = time.perf_counter()
            outcome = worker_import.write(db.session, checked, admin, accept_valid_rows=False, filename="workers.csv")
            db.session.commit()
            done = time.perf_counter()
            counts = (
                db.session.scalar(select(func.count(Worker.id))),
                db.session.scalar(select(func.count(ExamRequirement.id))),
            )
            db.session.remove()
            db.engine.dispose()
    assert not checked.problems, checked.problems[:5]
    assert counts[0] == workers == outcome.imported, (counts, outcome)
    return {
        "check": validated - started,
        "write": done - validated,
        "total": done - started,
        "requirements": counts[1],
        "bytes": len(data),
    }


def baseline_rate(kind: str, workers: int, rows: int, data_dir: Path) -> float:
    """Return rows/s of the per-row path (register_worker: an ORM object and three queries per row)."""
    from exam_server.extensions import db
    from exam_server.services.admin.workers import register_worker

    with throwaway_database(kind, "bench_import_baseline") as url:
        app = make_app(url, data_dir)
        with app.app_context():
            city, _ = build_city(db.session, workers)
            sample = city.workers[:rows]
            started = time.perf_counter()
            for w in sample:
                register_worker(
                    db.session,
                    citizen_id=w["citizen_id"],
                    name=w["name"],
                    enterprise_id=w["enterprise_id"],
                    job_category=w["job_category"],
                )
            db.session.commit()
            seconds = time.perf_counter() - started
            db.session.remove()
            db.engine.dispose()
    return len(sample) / seconds


def report(results: dict[str, list[dict]], workers: int, rounds: int) -> str:
    lines = [
        f"## Worker import ({workers:,} rows from one CSV)",
        "",
        f"Measured {stamp()} by `python scripts/bench_import.py` on: "
        f"{machine(POSTGRES_SERVER if 'PostgreSQL' in results else None)}.",
        f"Medians of {rounds} round(s); each round imports into a fresh database holding the 9,032 "
        "enterprises and the 21 open plans, so `write` also creates every new worker's requirements.",
        "",
        "| database | check (read, validate, look up IDs) | write (insert + requirements) | total | rows/s | "
        "requirements | per-row baseline (register_worker, same rows, no requirements) | target | met |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for name, runs in results.items():
        check, write, total = (median([r[k] for r in runs]) for k in ("check", "write", "total"))
        base = median([r["baseline_rows_per_s"] for r in runs])
        lines.append(
            f"| {name} | {check:.1f} s | {write:.1f} s | {total:.1f} s | {workers / total:,.0f} | "
            f"{runs[0]['requirements']:,} | {base:,.0f} rows/s, {workers / base:.0f} s for the file "
            f"({workers / base / total:.1f}x slower) | < 90 s | {'yes' if total < TARGET_SECONDS else 'no'} |"
        )
    lines += [
        "",
        f"The CSV is {results[next(iter(results))][0]['bytes'] / 1e6:.1f} MB (UTF-8 with BOM, five columns: "
        "name, citizen ID, job category label, phone for 60%, enterprise credit code). Every row is "
        "checked (ID format, birth date and check digit, duplicates in the file, job category, phone, "
        "enterprise in the importer's scope) and every ID is looked up among registered workers.",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", choices=("sqlite", "postgres", "both"), default="both")
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--workers", type=int, default=310_000)
    parser.add_argument("--baseline-rows", type=int, default=3000)
    parser.add_argument("--no-write-doc", action="store_true")
    args = parser.parse_args(argv)
    kinds = {"sqlite": ["sqlite"], "postgres": ["postgres"], "both": ["sqlite", "postgres"]}[args.db]
    results: dict[str, list[dict]] = {}
    with tempfile.TemporaryDirectory(prefix="bench_import_") as tmp:
        for kind in kinds:
            name = {"sqlite": "SQLite", "postgres": "PostgreSQL"}[kind]
            for n in range(args.rounds):
                run = import_round(kind, args.workers, Path(tmp))
                run["baseline_rows_per_s"] = baseline_rate(kind, args.workers, args.baseline_rows, Path(tmp))
                results.setdefault(name, []).append(run)
                print(
                    f"{name} round {n + 1}: check {run['check']:.1f} s, write {run['write']:.1f} s, "
                    f"total {run['total']:.1f} s; baseline {run['baseline_rows_per_s']:,.0f} rows/s",
                    flush=True,
                )
    text = report(results, args.workers, args.rounds)
    print("\n" + text)
    if not args.no_write_doc:
        write_section("bench_import", text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
