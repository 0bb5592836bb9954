#!/usr/bin/env python3
"""Time the statistics page's practice figures (services/reporting/practice_effect) for the whole city.

Builds a throw-away database with N workers in E enterprises, each required by one plan with one
submitted sitting (60% passed) and M practice answers over the bundled bank (70% right), half of the
workers practising before their sitting; times pass_by_practice and weak_categories for a city user
and prints the median, the worst round and, on PostgreSQL, EXPLAIN ANALYZE of both statements.

Usage: python scripts/bench_practice_effect.py [--db sqlite|postgres] [--workers 20000] [--answers 60]
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


def _fill(session, workers: int, answers_each: int, enterprises: int) -> None:
    """Insert enterprises, workers, requirements, sittings and practice answers in bulk."""
    from sqlalchemy import insert, select

    from exam_server.models import (
        Enterprise,
        ExamPlan,
        ExamRequirement,
        Question,
        RequirementStatus,
        Sitting,
        SittingStatus,
        Worker,
        utcnow,
    )
    from exam_server.services.exam import question_store
    from tests import factories

    world = factories.World.build(session)
    question_store.load_bundled(session)
    now = utcnow()
    plan = ExamPlan(
        name="基准计划",
        ruleset={"id": "bench"},
        opens_at=now - timedelta(days=60),
        closes_at=now + timedelta(days=30),
        max_attempts=2,
    )
    session.add(plan)
    session.commit()
    base = world.enterprise_a
    session.execute(
        insert(Enterprise),
        [
            {
                "name": f"基准企业{n}",
                "credit_code": f"91371300{n:010d}",
                "county_id": base.county_id,
                "township_id": base.township_id,
                "industry_id": base.industry_id,
            }
            for n in range(enterprises)
        ],
    )
    enterprise_ids = list(session.scalars(select(Enterprise.id).where(Enterprise.name.like("基准企业%"))))
    model = world.workers_a[0]
    session.execute(
        insert(Worker),
        [
            {
                "name": f"基准工{n}",
                "citizen_id": f"X{n:017d}",
                "gender": "M",
                "birth_date": model.birth_date,
                "job_category": model.job_category,
                "enterprise_id": enterprise_ids[n % enterprises],
                "active": True,
            }
            for n in range(workers)
        ],
    )
    staff = session.execute(select(Worker.id, Worker.enterprise_id).where(Worker.name.like("基准工%"))).all()
    rng = random.Random(1)
    passed = {worker_id: rng.random() < 0.6 for worker_id, _ in staff}
    session.execute(
        insert(ExamRequirement),
        [
            {
                "plan_id": plan.id,
                "worker_id": worker_id,
                "enterprise_id": enterprise_id,
                "county_id": base.county_id,
                "township_id": base.township_id,
                "industry_id": base.industry_id,
                "status": RequirementStatus.PASSED if passed[worker_id] else RequirementStatus.FAILED,
                "attempts": 1,
                "first_sat_at": now - timedelta(days=10),
            }
            for worker_id, enterprise_id in staff
        ],
    )
    requirement_of = dict(session.execute(select(ExamRequirement.worker_id, ExamRequirement.id)).all())
    started = now - timedelta(days=10)
    session.execute(
        insert(Sitting),
        [
            {
                "plan_id": plan.id,
                "worker_id": worker_id,
                "requirement_id": requirement_of[worker_id],
                "status": SittingStatus.SUBMITTED,
                "attempt_no": 1,
                "seed": 1,
                "paper": {},
                "started_at": started,
                "deadline_at": started + timedelta(hours=1),
                "submitted_at": started + timedelta(minutes=40),
                "score": 90 if passed[worker_id] else 50,
                "max_score": 100,
                "passed": passed[worker_id],
            }
            for worker_id, _ in staff
        ],
    )
    questions = session.execute(select(Question.id, Question.category)).all()
    before, after = started - timedelta(days=5), started + timedelta(days=1)
    # Half practise before the sitting, half after it.
    insert_practice_answers(
        session,
        [worker_id for worker_id, _ in staff],
        answers_each,
        questions,
        rng,
        lambda i: before if i % 2 else after,
        timedelta(minutes=1),
        batch=50_000,
    )
    session.commit()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", choices=["sqlite", "postgres"], default="postgres")
    parser.add_argument("--workers", type=int, default=20_000)
    parser.add_argument("--answers", type=int, default=60)
    parser.add_argument("--enterprises", type=int, default=500)
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()

    from sqlalchemy import event, text

    from exam_server.extensions import db
    from exam_server.models import Role
    from exam_server.services.reporting import practice_effect, statistics
    from tests import factories

    with throwaway_database(args.db, "bench_practice_effect") as url:
        app = make_app(url, Path(tempfile.mkdtemp(prefix="bench_practice_effect_")))
        with app.app_context():
            filled = time.perf_counter()
            _fill(db.session, args.workers, args.answers, args.enterprises)
            print(f"filled in {time.perf_counter() - filled:.0f} s")
            user = factories.user(db.session, Role.CITY, username="bench_city")
            db.session.commit()
            if args.db == "postgres":
                db.session.execute(text("ANALYZE"))
                db.session.commit()
            place, filters = statistics.Place(None), statistics.Filters()
            print(
                f"{args.db}: {args.workers} workers in {args.enterprises} enterprises, one sitting each, "
                f"{args.answers} practice answers each ({args.workers * args.answers:,} answers); city scope"
            )
            for name, call in (
                ("pass_by_practice", practice_effect.pass_by_practice),
                ("weak_categories", practice_effect.weak_categories),
            ):
                result = call(db.session, user, place, filters)  # warm-up
                times = []
                for _ in range(args.rounds):
                    started = time.perf_counter()
                    call(db.session, user, place, filters)
                    times.append((time.perf_counter() - started) * 1000)
                print(f"{name}: median {median(times):.0f} ms, worst {max(times):.0f} ms over {args.rounds} rounds")
                if name == "pass_by_practice":
                    print(f"  practised {result.practised}, not practised {result.not_practised}")
                if args.db == "postgres":
                    seen: list = []

                    def listener(*a, seen=seen) -> None:
                        seen.append((a[2], a[3]))

                    event.listen(db.engine, "before_cursor_execute", listener)
                    call(db.session, user, place, filters)
                    event.remove(db.engine, "before_cursor_execute", listener)
                    for line in db.session.connection().exec_driver_sql("EXPLAIN ANALYZE " + seen[-1][0], seen[-1][1]):
                        print("  " + line[0])
            db.session.remove()
            db.engine.dispose()


if __name__ == "__main__":
    main()
