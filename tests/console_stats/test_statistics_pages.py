"""The statistics pages: figures, drill-down links, filters, scope refusals and freshness."""

import re

from exam_server.models import ExamRequirement
from tests.console_stats.conftest import finish_real_sitting, start_real_sitting


def tiles(html: str) -> dict[str, str]:
    return dict(re.findall(r'id="t-([a-z-]+)"[^>]*>([^<]+)<', html))


def row_of(html: str, table: str, key) -> str:
    body = html.split(f'id="{table}"', 1)[1].split("</table>", 1)[0]
    return re.search(rf'<tr data-(?:key|month)="{key}">(.*?)</tr>', body, re.S).group(1)


def test_city_page_shows_hand_computed_figures_and_drill_links(db, city, login):
    client = login(city.users["city"])
    html = client.get("/console/statistics").get_data(as_text=True)
    assert tiles(html) == {
        "required": "11",
        "sat": "8",
        "passed": "5",
        "participation": "72.7%",
        "pass": "62.5%",
        "pending": "3",
    }
    county_c = row_of(html, "children", city.county_c.id)
    assert county_c.count("—") == 2  # nobody required in 河东区: no rate, not 0% and no error
    assert f'href="/console/statistics?county={city.county_a.id}"' in html
    assert "<svg" in html and "polyline" in html  # bar charts and the monthly line, drawn on the server
    assert re.search(r'data-month="2026-02">.*?<td class="num pass">—</td>', html, re.S)  # a month with no sitting


def test_drill_down_to_the_worker_list(db, city, login):
    client = login(city.users["city"])
    county = client.get(f"/console/statistics?county={city.county_a.id}").get_data(as_text=True)
    assert f"/console/statistics?township={city.township_a2.id}" in county
    assert "罗庄化工" not in county
    township = client.get(f"/console/statistics?township={city.township_a2.id}").get_data(as_text=True)
    assert f"/console/statistics?enterprise={city.e2.id}" in township
    enterprise = client.get(f"/console/statistics?enterprise={city.e2.id}").get_data(as_text=True)
    assert "人员名单" in enterprise
    for name in ("工人5号", "工人6号", "工人7号", "工人8号"):
        assert name in enterprise
    assert "工人1号" not in enterprise


def test_filters_change_the_figures(db, city, login):
    client = login(city.users["city"])
    html = client.get(f"/console/statistics?plan={city.p2.id}").get_data(as_text=True)
    assert tiles(html)["required"] == "4" and tiles(html)["sat"] == "2"
    html = client.get("/console/statistics?from=2026-04&to=2026-07").get_data(as_text=True)
    assert tiles(html)["required"] == "4"
    assert 'data-month="2026-06"' in html and 'data-month="2026-03"' not in html
    assert client.get("/console/statistics?from=2026-13").status_code == 400


def test_county_admin_never_sees_another_county(db, city, login):
    client = login(city.users["county_a"])
    html = client.get("/console/statistics").get_data(as_text=True)
    assert tiles(html)["required"] == "8"
    assert "罗庄化工" not in html and "全市" not in html
    township = client.get(f"/console/statistics?township={city.township_a2.id}").get_data(as_text=True)
    assert tiles(township)["required"] == "4" and "枣园建设工程有限公司" in township
    assert tiles(client.get(f"/console/statistics?county={city.county_a.id}").get_data(as_text=True))["required"] == "8"
    assert client.get(f"/console/statistics?enterprise={city.e1.id}").status_code == 200
    for query in (f"county={city.county_b.id}", f"township={city.township_b1.id}", f"enterprise={city.e3.id}"):
        assert client.get(f"/console/statistics?{query}").status_code == 403
        assert client.get(f"/console/statistics/pending?{query}").status_code == 403
        assert client.get(f"/console/exports/results.csv?{query}").status_code == 403


def test_enterprise_manager_sees_only_their_own(db, city, login):
    client = login(city.users["e1"])
    html = client.get("/console/statistics").get_data(as_text=True)
    assert tiles(html) == {
        "required": "4",
        "sat": "3",
        "passed": "2",
        "participation": "75.0%",
        "pass": "66.7%",
        "pending": "1",
    }
    assert "工人9号" not in html and "枣园" not in html
    assert client.get(f"/console/statistics?enterprise={city.e3.id}").status_code == 403
    assert client.get(f"/console/statistics?county={city.county_a.id}").status_code == 403


def test_a_county_with_nobody_to_examine_shows_dashes(db, city, login):
    html = login(city.users["county_c"]).get("/console/statistics").get_data(as_text=True)
    assert tiles(html)["participation"] == "—" and tiles(html)["pass"] == "—"
    assert "所选范围内尚无参考记录" in html


def test_reviewer_and_anonymous_are_kept_out(db, city, login, client):
    assert login(city.users["reviewer"]).get("/console/statistics").status_code == 403
    response = client.get("/console/statistics")
    assert response.status_code == 302 and "/auth/login" in response.headers["Location"]


def test_pending_list_page(db, city, login):
    html = login(city.users["county_a"]).get("/console/statistics/pending").get_data(as_text=True)
    assert "工人4号" in html and "工人6号" in html and "工人11号" not in html
    assert "共 2 条" in html


def test_figures_change_the_moment_a_result_is_submitted(db, city, login):
    client = login(city.users["city"])
    assert tiles(client.get("/console/statistics").get_data(as_text=True))["sat"] == "8"
    requirement = city.requirements["w4"]  # pending in 兰山化工
    sitting = start_real_sitting(db.session, requirement)
    still = tiles(client.get("/console/statistics").get_data(as_text=True))
    assert still["sat"] == "8"  # an unfinished sitting is not a participation yet
    finish_real_sitting(db.session, sitting, correct=True)
    assert db.session.get(ExamRequirement, requirement.id).status.value == "passed"
    now = tiles(client.get("/console/statistics").get_data(as_text=True))
    assert (now["sat"], now["passed"], now["pending"], now["participation"]) == ("9", "6", "2", "81.8%")
    enterprise = login(city.users["e1"]).get("/console/statistics").get_data(as_text=True)
    assert tiles(enterprise)["participation"] == "100.0%"
