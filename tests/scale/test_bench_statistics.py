"""The statistics benchmark on a tiny generated city: reused while unchanged, left as generated, never stale."""

from __future__ import annotations

import copy
import os
from pathlib import Path

import pytest

SCRIPTS = Path(__file__).resolve().parents[2] / "scripts"
ON_POSTGRES = os.environ.get("EXAM_TEST_DATABASE") == "postgres"


@pytest.fixture(scope="module")
def root(tmp_path_factory):
    """A benchmark folder (and PostgreSQL database) shared by the module's tests, removed after them."""
    folder = tmp_path_factory.mktemp("bench")
    name = f"bench_stats_test_{os.getpid()}"
    yield folder, name
    if ON_POSTGRES:
        from sqlalchemy import create_engine, text

        from tests.conftest import postgres_server_url

        admin = create_engine(postgres_server_url(), isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:  # bench_city names a non-city scale's database NAME_<scale>
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}_tiny" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture()
def bench(monkeypatch, root):
    monkeypatch.syspath_prepend(str(SCRIPTS))
    import bench_city
    import bench_statistics

    monkeypatch.setattr(bench_city, "ROOT", root[0])
    monkeypatch.setattr(bench_city, "PG_DATABASE", root[1])
    return bench_statistics


def run(bench, tmp_path) -> tuple[int, str]:
    out = tmp_path / "stats.md"
    code = bench.main(
        ["--scale", "tiny", "--db", "postgres" if ON_POSTGRES else "sqlite", "--rounds", "1", "--out", str(out)]
    )
    return code, out.read_text()


def test_generates_the_city_then_reuses_it_unchanged(bench, tmp_path):
    code, text = run(bench, tmp_path)
    assert code == 0
    assert "`city_generator.generate` scale `tiny`, seed 2026" in text and "generated in" in text
    assert "correct right after a new result: **yes**" in text
    code, text = run(bench, tmp_path)
    assert code == 0
    assert "reused (generated" in text  # the first run's result was undone: the fingerprint still matches


def test_a_cached_figure_fails_the_freshness_check(bench, tmp_path, monkeypatch):
    from exam_server.services.reporting import exports

    cache, real = {}, exports.counts_by

    def cached(session, user, place, filters, dimension):
        key = (user.id, tuple(place.args().items()), filters, dimension)
        if key not in cache:
            cache[key] = real(session, user, place, filters, dimension)
        return copy.deepcopy(cache[key])

    monkeypatch.setattr(exports, "counts_by", cached)
    code, text = run(bench, tmp_path)
    assert code == 1
    assert "correct right after a new result: **NO**" in text
