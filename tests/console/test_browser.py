"""In a real browser: a county administrator imports a worker list with one bad row and finds the worker."""

from __future__ import annotations

import pytest

from exam_server.citizen_id import mask
from tests.console.browser import log_in, shot
from tests.console.helpers import csv_bytes, worker_rows, wrong_check_digit

pytestmark = pytest.mark.browser


def test_county_admin_imports_valid_rows_and_finds_the_worker(served, page, tmp_path):
    base, enterprise = served.url, served.enterprise
    rows = worker_rows(6, seed=31)
    bad, right = wrong_check_digit(rows[3][1])
    rows[3][1] = bad
    upload = tmp_path / "从业人员名单.csv"
    upload.write_bytes(csv_bytes(rows))

    log_in(page, base, "county_a")
    page.click("nav.mainnav >> text=人员管理")
    page.click("text=批量导入人员")
    page.set_input_files("#file", str(upload))
    page.fill("#enterprise_code", enterprise["credit_code"])
    shot(page, "import-1-upload")
    page.click("text=上传并检查")

    error = f"第5行 身份证号: 校验位错误，应为{right}"
    page.wait_for_selector(f"text={error}")
    assert page.locator("ol.problems li").count() == 1
    shot(page, "import-2-preview-with-error")
    page.click("button[name=import_valid]")

    page.wait_for_selector("text=已导入5人")
    shot(page, "import-3-imported")
    page.fill("#name", rows[0][0])
    page.click("text=查询")
    masked = mask(rows[0][1])  # the list shows IDs masked; the full one only on request on the worker's page
    page.wait_for_selector(f"text={masked}")
    assert page.locator("table.list tbody tr").count() >= 1 and rows[0][1] not in page.inner_text("table.list")
    shot(page, "import-4-worker-found")
    page.click(f"text={rows[0][0]}")
    page.wait_for_selector(f"text={enterprise['name']}")
    page.click("text=查看完整号码")
    page.wait_for_selector(f"text={rows[0][1]}")
    shot(page, "import-5-worker-detail")
    page.goto(f"{base}/console/workers?citizen_id={bad}")
    assert page.locator("text=没有符合条件的人员").count() == 1  # the bad row was not written


def test_city_admin_pages_render_cleanly(served, page):
    """Open the city administrator's pages, register a kiosk and create a plan, with no script errors."""
    base = served.url
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    log_in(page, base, "city_admin")
    shot(page, "city-1-dashboard")
    page.click("nav.mainnav >> text=考试计划")
    page.click("text=新建考试计划")
    page.fill("#name", "2026年度全市安全生产知识考试")
    page.fill("#opens_at", "2026-03-01T08:00")
    page.fill("#closes_at", "2026-12-31T18:00")
    shot(page, "city-2-plan-form")
    page.click("button:has-text('保存')")
    page.wait_for_selector("text=新增考试任务5项")
    shot(page, "city-3-plans")
    page.click("nav.mainnav >> text=考试终端")
    page.fill("#name", "兰山区考点1号机")
    page.fill("#location", "兰山区应急管理局一楼大厅")
    page.click("button:has-text('注册并生成令牌')")
    page.wait_for_selector("#kiosk-token")
    shot(page, "city-4-kiosk-token")
    page.click("nav.mainnav >> text=题库管理")
    page.wait_for_selector("table.list")
    shot(page, "city-5-questions")
    page.click("nav.mainnav >> text=账号管理")
    shot(page, "city-6-users")
    page.click("nav.mainnav >> text=操作日志")
    shot(page, "city-7-audit")
    assert page.locator("text=注册终端").count() >= 1 and page.locator("text=新建考试计划").count() >= 1
    assert not errors
