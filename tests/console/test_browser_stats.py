"""In a real browser: statistics, the not-yet-sat list and exports, checked against the database.

The constructed set (built through the plan and sitting services), hand-computed:
  兰山区/兰山街道 兰山化工 (5 workers), 兰山区/枣园镇 兰山建设 (2), 罗庄区 罗庄化工 (3), 河东区 河东矿业 (0).
  P1 (past, city-wide) and P2 (open now, 兰山区 only) place 10 + 7 = 17 requirements.
  兰山区 14 required, 8 sat, 6 passed (57.1%, 75.0%); 罗庄区 3, 2, 1 (66.7%, 50.0%); 河东区 nobody: "—".
  City 17, 10, 7 (58.8%, 70.0%). 兰山化工 10, 6, 4 (60.0%, 66.7%).
"""

from __future__ import annotations

import csv
import io
from collections import Counter
from dataclasses import dataclass
from datetime import timedelta

import openpyxl
import pytest
from sqlalchemy import select

from exam_server.extensions import db
from exam_server.models import (
    Enterprise,
    ExamPlan,
    ExamRequirement,
    Sitting,
    SittingStatus,
    Township,
    User,
    Worker,
    utcnow,
)
from exam_server.services.admin import plans
from tests import factories
from tests.console.browser import log_in, shot
from tests.console_stats.conftest import finish_real_sitting, start_real_sitting

pytestmark = pytest.mark.browser

# worker: (enterprise key, outcome in P1, outcome in P2 or None when P2 does not cover them)
OUTCOMES = {
    "张伟": ("a", "passed", "passed"),
    "王芳": ("a", "passed", "failed"),
    "李娜": ("a", "failed", "pending"),
    "刘洋": ("a", "pending", "pending"),
    "陈静": ("a", "passed", "pending"),
    "杨磊": ("a2", "passed", "passed"),
    "赵敏": ("a2", "pending", "pending"),
    "黄勇": ("b", "passed", None),
    "周杰": ("b", "failed", None),
    "吴霞": ("b", "pending", None),
}


@dataclass
class Set:
    county_a: int
    county_b: int
    county_c: int
    township_a2: int
    enterprise_a: int
    open_plan: int


@pytest.fixture()
def stats_set(served) -> Set:
    """Build the constructed set in the served app's database; sittings go through the real services."""
    with served.app.app_context():
        session = db.session
        world_enterprises = session.scalars(select(Enterprise).order_by(Enterprise.id)).all()
        a, b = world_enterprises
        a.name, b.name = "兰山化工有限公司", "罗庄化工有限公司"
        county_a, county_b = a.county, b.county
        a.township.name = "兰山街道"
        zaoyuan = Township(county_id=county_a.id, code="371302900000", name="枣园镇")
        session.add(zaoyuan)
        session.flush()
        a2 = factories.enterprise(
            session, county_a, factories.industry(session, "construction", "建筑施工"), "兰山建设工程有限公司"
        )
        a2.township_id = zaoyuan.id
        county_c = factories.county(session, "371312", "河东区")
        factories.enterprise(
            session, county_c, factories.industry(session, "noncoal_mine", "非煤矿山"), "河东矿业有限公司"
        )
        by_key = {"a": a, "a2": a2, "b": b}
        existing = {
            key: list(session.scalars(select(Worker).where(Worker.enterprise_id == e.id).order_by(Worker.id)))
            for key, e in by_key.items()
        }
        workers = {}
        for name, (key, _, _) in OUTCOMES.items():
            worker = existing[key].pop(0) if existing[key] else factories.worker(session, by_key[key])
            worker.name = name  # distinct names, so the lists below can be compared by name
            workers[name] = worker
        now, city = utcnow(), session.scalar(select(User).where(User.username == "city_admin"))
        p1, _, _ = plans.save_plan(
            session,
            city,
            plans.PlanInput(
                name="上半年安全生产知识考试",
                opens_at=now - timedelta(days=200),
                closes_at=now - timedelta(days=100),
                ruleset_id="general",
            ),
        )
        p2, _, _ = plans.save_plan(
            session,
            city,
            plans.PlanInput(
                name="下半年安全生产知识考试",
                opens_at=now - timedelta(days=60),
                closes_at=now + timedelta(days=30),
                ruleset_id="general",
                county_id=county_a.id,
            ),
        )
        session.commit()
        for column, (plan, first_day) in enumerate(((p1, 190), (p2, 50)), start=1):
            for n, (name, outcome) in enumerate((name, row[column]) for name, row in OUTCOMES.items()):
                if outcome not in ("passed", "failed"):
                    continue
                requirement = session.scalar(
                    select(ExamRequirement).where(
                        ExamRequirement.plan_id == plan.id, ExamRequirement.worker_id == workers[name].id
                    )
                )
                at = now - timedelta(days=first_day - 8 * n)  # first sittings spread over months, inside the window
                sitting = start_real_sitting(session, requirement, at)
                finish_real_sitting(session, sitting, correct=outcome == "passed", now=at + timedelta(minutes=20))
        built = Set(county_a.id, county_b.id, county_c.id, zaoyuan.id, a.id, p2.id)
        session.commit()
    return built


def counts(app, **where) -> tuple[int, int, int]:
    """Return (required, sat, passed) straight from exam_requirement rows matching ``where``."""
    with app.app_context():
        query = select(ExamRequirement.status)
        for column, value in where.items():
            query = query.where(getattr(ExamRequirement, column) == value)
        statuses = Counter(s.value for s in db.session.scalars(query))
    return sum(statuses.values()), statuses["passed"] + statuses["failed"], statuses["passed"]


def rate(part: int, whole: int) -> str:
    return f"{part / whole * 100:.1f}%" if whole else "—"


def shown_rates(page, table: str, key: int) -> tuple[str, str]:
    row = page.locator(f"#{table} tr[data-key='{key}']")
    return row.locator("td.participation").inner_text(), row.locator("td.pass").inner_text()


def test_city_admin_reads_rates_drills_down_and_lists_who_has_not_sat(served, stats_set, page):
    """Check the city's tiles, county rates, charts, drill-down and not-sat list against the database."""
    app, s = served.app, stats_set
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    log_in(page, served.url, "city_admin")
    page.click("nav.mainnav >> text=统计分析")
    page.wait_for_selector("#children")

    required, sat, passed = counts(app)
    assert (required, sat, passed) == (17, 10, 7)  # the hand count in the module docstring
    assert [page.inner_text(f"#t-{t}") for t in ("required", "sat", "passed", "participation", "pass")] == [
        str(required),
        str(sat),
        str(passed),
        rate(sat, required),
        rate(passed, sat),
    ]
    for county, hand in ((s.county_a, ("57.1%", "75.0%")), (s.county_b, ("66.7%", "50.0%")), (s.county_c, ("—", "—"))):
        required, sat, passed = counts(app, county_id=county)
        assert shown_rates(page, "children", county) == (rate(sat, required), rate(passed, sat)) == hand
    charts = page.locator("figure.chart svg")
    assert charts.count() == 3  # counties, industries, months
    for n in range(charts.count()):
        box = charts.nth(n).bounding_box()
        assert box and box["width"] > 300 and box["height"] > 50
    county_chart = page.locator("figure.chart").first
    assert county_chart.locator("rect.p").count() == 2 and county_chart.get_by_text("无应考人员").count() == 1
    shot(page, "stats-1-city")

    page.click("#children >> text=兰山区")
    page.wait_for_selector("nav.crumbs >> text=兰山区")
    assert "罗庄" not in page.inner_text("main")
    required, sat, passed = counts(app, township_id=s.township_a2)
    assert shown_rates(page, "children", s.township_a2) == (rate(sat, required), rate(passed, sat))
    shot(page, "stats-2-county-drilldown")
    page.click("#children >> text=枣园镇")
    page.wait_for_selector("#children >> text=兰山建设工程有限公司")
    assert page.locator("#children tbody tr").count() == 1

    page.click("nav.crumbs >> text=全市")
    page.click("#t-pending")
    page.wait_for_selector("h1:has-text('尚未参考')")
    with app.app_context():
        pending = Counter(
            db.session.scalars(
                select(Worker.name)
                .join(ExamRequirement, ExamRequirement.worker_id == Worker.id)
                .where(ExamRequirement.status == "pending")
            )
        )
    listed = Counter(page.locator("section.card table.data td.name").all_inner_texts())
    assert listed == pending and set(listed) == {"李娜", "刘洋", "陈静", "赵敏", "吴霞"}
    shot(page, "stats-3-not-sat")
    assert not errors


def test_county_admin_sees_only_their_county(served, stats_set, page):
    """Show a county administrator their county's figures and nothing of another county."""
    log_in(page, served.url, "county_a")
    page.click("nav.mainnav >> text=统计分析")
    page.wait_for_selector("#children")
    required, _, _ = counts(served.app, county_id=stats_set.county_a)
    assert page.inner_text("#t-required") == str(required) == "14"
    text = page.inner_text("main")
    assert "枣园镇" in text and "罗庄" not in text and "河东" not in text


STATUS = {"pending": "未参考", "failed": "不合格", "passed": "合格"}


def results_in_db(app, enterprise_id: int) -> dict[tuple, tuple]:
    """Return {(citizen ID, plan): (status, attempts, best score)} for one enterprise, from the tables."""
    with app.app_context():
        rows = {}
        for req, citizen_id, plan in db.session.execute(
            select(ExamRequirement, Worker.citizen_id, ExamPlan.name)
            .join(Worker, Worker.id == ExamRequirement.worker_id)
            .join(ExamPlan, ExamPlan.id == ExamRequirement.plan_id)
            .where(ExamRequirement.enterprise_id == enterprise_id)
        ):
            scores = db.session.scalars(
                select(Sitting.score).where(Sitting.requirement_id == req.id, Sitting.status == SittingStatus.SUBMITTED)
            ).all()
            rows[(citizen_id, plan)] = (STATUS[req.status.value], req.attempts, max(scores, default=None))
    return rows


def download(page, kind: str, fmt: str):
    """Click the export page's link for ``kind`` and ``fmt``; return the finished download."""
    with page.expect_download() as info:
        page.locator("table.data tr", has_text=kind).get_by_role("link", name=fmt, exact=True).click()
    return info.value


def workbook(done):
    return openpyxl.load_workbook(io.BytesIO(done.path().read_bytes()))  # the path has no suffix


def test_enterprise_manager_downloads_own_figures_and_results(served, stats_set, page):
    """Download figures and results as XLSX and CSV and check them against the enterprise's rows."""
    app, s = served.app, stats_set
    own = s.enterprise_a
    log_in(page, served.url, "ent_a")
    required, sat, passed = counts(app, enterprise_id=own, plan_id=s.open_plan)  # the dashboard counts open plans
    assert (
        [page.inner_text(f".tile:has(span:text-is('{label}')) .fig") for label in ("应考人次", "参考率", "合格率")]
        == [str(required), rate(sat, required), rate(passed, sat)]
        == ["5", "40.0%", "50.0%"]
    )
    shot(page, "enterprise-1-dashboard")
    page.click("nav.mainnav >> text=统计分析")
    page.click("text=更多导出")
    page.wait_for_selector("h1:has-text('数据导出')")
    shot(page, "export-1-page")

    required, sat, passed = counts(app, enterprise_id=own)
    assert (required, sat, passed) == (10, 6, 4)
    figures = download(page, "参考率合格率统计", "XLSX")
    assert figures.suggested_filename.startswith("兰山化工有限公司_参考率合格率统计_")
    sheet = workbook(figures)["参考率合格率"]
    assert sheet["A1"].value == "参考率合格率统计" and sheet["A2"].value.startswith("范围：兰山化工有限公司")
    assert sheet.freeze_panes == "A4" and sheet.auto_filter.ref == "A3:K5"  # header fixed and filtered
    header, *body = sheet.iter_rows(min_row=3, values_only=True)
    assert [row[3] for row in body] == ["兰山化工有限公司", None] and body[-1][0] == "合计"
    for row in body:
        assert row[5:9] == (required, sat, passed, required - sat)
        assert row[9:] == (pytest.approx(sat / required, abs=1e-4), pytest.approx(passed / sat, abs=1e-4))
    text = download(page, "参考率合格率统计", "CSV").path().read_text(encoding="utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    assert [r[3] for r in rows[1:]] == ["兰山化工有限公司", ""] and rows[-1][0] == "合计"
    for row in rows[1:]:
        assert row[5:] == [
            str(required),
            str(sat),
            str(passed),
            str(required - sat),
            rate(sat, required),
            rate(passed, sat),
        ] and row[9:] == ["60.0%", "66.7%"]

    expected = results_in_db(app, own)
    sheet = workbook(download(page, "考试成绩明细", "XLSX"))["成绩明细"]
    assert sheet.freeze_panes == "A4" and sheet.auto_filter.ref == "A3:P13"
    assert sheet.column_dimensions["F"].width >= 20  # the citizen ID fits
    header, *body = sheet.iter_rows(min_row=3, values_only=True)
    assert header[3:10] == ("企业名称", "姓名", "身份证号", "岗位类别", "考试计划", "状态", "考试次数")
    assert {(r[5], r[7]): (r[8], r[9], r[12]) for r in body} == expected  # no score: an empty cell
    assert all(isinstance(r[9], int) and (r[12] is None or isinstance(r[12], (int, float))) for r in body)
    assert len(body) == len(expected) == 10 and {r[3] for r in body} == {"兰山化工有限公司"}
    text = download(page, "考试成绩明细", "CSV").path().read_text(encoding="utf-8-sig")
    body = list(csv.reader(io.StringIO(text)))[1:]
    assert {(r[5].lstrip("\t"), r[7]): (r[8], int(r[9]), float(r[12]) if r[12] else None) for r in body} == expected
    assert len(body) == 10 and {r[3] for r in body} == {"兰山化工有限公司"}
