"""Statistics against figures worked out by hand on the constructed city (tests/console_stats/conftest.py).

Requirements (local time of first sitting):
  E1 兰山区/A1/危险化学品: w1 P1 passed 01-10, w2 P1 failed 01-20, w3 P1 passed 03-02, w4 P1 pending
  E2 兰山区/A2/建筑施工:   w5 P1 passed 01-31 20:00, w6 P2 pending, w7 P2 passed 04-30 23:30, w8 P2 failed 05-01 00:30
  E3 罗庄区/B1/危险化学品: w9 P1 passed 01-15, w10 P1 failed 03-10, w11 P2 pending
  E4 河东区 (非煤矿山): nobody required.
"""

import pytest

from exam_server import localday
from exam_server.models import DomainError
from exam_server.services.reporting import statistics as stats


def figures(rows):
    return {row.label: (row.rates.required, row.rates.sat, row.rates.passed) for row in rows}


def rates(rows):
    return {row.label: (row.rates.participation, row.rates.pass_rate) for row in rows}


def test_city_by_county_with_a_county_nobody_must_sit(db, city):
    user = city.users["city"]
    place = stats.resolve_place(db.session, user)
    rows = stats.breakdown(db.session, user, place, stats.Filters(), "county")
    assert figures(rows) == {"兰山区": (8, 6, 4), "罗庄区": (3, 2, 1), "河东区": (0, 0, 0)}
    assert rates(rows) == {"兰山区": (6 / 8, 4 / 6), "罗庄区": (2 / 3, 1 / 2), "河东区": (None, None)}
    totals = stats.total(rows)
    assert (totals.required, totals.sat, totals.passed, totals.pending) == (11, 8, 5, 3)
    assert totals.participation == 8 / 11 and totals.pass_rate == 5 / 8


def test_by_industry_includes_an_industry_with_nobody(db, city):
    user = city.users["city"]
    rows = stats.breakdown(db.session, user, stats.resolve_place(db.session, user), stats.Filters(), "industry")
    assert figures(rows) == {"危险化学品": (7, 5, 3), "建筑施工": (4, 3, 2), "非煤矿山": (0, 0, 0)}
    assert rates(rows)["非煤矿山"] == (None, None)


def test_drill_down_county_township_enterprise(db, city):
    user = city.users["city"]
    county = stats.resolve_place(db.session, user, county=city.county_a.id)
    assert county.child == "township"
    assert figures(stats.breakdown(db.session, user, county, stats.Filters(), "township")) == {
        city.township_a1.name: (4, 3, 2),
        "枣园镇": (4, 3, 2),
    }
    township = stats.resolve_place(db.session, user, township=city.township_a2.id)
    assert township.child == "enterprise" and township.county.id == city.county_a.id
    assert figures(stats.breakdown(db.session, user, township, stats.Filters(), "enterprise")) == {
        "枣园建设工程有限公司": (4, 3, 2)
    }
    enterprise = stats.resolve_place(db.session, user, enterprise=city.e3.id)
    assert enterprise.child is None and enterprise.level == "enterprise"
    page = stats.worker_page(db.session, user, enterprise, stats.Filters())
    assert page.total == 3
    assert {r.name: (r.status.value, r.attempts, r.best_score) for r in page.items} == {
        "工人9号": ("passed", 1, 100),
        "工人10号": ("failed", 2, 75),
        "工人11号": ("pending", 0, None),
    }


def test_months_of_first_sitting_in_local_time_with_an_empty_month(db, city):
    user = city.users["city"]
    rows = stats.monthly_first_sat(db.session, user, stats.resolve_place(db.session, user), stats.Filters())
    # w5 sat at 20:00 on 31 January local (12:00 UTC); w8 at 00:30 on 1 May local (16:30 UTC on 30 April).
    assert [(m.month, m.rates.sat, m.rates.passed, m.rates.pass_rate) for m in rows] == [
        ("2026-01", 4, 3, 3 / 4),
        ("2026-02", 0, 0, None),
        ("2026-03", 2, 1, 1 / 2),
        ("2026-04", 1, 1, 1.0),
        ("2026-05", 1, 0, 0.0),
    ]
    assert [m.cumulative_participation for m in rows] == [4 / 11, 4 / 11, 6 / 11, 7 / 11, 8 / 11]


def test_months_inside_a_county_use_the_same_figures(db, city):
    user = city.users["county_a"]
    rows = stats.monthly_first_sat(db.session, user, stats.resolve_place(db.session, user), stats.Filters())
    assert [(m.month, m.rates.sat, m.rates.passed) for m in rows] == [
        ("2026-01", 3, 2),
        ("2026-02", 0, 0),
        ("2026-03", 1, 1),
        ("2026-04", 1, 1),
        ("2026-05", 1, 0),
    ]
    assert [m.cumulative_participation for m in rows] == [3 / 8, 3 / 8, 4 / 8, 5 / 8, 6 / 8]


def test_month_range_selects_overlapping_plans_and_shows_every_month(db, city):
    user = city.users["city"]
    place = stats.resolve_place(db.session, user)
    spring = stats.Filters(month_from="2026-04", month_to="2026-07")  # only P2's window overlaps
    assert figures(stats.breakdown(db.session, user, place, spring, "county")) == {
        "兰山区": (3, 2, 1),
        "罗庄区": (1, 0, 0),
        "河东区": (0, 0, 0),
    }
    assert rates(stats.breakdown(db.session, user, place, spring, "county"))["罗庄区"] == (0.0, None)
    months = stats.monthly_first_sat(db.session, user, place, spring)
    assert [(m.month, m.rates.sat) for m in months] == [("2026-04", 1), ("2026-05", 1), ("2026-06", 0), ("2026-07", 0)]
    assert months[-1].cumulative_participation == 2 / 4


def test_plan_filter_and_months_of_plan_window(db, city):
    user = city.users["city"]
    place = stats.resolve_place(db.session, user)
    only_p1 = stats.Filters(plan_id=city.p1.id)
    assert figures(stats.breakdown(db.session, user, place, only_p1, "industry"))["危险化学品"] == (6, 5, 3)
    plans = stats.breakdown(db.session, user, place, stats.Filters(), "plan")
    assert [(p.label, p.code, p.rates.required, p.rates.sat, p.rates.passed) for p in plans] == [
        ("2026年第一季度培训考试", "2026-01", 7, 6, 4),
        ("2026年第二季度培训考试", "2026-04", 4, 2, 1),
    ]
    months = stats.months_of_plans(plans, stats.Filters())
    assert [(m.month, m.rates.participation, m.rates.pass_rate) for m in months] == [
        ("2026-01", 6 / 7, 4 / 6),
        ("2026-02", None, None),
        ("2026-03", None, None),
        ("2026-04", 2 / 4, 1 / 2),
    ]


def test_a_scope_with_nobody_required_gives_no_rate_and_no_error(db, city):
    user = city.users["county_c"]
    place = stats.resolve_place(db.session, user)
    rows = stats.breakdown(db.session, user, place, stats.Filters(), "township")
    assert all(r.rates.participation is None and r.rates.pass_rate is None for r in rows)
    assert stats.total(rows).participation is None
    assert stats.monthly_first_sat(db.session, user, place, stats.Filters()) == []


def test_pending_list_is_paginated(db, city):
    user = city.users["city"]
    place = stats.resolve_place(db.session, user)
    first = stats.worker_page(
        db.session, user, place, stats.Filters(), 1, per_page=2, status=stats.RequirementStatus.PENDING
    )
    second = stats.worker_page(
        db.session, user, place, stats.Filters(), 2, per_page=2, status=stats.RequirementStatus.PENDING
    )
    assert (first.total, first.pages) == (3, 2)
    assert sorted(r.name for r in first.items + second.items) == ["工人11号", "工人4号", "工人6号"]


def test_county_admin_sees_only_their_county(db, city):
    user = city.users["county_a"]
    place = stats.resolve_place(db.session, user)
    assert place.county.id == city.county_a.id
    assert figures(stats.breakdown(db.session, user, place, stats.Filters(), "industry")) == {
        "危险化学品": (4, 3, 2),
        "建筑施工": (4, 3, 2),
        "非煤矿山": (0, 0, 0),
    }
    for kwargs in ({"county": city.county_a.id}, {"township": city.township_a2.id}, {"enterprise": city.e1.id}):
        assert stats.resolve_place(db.session, user, **kwargs).county.id == city.county_a.id  # drilling inside
    # Even a place outside the county cannot widen what the queries count.
    assert stats.total(stats.breakdown(db.session, user, stats.Place(), stats.Filters(), "county")).required == 8
    for kwargs in (
        {"county": city.county_b.id},
        {"township": city.township_b1.id},
        {"enterprise": city.e3.id},
        {"county": 999999},
    ):
        with pytest.raises(stats.OutOfScope):
            stats.resolve_place(db.session, user, **kwargs)


def test_enterprise_manager_sees_only_their_enterprise(db, city):
    user = city.users["e1"]
    place = stats.resolve_place(db.session, user)
    assert place.enterprise.id == city.e1.id
    assert stats.total(stats.breakdown(db.session, user, place, stats.Filters(), "plan")).required == 4
    assert stats.total(stats.breakdown(db.session, user, stats.Place(), stats.Filters(), "county")).required == 4
    for kwargs in ({"enterprise": city.e3.id}, {"county": city.county_a.id}, {"township": city.township_a1.id}):
        with pytest.raises(stats.OutOfScope):
            stats.resolve_place(db.session, user, **kwargs)
    with pytest.raises(stats.OutOfScope):
        stats.resolve_place(db.session, city.users["reviewer"])


def test_filters_refuse_malformed_input():
    parsed = stats.Filters.parse({"plan": "3", "from": "2026-05", "to": "2026-02"})
    assert parsed == stats.Filters(3, "2026-02", "2026-05")
    for bad in ({"from": "2026-13"}, {"to": "May"}, {"plan": "x1"}):
        with pytest.raises(DomainError):
            stats.Filters.parse(bad)


def test_month_bounds_are_local_months():
    start, end = localday.month_bounds("2026-12")
    assert start.isoformat() == "2026-11-30T16:00:00+00:00" and end.isoformat() == "2026-12-31T16:00:00+00:00"
    assert stats.months_between("2025-11", "2026-02") == ["2025-11", "2025-12", "2026-01", "2026-02"]
