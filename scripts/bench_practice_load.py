#!/usr/bin/env python3
"""Load-test the workers' practice pages: 2,000 workers practising at once, beside the kiosks' exam traffic.

The evening peak of a city of 310,000 (issue 19): builds a throw-away PostgreSQL database with the generated
city, gives N workers a PIN and a history of practice answers, starts gunicorn with gunicorn.conf.py as
production runs it and drives it from asyncio: every worker signs in with citizen ID and PIN (spread over
--ramp seconds), picks a category and answers question after question (read and think --think seconds,
read the feedback --read seconds). When the ramp ends the measured window opens and the kiosk load test's
exam traffic starts beside it (scripts/load_kiosk.py: check-in bursts, answers, clock polls, captures; the
face work on its own pool, as docs/scaling.md deploys it). Reports p50/p95/p99 of the next question and
the answer in the window against the 100 ms target, the sign-ins apart, server CPU per practice request,
and checks that every acknowledged practice answer is one row.

Usage: python scripts/bench_practice_load.py [--workers 2000] [--kiosks 200] [--ramp 180] [--duration 300]
                                             [--scale city|town|tiny] [--db postgres|sqlite] [--no-write-doc]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

from bench_common import (
    REPO,
    insert_practice_answers,
    machine,
    percentile,
    stamp,
    throwaway_database,
    write_section,
)

FACES = Path(os.environ.get("EXAM_FACES_DIR", REPO.parent / "shared" / "faces"))
PIN = "381946"
TARGET_SECONDS = 0.100
MEASURED = ("next question", "answer")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=2000)
    parser.add_argument("--kiosks", type=int, default=200, help="the kiosk load test beside it (0: none)")
    parser.add_argument("--ramp", type=float, default=180.0, help="workers sign in evenly over this many seconds")
    parser.add_argument("--duration", type=float, default=300.0, help="the measured window after the ramp")
    parser.add_argument("--think", type=float, nargs=2, default=(10.0, 30.0), help="seconds to read and answer")
    parser.add_argument("--read", type=float, nargs=2, default=(3.0, 10.0), help="seconds to read the feedback")
    parser.add_argument("--history", type=int, default=60, help="practice answers each worker gave before")
    parser.add_argument("--db", choices=("postgres", "sqlite"), default="postgres")
    parser.add_argument("--scale", choices=("city", "town", "tiny"), default="city")
    parser.add_argument("--port", type=int, default=8775)
    parser.add_argument("--faces", type=Path, default=FACES)
    parser.add_argument("--no-write-doc", action="store_true")
    return parser.parse_args(argv)


def practising_workers(session, count: int, exclude: set[str]) -> list[tuple[int, str]]:
    """Return (id, citizen ID) of active workers with practice questions to draw, none of the kiosk sitters."""
    from sqlalchemy import select

    from exam_server.models import Worker
    from exam_server.services.practice import drills

    chosen: list[tuple[int, str]] = []
    for worker in session.scalars(select(Worker).where(Worker.active).order_by(Worker.id.desc())):
        if worker.citizen_id not in exclude and drills.categories(session, worker):
            chosen.append((worker.id, worker.citizen_id))
            if len(chosen) == count:
                return chosen
    raise SystemExit(f"only {len(chosen)} workers have practice questions; use a larger --scale")


def give_pins_and_history(session, workers: list[tuple[int, str]], answers_each: int) -> None:
    """Give each worker the same PIN (one real hash, copied: hashing 2,000 PINs is not the benchmark) and a history."""
    from sqlalchemy import insert, select
    from werkzeug.security import generate_password_hash

    from exam_server.models import Question, WorkerCredential, utcnow

    pin_hash, now = generate_password_hash(PIN), utcnow()
    session.execute(
        insert(WorkerCredential),
        [{"worker_id": wid, "pin_hash": pin_hash, "session_version": 1, "set_at": now} for wid, _ in workers],
    )
    questions = session.execute(select(Question.id, Question.category).where(Question.exam_only.is_(False))).all()
    insert_practice_answers(
        session,
        [wid for wid, _ in workers],
        answers_each,
        questions,
        random.Random(1),
        lambda _: now - timedelta(days=1),
        -timedelta(minutes=1),
        key="history",
    )
    session.commit()


def build(url: str, data_dir: Path, args: argparse.Namespace):
    """Generate the city, prepare the kiosks and their sitters, give the practising workers PINs; return both."""
    from bench_common import make_app
    from load_setup import LoadSetup, prepare
    from sqlalchemy import text

    from exam_server.demo.city_generator import fix_sequences, generate, scale_named
    from exam_server.extensions import db

    app = make_app(url, data_dir)
    with app.app_context():
        started = time.perf_counter()
        summary = generate(db.session, scale_named(args.scale), data_dir=str(data_dir), progress=False)
        print(f"generated {summary.describe()} in {time.perf_counter() - started:.0f} s", flush=True)
        fix_sequences(db.session)
        setup = prepare(db.session, args.faces, args.kiosks, args.kiosks) if args.kiosks else LoadSetup([], [], 0, 0)
        workers = practising_workers(db.session, args.workers, set(setup.citizen_ids))
        give_pins_and_history(db.session, workers, args.history)
        if db.engine.dialect.name == "postgresql":
            db.session.execute(text("ANALYZE"))
            db.session.commit()
        print(f"prepared {len(workers)} practising workers, {len(setup.kiosk_tokens)} kiosks", flush=True)
        db.session.remove()
        db.engine.dispose()
    return setup, workers


async def both(args, routes, setup, workers, frames):
    """Run the practising workers; start the kiosks when the ramp ends; return both stats."""
    from load_kiosk import drive as drive_kiosks
    from load_practice import drive as drive_workers

    async def kiosks_after_ramp():
        await asyncio.sleep(args.ramp)
        return await drive_kiosks(
            routes,
            setup.kiosk_tokens,
            setup.citizen_ids,
            frames,
            duration=args.duration,
            ramp=60.0,
            pace=(2.0, 6.0),
            sittings=1,
        )

    practice = drive_workers(
        routes["default"],
        workers,
        PIN,
        ramp=args.ramp,
        duration=args.duration,
        think=tuple(args.think),
        read=tuple(args.read),
    )
    if not args.kiosks:
        return await practice, None
    return tuple(await asyncio.gather(practice, kiosks_after_ramp()))


def stored_answers(url: str, stats) -> dict[str, int]:
    """Count the acknowledged practice answers that are rows, and rows the benchmark added without one."""
    from sqlalchemy import create_engine, func, select

    from exam_server.models import PracticeAnswer

    engine = create_engine(url)
    with engine.connect() as conn:
        keys = set(
            conn.scalars(
                select(PracticeAnswer.idempotency_key).where(PracticeAnswer.idempotency_key.notlike("history-%"))
            )
        )
        total = conn.scalar(select(func.count()).where(PracticeAnswer.idempotency_key.notlike("history-%")))
    engine.dispose()
    return {"acked": len(stats.acked), "rows": total, "lost": sum(1 for k in stats.acked if k not in keys)}


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:,.0f} ms" if seconds == seconds else "–"


def report(args, practice, kiosk, stored, cpu, when: str, machine_line: str) -> str:
    from load_report import endpoint_table

    window = [args.ramp, args.ramp + args.duration]
    lines = [
        f"## Practice at the evening peak: {args.workers:,} workers practising, "
        + (f"{args.kiosks} kiosks examining beside them" if args.kiosks else "no exam traffic beside them"),
        "",
        f"Measured {when} by `python scripts/bench_practice_load.py {' '.join(sys.argv[1:])}` on: {machine_line}.",
        f"Server: gunicorn with `gunicorn.conf.py` on {args.db} holding the generated city ({args.scale} scale)"
        + (
            ", the kiosks' check-in bursts and captures on a second pool with `EXAM_NICE=10` (docs/scaling.md)"
            if args.kiosks
            else ""
        )
        + f". Each worker has {args.history} earlier practice answers, signs in with citizen ID and PIN (spread over "
        f"{args.ramp:.0f} s), picks a category and practises: {args.think[0]:.0f}-{args.think[1]:.0f} s to read and "
        f"answer, {args.read[0]:.0f}-{args.read[1]:.0f} s on the feedback. The measured window is the "
        f"{args.duration:.0f} s after the sign-ins"
        + (", the kiosks start with it (their check-in storm over its first 60 s)." if args.kiosks else "."),
        "",
        "| request | in the window | per second | p50 | p95 | p99 | over 100 ms | errors |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    met = True
    for name in ("sign in", "next question", "answer"):
        samples = practice.samples.get(name, [])
        inside = samples if name == "sign in" else [s for s in samples if window[0] <= s[0] <= window[1]]
        seconds = [s[1] for s in inside]
        p95 = percentile(seconds, 95)
        if name in MEASURED:
            met = met and p95 < TARGET_SECONDS
        errors = sum(n for (endpoint, _), n in practice.errors.items() if endpoint == name)
        over = sum(1 for s in seconds if s > TARGET_SECONDS)
        label = f"{name} (all, during the ramp)" if name == "sign in" else name
        span = args.ramp if name == "sign in" else args.duration
        lines.append(
            f"| {label} | {len(inside):,} | {len(inside) / span:.1f} | {_ms(percentile(seconds, 50))} | {_ms(p95)} | "
            f"{_ms(percentile(seconds, 99))} | {over / max(len(seconds), 1):.1%} | {errors} |"
        )
    requests = sum(1 for s in sum(practice.samples.values(), []) if window[0] <= s[0] <= window[1])
    lines += [
        "",
        "| target | measured | met |",
        "| --- | --- | --- |",
        f"| p95 of next question and answer < 100 ms | see the table | {'yes' if met else 'no'} |",
        f"| every acknowledged practice answer stored once | {stored['acked']:,} acknowledged, {stored['rows']:,} rows, "
        f"{stored['lost']} missing | {'yes' if stored['lost'] == 0 and stored['rows'] == stored['acked'] else 'no'} |",
        "",
        f"Workers signed in: {practice.signed_in:,} of {args.workers:,}; verdicts {dict(practice.verdicts)}; "
        f"client errors {dict(practice.errors) or 0}.",
        f"CPU in the window: practice/API pool {cpu['server']:.0f} s"
        + (f", face pool {cpu['face_pool']:.0f} s" if args.kiosks else "")
        + f", PostgreSQL {cpu['postgres']:.0f} s, load generator {cpu['client']:.0f} s, machine busy "
        f"{cpu['busy']:.0%} of {os.cpu_count()} cores; {requests:,} worker requests in the window "
        f"(the API pool also served the kiosks' answers and polls). A sign-in checks one scrypt hash "
        f"(about 0.1 s of CPU): that is why sign-ins are spread over the ramp and timed apart.",
    ]
    if kiosk is not None:
        elapsed = args.duration
        lines += [
            "",
            "The kiosks beside them (scripts/load_kiosk.py, same window):",
            "",
            *endpoint_table(kiosk, elapsed),
        ]
    return "\n".join(lines)


def window_cpu(before: dict, after: dict) -> dict[str, float]:
    return {
        "server": after["server"]
        - before["server"]
        - (after["face_pool"] - before["face_pool"] if after["face_pool"] == after["face_pool"] else 0),
        "face_pool": after["face_pool"] - before["face_pool"],
        "postgres": sum(t - before["postgres"].get(pid, 0) for pid, t in after["postgres"].items()),
        "client": after["client"] - before["client"],
        "busy": (after["busy"] - before["busy"]) / ((after["wall"] - before["wall"]) * (os.cpu_count() or 1)),
    }


async def sample_cpu_at(seconds: float, pids: list[int]) -> dict:
    from load_report import cpu_snapshot

    await asyncio.sleep(seconds)
    return cpu_snapshot(pids)


def run(args: argparse.Namespace) -> int:
    from bench_load import start_servers, stop, wait_ready
    from load_report import load_frames

    frames = load_frames(args.faces) if args.kiosks else {}
    logs = REPO / "var" / "bench_practice_load"
    logs.mkdir(parents=True, exist_ok=True)
    with (
        tempfile.TemporaryDirectory(prefix="bench_practice_") as tmp,
        throwaway_database(args.db, "bench_practice_load") as url,
    ):
        data_dir = Path(tmp) / "data"
        setup, workers = build(url, data_dir, args)
        # Plain HTTP on loopback (production puts TLS in front): a Secure cookie would never come back.
        servers, routes = start_servers(url, data_dir, args.port, logs, bool(args.kiosks), EXAM_SECURE_COOKIES="0")
        try:
            for port in range(args.port, args.port + len(servers)):
                wait_ready(port, "/worker/login")
            pids = [s.pid for s in servers]

            async def measured():
                start = asyncio.create_task(sample_cpu_at(args.ramp, pids))
                end = asyncio.create_task(sample_cpu_at(args.ramp + args.duration, pids))
                practice, kiosk = await both(args, routes, setup, workers, frames)
                return practice, kiosk, await start, await end

            practice, kiosk, before, after = asyncio.run(measured())
        finally:
            for server in servers:
                stop(server)
        stored = stored_answers(url, practice)
        text = report(
            args,
            practice,
            kiosk,
            stored,
            window_cpu(before, after),
            stamp(),
            machine(url if args.db == "postgres" else None),
        )
    print("\n" + text, flush=True)
    if not args.no_write_doc:
        # With the kiosks and without them are two sections, so one run never hides the other.
        write_section("bench_practice_load" if args.kiosks else "bench_practice_load_alone", text)
    return 0 if stored["lost"] == 0 else 1


if __name__ == "__main__":
    sys.exit(run(parse_args(None)))
