"""Performance budgets from the issue (the full benchmark is scripts/bench_question_bank.py)."""

from __future__ import annotations

import statistics
import time

import pytest

from question_bank import IndexedBank, assemble, export_questions, import_file

from .helpers import ruleset, synthetic_bank


@pytest.fixture(scope="module")
def big_bank():
    return synthetic_bank(5000)


def test_assembling_100_from_5000_has_median_under_20ms(big_bank):
    rules = [
        {"category": f"分类{c}", "type": t, "difficulty": band, "count": n}
        for c in range(10)
        for t, band, n in (
            ("single", "1-2", 2),
            ("single", "3", 2),
            ("single", "4-5", 1),
            ("multiple", "1-3", 2),
            ("multiple", "4-5", 1),
            ("truefalse", "any", 2),
        )
    ]
    rs = ruleset(rules)
    assert rs.question_count == 100
    bank = IndexedBank(big_bank)
    times = []
    for seed in range(60):
        t0 = time.perf_counter()
        paper = assemble(bank, rs, seed)
        times.append(time.perf_counter() - t0)
        assert len(paper.items) == 100
    assert statistics.median(times) < 0.020
    t0 = time.perf_counter()
    assemble(big_bank, rs, "cold")  # index built inside the call
    assert time.perf_counter() - t0 < 0.5


@pytest.mark.slow
def test_importing_5000_row_xlsx_under_10s(big_bank):
    data = export_questions(big_bank, "xlsx")
    t0 = time.perf_counter()
    result = import_file(data, "xlsx")
    elapsed = time.perf_counter() - t0
    assert result.ok_to_write and len(result.questions) == 5000
    assert elapsed < 10.0
