"""In a real browser: the plan form's enterprise search fills its suggestions under the strict CSP."""

from __future__ import annotations

import pytest

from tests.console.browser import log_in, shot

pytestmark = pytest.mark.browser


def test_plan_form_suggests_enterprises_as_the_user_types(served, page):
    base, enterprise = served.url, served.enterprise
    blocked = []
    page.on("console", lambda msg: blocked.append(msg.text) if "Content Security Policy" in msg.text else None)
    log_in(page, base, "county_a")
    page.goto(f"{base}/console/plans/new")
    page.fill("#name", "按名称搜索企业的计划")
    page.locator("#enterprise_code").press_sequentially(enterprise["name"][:4], delay=50)
    options = page.locator("#enterprise-options option")
    options.first.wait_for(state="attached")
    label = f"{enterprise['name']}（{enterprise['credit_code']}）"
    assert options.evaluate_all("os => os.map(o => o.value)") == [label]
    shot(page, "plan-enterprise-search")
    page.fill("#enterprise_code", label)  # what picking the suggestion leaves in the box
    page.fill("#opens_at", "2026-03-01T08:00")
    page.fill("#closes_at", "2026-03-31T18:00")
    page.click("button[type=submit].primary")
    page.wait_for_selector("text=考试计划“按名称搜索企业的计划”已保存")
    assert blocked == []
