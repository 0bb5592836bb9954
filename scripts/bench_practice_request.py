#!/usr/bin/env python3
"""Measure the server's CPU per practice request (next question, answer with its feedback) in process.

Builds a throw-away database (SQLite, PostgreSQL or both) with the bundled bank and one worker with a PIN
and 60 earlier practice answers, signs the worker in through the Flask test client (CSRF on, as in
production) and practises question after question. A WSGI wrapper times each request inside the app
(time.process_time: this process's CPU, so PostgreSQL's own work is not in it; SQLite's is) and counts its SQL
statements; the client's parsing is outside. The gunicorn load test (scripts/bench_practice_load.py) multiplies
this CPU by about 145 practice requests a second.

Usage: python scripts/bench_practice_request.py [--db sqlite|postgres|both] [--requests 300] [--profile N]
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import re
import statistics
import tempfile
import time
from collections import defaultdict
from pathlib import Path

from bench_common import machine, median, stamp, throwaway_database, write_section

PIN = "381946"
HISTORY = 60
WARM_UP = 20
KINDS = {"/worker/practice/question": "next question", "/worker/practice/answer": "answer (with its feedback)"}
_CSRF = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')
_HIDDEN = re.compile(r'<input type="hidden" name="(code|seed|mode|key)" value="([^"]*)"')
_CHOICE = re.compile(r'<input type="(radio|checkbox)" name="choice" value="([A-F])"')
_CATEGORY = re.compile(r'href="/worker/practice/question\?category=([^"]+)"')
_VERDICT = re.compile(r'class="verdict (right|wrong)"')


class Timed:
    """WSGI wrapper: the CPU and wall seconds and the SQL statements of each request, by path."""

    def __init__(self, app, engine) -> None:
        from sqlalchemy import event

        self.inner, self.statements = app.wsgi_app, 0
        self.samples: dict[str, list[tuple[float, float, int]]] = defaultdict(list)
        self.recording = False
        event.listen(engine, "before_cursor_execute", self._count)

    def _count(self, *_args) -> None:
        self.statements += 1

    def __call__(self, environ, start_response):
        cpu, wall, statements = time.process_time(), time.perf_counter(), self.statements
        body = b"".join(self.inner(environ, start_response))  # the response is built inside the timing
        if self.recording:
            self.samples[environ["PATH_INFO"]].append(
                (time.process_time() - cpu, time.perf_counter() - wall, self.statements - statements)
            )
        return [body]


def build(url: str, data_dir: Path):
    """Return the app on a new database with the bundled bank and one worker with a PIN and a practice history."""
    import random
    from datetime import timedelta

    from bench_common import insert_practice_answers, make_app
    from sqlalchemy import select
    from werkzeug.security import generate_password_hash

    from exam_server.extensions import db
    from exam_server.models import Question, WorkerCredential, utcnow
    from exam_server.services.exam import question_store
    from tests import factories

    # Plain HTTP as bench_practice_load.py's gunicorn (production puts TLS in front): no Secure cookie.
    app = make_app(url, data_dir, SECURE_COOKIES=False)
    with app.app_context():
        session = db.session
        world = factories.World.build(session)
        question_store.load_bundled(session)
        worker = world.workers_a[0]
        now = utcnow()
        session.add(
            WorkerCredential(worker_id=worker.id, pin_hash=generate_password_hash(PIN), session_version=1, set_at=now)
        )
        questions = session.execute(select(Question.id, Question.category).where(Question.exam_only.is_(False))).all()
        insert_practice_answers(
            session, [worker.id], HISTORY, questions, random.Random(1), lambda _: now, timedelta(0), key="history"
        )
        session.commit()
        citizen_id = worker.citizen_id
        session.remove()
    return app, citizen_id


def practise(app, citizen_id: str, requests: int, timed: Timed, profile: cProfile.Profile | None) -> int:
    """Sign in, then answer ``requests`` questions of one category (after a warm-up); return the answers stored."""
    import random

    from werkzeug.datastructures import MultiDict

    client = app.test_client()
    base = "http://localhost"
    page = client.get(base + "/worker/login").get_data(as_text=True)
    signed_in = client.post(
        base + "/worker/login",
        data={"csrf_token": _CSRF.search(page).group(1), "citizen_id": citizen_id, "pin": PIN},
    )
    assert signed_in.status_code == 302, signed_in.status_code
    categories = _CATEGORY.findall(client.get(base + "/worker/practice").get_data(as_text=True))
    assert categories, "the worker has nothing to practise"
    rng = random.Random(2)
    category = categories[0]
    stored = 0
    for n in range(WARM_UP + requests):
        if n == WARM_UP:
            timed.recording = True
            if profile is not None:
                profile.enable()
        question = client.get(base + "/worker/practice/question?category=" + category)
        body = question.get_data(as_text=True)
        assert question.status_code == 200, question.status_code
        hidden, choices = dict(_HIDDEN.findall(body)), _CHOICE.findall(body)
        letters = [letter for _, letter in choices]
        if choices[0][0] == "checkbox":
            picked = [c for c in letters if rng.random() < 0.5] or letters[:1]
        else:
            picked = [rng.choice(letters)]
        form = MultiDict(
            [("csrf_token", _CSRF.search(body).group(1)), *hidden.items(), *(("choice", c) for c in picked)]
        )
        answered = client.post(base + "/worker/practice/answer", data=form)
        assert answered.status_code == 200 and _VERDICT.search(answered.get_data(as_text=True)), answered.status_code
        stored += n >= WARM_UP
    if profile is not None:
        profile.disable()
    timed.recording = False
    return stored


def measure(kind: str, requests: int, profile_lines: int) -> dict:
    """Run the practice loop on one database kind; return its figures by request."""
    from exam_server.extensions import db

    with (
        tempfile.TemporaryDirectory(prefix="bench_practice_request_") as tmp,
        throwaway_database(kind, "bench_practice_request") as url,
    ):
        app, citizen_id = build(url, Path(tmp) / "data")
        with app.app_context():
            engine = db.engine
        timed = Timed(app, engine)
        app.wsgi_app = timed  # type: ignore[method-assign]
        profile = cProfile.Profile(time.process_time) if profile_lines else None  # CPU, as measured
        stored = practise(app, citizen_id, requests, timed, profile)
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
    if profile is not None:
        for order in ("cumulative", "tottime"):
            pstats.Stats(profile).sort_stats(order).print_stats(profile_lines)
    figures = {}
    for path, name in KINDS.items():
        samples = timed.samples[path]
        cpu = [s[0] * 1000 for s in samples]
        figures[name] = {
            "requests": len(samples),
            "cpu_mean": statistics.fmean(cpu),
            "cpu_median": median(cpu),
            "wall_median": median([s[1] * 1000 for s in samples]),
            "statements": statistics.fmean(s[2] for s in samples),
        }
    figures["stored"] = stored
    return figures


def report(results: dict[str, dict], requests: int, when: str, machine_line: str) -> str:
    lines = [
        "## Practice requests: the server's CPU per request, in process",
        "",
        f"Measured {when} by `python scripts/bench_practice_request.py --requests {requests}` on: {machine_line}.",
        f"One worker with {HISTORY} earlier practice answers, signed in with citizen ID and PIN, answers {requests} "
        f"questions of one category (after {WARM_UP} not counted) through the Flask test client, CSRF on. CPU is "
        "this process's (`time.process_time`) from the request entering the app to its body built: the API pool's "
        "cost per request. PostgreSQL's own work is not in it, SQLite's is; wall time is beside it for reference.",
        "",
        "| database | request | requests | CPU mean | CPU median | wall median | SQL statements |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for kind, figures in results.items():
        for name in KINDS.values():
            f = figures[name]
            lines.append(
                f"| {kind} | {name} | {f['requests']} | {f['cpu_mean']:.2f} ms | {f['cpu_median']:.2f} ms | "
                f"{f['wall_median']:.2f} ms | {f['statements']:.1f} |"
            )
    lines += [
        "",
        "The full load test at the evening peak, gunicorn with 2,000 workers, is `python scripts/bench_practice_load.py` "
        "(docs/scaling.md).",
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", choices=("sqlite", "postgres", "both"), default="both")
    parser.add_argument("--requests", type=int, default=300, help="question+answer pairs measured")
    parser.add_argument("--profile", type=int, default=0, metavar="N", help="print cProfile's N costliest calls")
    parser.add_argument("--no-write-doc", action="store_true")
    args = parser.parse_args()

    kinds = ("sqlite", "postgres") if args.db == "both" else (args.db,)
    when, results = stamp(), {}
    for kind in kinds:
        results[kind] = measure(kind, args.requests, args.profile)
        for name in KINDS.values():
            f = results[kind][name]
            print(
                f"{kind:8} {name:28} CPU mean {f['cpu_mean']:.2f} ms, median {f['cpu_median']:.2f} ms; "
                f"wall median {f['wall_median']:.2f} ms; {f['statements']:.1f} statements",
                flush=True,
            )
    from bench_common import POSTGRES_SERVER

    text = report(results, args.requests, when, machine(POSTGRES_SERVER if "postgres" in kinds else None))
    if args.no_write_doc:
        print(text)
    else:
        write_section("bench_practice_request", text)


if __name__ == "__main__":
    main()
