#!/usr/bin/env python3
"""Time the console's practice figures (services/practice/overview.figures) for one page of workers.

Builds a throw-away database with N workers of one enterprise, each with M practice answers over the
bundled bank (70% right) and two handed-in mock exams, then times figures() for the last page of 30
workers and prints the median, the worst round and PostgreSQL's EXPLAIN ANALYZE of the statement.

Usage: python scripts/bench_practice_overview.py [--db sqlite|postgres] [--workers 2000] [--answers 60]
"""

from __future__ import annotations

import argparse
import random
import tempfile
import time
from datetime import timedelta
from pathlib import Path

from bench_common import (  # also puts the repository on sys.path
    insert_practice_answers,
    make_app,
    median,
    throwaway_database,
)

PAGE = 30


def _fill(session, workers: int, answers_each: int) -> list[int]:
    """Insert the workers, their answers and mock exams in bulk; return the worker ids."""
    from sqlalchemy import insert, select

    from exam_server.models import MockExam, Question, Worker, utcnow
    from exam_server.services.exam import question_store
    from tests import factories

    world = factories.World.build(session)
    question_store.load_bundled(session)
    session.commit()
    model = world.workers_a[0]
    # Core inserts skip the citizen-ID validator: these synthetic 18-character IDs only need to be unique.
    session.execute(
        insert(Worker),
        [
            {
                "name": f"练习工{n}",
                "citizen_id": f"X{n:017d}",
                "gender": "M",
                "birth_date": model.birth_date,
                "job_category": model.job_category,
                "enterprise_id": world.enterprise_a.id,
                "active": True,
            }
            for n in range(workers)
        ],
    )
    ids = list(session.scalars(select(Worker.id).order_by(Worker.id)))
    questions = session.execute(select(Question.id, Question.category)).all()
    rng, now = random.Random(1), utcnow()
    insert_practice_answers(session, ids, answers_each, questions, rng, lambda _: now, -timedelta(minutes=1))
    mocks = []
    for worker_id in ids:
        for _ in range(2):
            mocks.append(
                {
                    "worker_id": worker_id,
                    "title": "模拟",
                    "paper": {},
                    "responses": {},
                    "started_at": now,
                    "deadline_at": now,
                    "submitted_at": now,
                    "score": rng.randint(50, 100),
                    "max_score": 100,
                }
            )
    session.execute(insert(MockExam), mocks)
    session.commit()
    return ids


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", choices=["sqlite", "postgres"], default="postgres")
    parser.add_argument("--workers", type=int, default=2000)
    parser.add_argument("--answers", type=int, default=60)
    parser.add_argument("--rounds", type=int, default=20)
    args = parser.parse_args()

    from sqlalchemy import event, text

    from exam_server.extensions import db
    from exam_server.services.practice import overview

    with throwaway_database(args.db, "bench_practice_overview") as url:
        app = make_app(url, Path(tempfile.mkdtemp(prefix="bench_practice_")))
        with app.app_context():
            ids = _fill(db.session, args.workers, args.answers)
            if args.db == "postgres":
                db.session.execute(text("ANALYZE"))
            page = ids[-PAGE:]
            times = []
            for _ in range(args.rounds):
                started = time.perf_counter()
                overview.figures(db.session, page)
                times.append((time.perf_counter() - started) * 1000)
            print(f"{args.db}: {len(ids)} workers x {args.answers} answers; figures() for {PAGE} workers")
            print(f"median {median(times):.1f} ms, worst {max(times):.1f} ms over {args.rounds} rounds")
            if args.db == "postgres":
                seen: list = []
                event.listen(db.engine, "before_cursor_execute", lambda *a: seen.append((a[2], a[3])))
                overview.figures(db.session, page)
                for line in db.session.connection().exec_driver_sql("EXPLAIN ANALYZE " + seen[-1][0], seen[-1][1]):
                    print(line[0])
            db.session.remove()
            db.engine.dispose()


if __name__ == "__main__":
    main()
