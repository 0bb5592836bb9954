"""In a real browser: an administrator switches the console to English and walks its main pages."""

from __future__ import annotations

import re

import pytest

from tests.console.browser import log_in, shot

pytestmark = pytest.mark.browser

CJK = re.compile(r"[\u4e00-\u9fff]")
# path, the English heading it must show
PAGES = [
    ("/console/", "Dashboard"),
    ("/console/workers", "Workers"),
    ("/console/statistics", "Statistics"),
    ("/console/review", "Face review"),
    ("/console/questions", "Question bank"),
    ("/console/plans", "Exam plans"),
    ("/console/audit", "Audit log"),
    ("/console/users", "Users"),
]


def test_city_administrator_switches_to_english_and_walks_the_console(served, page):
    base = served.url
    log_in(page, base, "city_admin")
    assert page.locator("html").get_attribute("lang") == "zh-CN"
    page.click("header button[name=locale][value=en]")
    page.wait_for_selector("h1:text-is('Dashboard')")
    assert page.locator("html").get_attribute("lang") == "en"
    for path, title in PAGES:
        page.goto(f"{base}{path}")
        assert page.locator("h1").first.inner_text().strip() == title, path
        nav = page.locator("nav.mainnav").inner_text()
        headings = " ".join(page.locator("h1, h2, th, title, .actions").all_inner_texts())
        assert "Statistics" in nav
        assert not CJK.search(nav), (path, nav)
        assert not CJK.search(headings), (path, CJK.findall(headings))
        shot(page, f"console-english-{path.strip('/').replace('/', '-') or 'dashboard'}")
    # the choice is the user's: it survives a new login, whatever the browser says (chromium here asks for zh-CN)
    page.click("header button:text-is('Log out')")
    log_in_english(page, base)
    page.click("header button[name=locale][value=zh_Hans_CN]")
    page.wait_for_selector("h1:text-is('工作台')")
    assert page.locator("html").get_attribute("lang") == "zh-CN"


def log_in_english(page, base: str) -> None:
    from tests import factories

    page.goto(f"{base}/console/")
    page.fill("#username", "city_admin")
    page.fill("#password", factories.PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_selector("h1:text-is('Dashboard')")


def test_service_refusals_and_the_live_monitor_speak_english(served, page):
    base = served.url
    log_in(page, base, "city_admin")
    page.click("header button[name=locale][value=en]")
    page.wait_for_selector("h1:text-is('Dashboard')")
    # a refusal raised by the plans service (enterprise_picker), shown as a flash message
    page.goto(f"{base}/console/plans/new")
    page.fill("#name", "English plan")
    page.fill("#enterprise_code", "不存在的企业")
    page.fill("#opens_at", "2026-03-01T08:00")
    page.fill("#closes_at", "2026-03-31T18:00")
    page.click("form button[type=submit].primary")
    flash = page.locator(".flash.error").first.inner_text()
    assert "No enterprise named “不存在的企业” was found" in flash, flash
    shot(page, "console-english-service-refusal")
    # the monitor script's own words and its clock follow the page's language
    page.goto(f"{base}/console/monitor")
    page.wait_for_selector("#live-status:has-text('Updated')")
    status = page.locator("#live-status").inner_text()
    assert re.match(r"Updated \d\d:\d\d:\d\d, refreshed every \d+ seconds", status), status
    assert page.locator("#live-count").inner_text() == "0 sittings"
    assert not CJK.search(" ".join(page.locator("th").all_inner_texts()))
