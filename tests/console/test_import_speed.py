"""Import speed: a city-wide file with a credit-code column, checked and written as the console does."""

from __future__ import annotations

import os
import random
import time

import pytest
from sqlalchemy import func, select

from exam_server.demo import synthetic
from exam_server.models import Enterprise, Worker
from exam_server.services.admin import worker_import
from tests import factories
from tests.console.helpers import csv_bytes

CITY_WORKERS = 310_000
BUDGET_SECONDS = 90  # for the whole city on SQLite
ROWS = int(os.environ.get("EXAM_IMPORT_BENCH_ROWS", "50000"))
JOBS = ("主要负责人", "安全生产管理人员", "特种作业人员", "一般从业人员", "一般从业人员")


def city_file(enterprises: list[Enterprise], n: int) -> bytes:
    rng = random.Random(2026)
    seen: set[str] = set()
    rows = []
    while len(rows) < n:
        enterprise = enterprises[len(rows) % len(enterprises)]
        cid = synthetic.citizen_id(rng, "371302", today=factories.ID_REFERENCE_DAY)
        if cid in seen:
            continue
        seen.add(cid)
        rows.append(
            [
                synthetic.person_name(rng),
                cid,
                JOBS[len(rows) % 5],
                f"13{rng.randint(100000000, 999999999)}",
                enterprise.credit_code,
            ]
        )
    return csv_bytes(rows, header=["姓名", "身份证号", "岗位类别", "手机号", "统一社会信用代码"])


@pytest.mark.slow
def test_city_wide_import_fits_the_budget(db, world):
    county = world.county_a
    enterprises = [factories.enterprise(db.session, county) for _ in range(200)]
    db.session.commit()
    data = city_file(enterprises, ROWS)
    started = time.perf_counter()
    result = worker_import.check(db.session, data, "city.csv", world.city, None)
    checked = time.perf_counter()
    outcome = worker_import.write(db.session, result, world.city, accept_valid_rows=False, filename="city.csv")
    db.session.commit()
    finished = time.perf_counter()
    assert not result.problems and outcome.imported == ROWS
    assert db.session.scalar(select(func.count(Worker.id))) == ROWS + 5
    total = finished - started
    projected = total * CITY_WORKERS / ROWS
    print(
        f"\n{ROWS} rows on {db.engine.dialect.name}: check {checked - started:.1f}s, write {finished - checked:.1f}s, "
        f"total {total:.1f}s; projected for {CITY_WORKERS}: {projected:.0f}s"
    )
    assert projected < BUDGET_SECONDS
