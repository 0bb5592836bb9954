"""Practice on the statistics page, against figures worked out by hand on the constructed city.

Submitted sittings (conftest.build_city; local time): E1 w1 pass 01-10, w2 fail 01-20, w3 pass 03-02;
E2 w5 pass 01-31, w7 pass 04-30, w8 fail 05-01 00:30; E3 w9 pass 01-15, w10 fail 03-10 and fail 03-13.
Practice added here (PRACTISED_MIN_ANSWERS = 10 before the sitting counts as practised):
  w1  10 法规 before 01-10 (4 right), 20 消防 on 02-01 (18 right)       -> practised, passed
  w2   9 法规 before 01-20 (3 right), 5 法规 on 01-21 (5 right)          -> one answer short: not practised
  w3  10 应急 on 03-05, after the sitting (2 right)                       -> not practised
  w8  12 消防 on 04-20 (3 right)                                          -> practised, failed
  w10 10 应急 on 03-11 (5 right), between the two sittings               -> first not practised, second practised
  w11 15 应急 on 04-10 (0 right; E3, required by P2 only, never sat)
Sittings: practised w1 P, w8 F, w10#2 F = 3, 1 passed; not practised w2 F, w3 P, w5 P, w7 P, w9 P, w10#1 F = 6, 4.
Categories (WEAK_MIN_ANSWERS = 20): E1 法规 24/12, 消防 20/18, 应急 10/2 (too few); E2 消防 12/3 (too few);
E3 应急 25/5. City 应急 35/7, 法规 24/12, 消防 32/21.
"""

from __future__ import annotations

import io
import re
from datetime import timedelta

import openpyxl
import pytest

import question_bank as qb
from exam_server.models import PracticeAnswer, Question
from exam_server.services.exam import question_store
from exam_server.services.reporting import practice_effect as pe
from exam_server.services.reporting import statistics as stats
from tests.console_stats.conftest import cn

LAW, FIRE, EMERGENCY = "安全生产法律法规", "消防安全", "应急救援与疏散"
NO_FILTER = stats.Filters()


def test_the_thresholds_the_hand_figures_assume():
    assert (pe.PRACTISED_MIN_ANSWERS, pe.WEAK_MIN_ANSWERS) == (10, 20)


@pytest.fixture()
def practice(db, city):
    question_store.save(
        db.session,
        [
            qb.Question(
                code=f"PE-{n}",
                type=qb.QuestionType.TRUEFALSE,
                stem=f"{category}练习题",
                options=("正确", "错误"),
                answer="A",
                category=category,
                difficulty=2,
            )
            for n, category in enumerate((LAW, FIRE, EMERGENCY))
        ],
    )
    questions = {q.category: q for q in db.session.query(Question).filter(Question.code.like("PE-%"))}
    keys = iter(range(10_000))

    def answers(worker: str, category: str, count: int, right: int, start) -> None:
        for n in range(count):
            db.session.add(
                PracticeAnswer(
                    worker_id=city.workers[worker].id,
                    question_id=questions[category].id,
                    question_version=1,
                    category=category,
                    mode="category",
                    response="A" if n < right else "B",
                    correct=n < right,
                    idempotency_key=f"pe-{next(keys)}",
                    answered_at=start + timedelta(minutes=n),
                )
            )

    answers("w1", LAW, 10, 4, cn(2026, 1, 9))
    answers("w1", FIRE, 20, 18, cn(2026, 2, 1))
    answers("w2", LAW, 9, 3, cn(2026, 1, 19))
    answers("w2", LAW, 5, 5, cn(2026, 1, 21))
    answers("w3", EMERGENCY, 10, 2, cn(2026, 3, 5))
    answers("w8", FIRE, 12, 3, cn(2026, 4, 20))
    answers("w10", EMERGENCY, 10, 5, cn(2026, 3, 11))
    answers("w11", EMERGENCY, 15, 0, cn(2026, 4, 10))
    db.session.commit()
    return city


def split(db, user, filters=NO_FILTER, **place):
    found = pe.pass_by_practice(db.session, user, stats.resolve_place(db.session, user, **place), filters)
    return (found.practised.sittings, found.practised.passed), (
        found.not_practised.sittings,
        found.not_practised.passed,
    )


def test_pass_rates_of_practised_and_not_practised_sittings_for_the_city(db, practice):
    user = practice.users["city"]
    found = pe.pass_by_practice(db.session, user, stats.resolve_place(db.session, user), stats.Filters())
    assert (found.practised.sittings, found.practised.passed, found.practised.pass_rate) == (3, 1, 1 / 3)
    assert (found.not_practised.sittings, found.not_practised.passed, found.not_practised.pass_rate) == (6, 4, 4 / 6)
    assert (found.total.sittings, found.total.passed) == (9, 5)


def test_pass_rates_follow_the_viewers_scope_and_the_place(db, practice):
    assert split(db, practice.users["county_a"]) == ((2, 1), (4, 3))
    assert split(db, practice.users["e3"]) == ((1, 0), (2, 1))
    assert split(db, practice.users["city"], enterprise=practice.e3.id) == ((1, 0), (2, 1))
    assert split(db, practice.users["city"], township=practice.township_a2.id) == ((1, 0), (2, 2))
    with pytest.raises(stats.OutOfScope):
        split(db, practice.users["e3"], enterprise=practice.e1.id)
    # Even handed a wider place, the service keeps to the user's own rows.
    wide = pe.pass_by_practice(db.session, practice.users["e3"], stats.Place(practice.county_a), stats.Filters())
    assert wide.total.sittings == 0


def test_pass_rates_within_the_selected_months_and_plan(db, practice):
    march = stats.Filters(month_from="2026-03", month_to="2026-03")
    assert split(db, practice.users["city"], march) == ((1, 0), (2, 1))
    assert split(db, practice.users["city"], stats.Filters(plan_id=practice.p2.id)) == ((1, 0), (1, 1))  # w8 F, w7 P


def test_empty_groups_have_no_rate(db, practice):
    found = pe.pass_by_practice(
        db.session,
        practice.users["county_c"],
        stats.resolve_place(db.session, practice.users["county_c"]),
        stats.Filters(),
    )
    assert found.practised.sittings == found.not_practised.sittings == 0
    assert found.practised.pass_rate is None and found.not_practised.pass_rate is None


def weak(db, user, filters=NO_FILTER, **place):
    found = pe.weak_categories(db.session, user, stats.resolve_place(db.session, user, **place), filters)
    return (
        [(c.name, c.answers, c.right) for c in found.scope],
        {e.name: [(c.name, c.answers, c.right) for c in e.categories] for e in found.enterprises},
    )


def test_weakest_categories_for_the_city_and_per_enterprise(db, practice):
    scope, enterprises = weak(db, practice.users["city"])
    assert scope == [(EMERGENCY, 35, 7), (LAW, 24, 12), (FIRE, 32, 21)]
    assert enterprises == {
        "罗庄化工有限公司": [(EMERGENCY, 25, 5)],
        "兰山化工有限公司": [(LAW, 24, 12), (FIRE, 20, 18)],
    }
    found = pe.weak_categories(db.session, practice.users["city"], stats.Place(None), stats.Filters())
    assert [e.name for e in found.enterprises] == ["罗庄化工有限公司", "兰山化工有限公司"]  # weakest first
    assert found.scope[0].right_share == 7 / 35


def test_weakest_categories_follow_the_scope(db, practice):
    assert weak(db, practice.users["county_a"]) == (
        [(LAW, 24, 12), (FIRE, 32, 21)],
        {"兰山化工有限公司": [(LAW, 24, 12), (FIRE, 20, 18)]},
    )
    assert weak(db, practice.users["e3"]) == ([(EMERGENCY, 25, 5)], {"罗庄化工有限公司": [(EMERGENCY, 25, 5)]})
    wide = pe.weak_categories(db.session, practice.users["e1"], stats.Place(practice.county_b), stats.Filters())
    assert (wide.scope, wide.enterprises) == ([], [])


def test_weakest_categories_within_months_plan_and_when_too_few(db, practice):
    march = stats.Filters(month_from="2026-03", month_to="2026-03")
    assert weak(db, practice.users["city"], march) == ([(EMERGENCY, 20, 7)], {})
    assert weak(db, practice.users["city"], stats.Filters(plan_id=practice.p2.id)) == ([], {})
    assert weak(db, practice.users["county_c"]) == ([], {})


def table_rows(html: str, table: str) -> dict[str, list[str]]:
    body = html.split(f'id="{table}"', 1)[1].split("</table>", 1)[0]
    return {
        key: re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)
        for key, row in re.findall(r'<tr data-key="([^"]+)">(.*?)</tr>', body, re.S)
    }


def test_the_statistics_page_shows_both_groups_and_the_weakest_categories(db, practice, login):
    client = login(practice.users["county_a"])
    assert 'id="weak-on-request"' in client.get("/console/statistics").get_data(as_text=True)
    html = client.get("/console/statistics?weak=1").get_data(as_text=True)
    assert 'id="weak-on-request"' not in html
    assert table_rows(html, "practice-pass") == {
        "practised": ["练习过", "2", "1", "50.0%"],
        "not-practised": ["未练习", "4", "3", "75.0%"],
        "total": ["合计", "6", "4", "66.7%"],
    }
    assert "至少 10 次练习答题" in html
    assert table_rows(html, "weak-scope") == {LAW: [LAW, "24", "12", "50.0%"], FIRE: [FIRE, "32", "21", "65.6%"]}
    enterprises = table_rows(html, "weak-enterprises")
    assert list(enterprises) == [str(practice.e1.id)]
    assert "安全生产法律法规（50.0%，24 次）；消防安全（90.0%，20 次）" in enterprises[str(practice.e1.id)][1]
    assert "罗庄化工" not in html


def test_the_page_of_an_enterprise_manager_and_its_empty_states(db, practice, login):
    html = login(practice.users["e3"]).get("/console/statistics").get_data(as_text=True)
    assert table_rows(html, "practice-pass")["practised"] == ["练习过", "1", "0", "0.0%"]
    assert 'id="weak-enterprises"' not in html  # the enterprise's own page lists its categories once
    assert list(table_rows(html, "weak-scope")) == [EMERGENCY]
    empty = login(practice.users["county_c"]).get("/console/statistics?weak=1").get_data(as_text=True)
    assert 'id="practice-pass-empty"' in empty and 'id="weak-scope-empty"' in empty
    plan_only = login(practice.users["city"]).get(f"/console/statistics?plan={practice.p2.id}&weak=1")
    plan_only = plan_only.get_data(as_text=True)
    assert table_rows(plan_only, "practice-pass")["practised"] == ["练习过", "1", "0", "0.0%"]
    assert 'id="weak-scope-empty"' in plan_only


def test_a_group_with_no_sitting_shows_a_dash(db, practice, login):
    html = login(practice.users["city"]).get(f"/console/statistics?enterprise={practice.e1.id}&from=2026-03&to=2026-03")
    rows = table_rows(html.get_data(as_text=True), "practice-pass")
    assert rows["practised"] == ["练习过", "0", "0", "—"] and rows["not-practised"] == ["未练习", "1", "1", "100.0%"]


def test_practice_exports_hold_numbers_and_keep_to_the_scope(db, practice, login):
    client = login(practice.users["county_a"])
    sheet = openpyxl.load_workbook(io.BytesIO(client.get("/console/exports/practice.xlsx").data))["练习与合格率"]
    rows = [[c.value for c in row][:4] for row in sheet.iter_rows(min_row=4)]
    assert rows == [["练习过", 2, 1, 0.5], ["未练习", 4, 3, 0.75], ["合计", 6, 4, pytest.approx(4 / 6, abs=1e-4)]]
    assert sheet["D4"].number_format == "0.0%"
    weak_sheet = openpyxl.load_workbook(io.BytesIO(client.get("/console/exports/weak_categories.xlsx").data))[
        "薄弱分类"
    ]
    assert [[c.value for c in row] for row in weak_sheet.iter_rows(min_row=4)] == [
        ["兰山区（合计）", None, LAW, 24, 12, 0.5],
        ["兰山区（合计）", None, FIRE, 32, 21, pytest.approx(21 / 32, abs=1e-4)],
        ["兰山化工有限公司", practice.e1.credit_code, LAW, 24, 12, 0.5],
        ["兰山化工有限公司", practice.e1.credit_code, FIRE, 20, 18, 0.9],
    ]
    empty = login(practice.users["county_c"]).get("/console/exports/practice.csv").data.decode("utf-8-sig")
    assert empty.splitlines()[1:3] == [
        "练习过,0,0,,“练习过”指该场考试开始前本人已有至少 10 次练习答题；按已交卷的考试场次计算（补考各算一场），合格率 = 合格场次 / 场次。",
        "未练习,0,0,,",
    ]
    assert client.get(f"/console/exports/weak_categories.csv?county={practice.county_b.id}").status_code == 403
