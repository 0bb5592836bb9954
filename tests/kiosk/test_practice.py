"""练习题目 on the kiosk's welcome screen: the server's worker pages in kiosk mode, left by 结束练习 or idle time."""

from __future__ import annotations

import time

import pytest
import requests

from tests.kiosk.browser import SCREEN, layout_problems, shot
from tests.kiosk.test_pin import citizen_id_of

PIN = "482915"
END = "button:has-text('结束练习，返回考试终端')"


def give_pin(live) -> None:
    """Store the live sitting's worker's PIN, as the kiosk's result screen would (a passed check-in proves it)."""
    from exam_server.extensions import db
    from exam_server.models import Sitting, Worker
    from tests.worker.conftest import give_pin as store

    with live.server.app.app_context():
        store(db.session, db.session.get_one(Worker, db.session.get_one(Sitting, live.sitting_id).worker_id), PIN)


def practise_one_question(page, server, live) -> None:
    """From the kiosk's welcome screen: 练习题目, sign in, answer the first category's first question."""
    page.goto(server.url)
    page.wait_for_selector("#practice")
    assert page.inner_text("#practice") == "练习题目（不算考试）"
    assert "secondary" in page.get_attribute("#practice", "class")  # the exam stays the first choice
    assert layout_problems(page) == []
    shot(page, "practice-01-welcome")
    page.click("#practice")
    page.wait_for_url(live.server.url + "/worker/login")
    assert page.locator(END).is_visible()  # the way back is there before anyone signs in
    page.fill("input[name=citizen_id]", citizen_id_of(live))
    page.fill("input[name=pin]", PIN)
    page.click("button:has-text('登录')")
    page.wait_for_url(live.server.url + "/worker/")
    assert page.locator(END).is_visible() and page.locator("button:has-text('退出')").count() == 0
    page.click("main .list li a >> nth=0")
    page.check("input[name=choice] >> nth=0")
    page.click("button:has-text('提交答案')")
    page.wait_for_selector(".verdict")
    shot(page, "practice-02-feedback")


def signed_out(page, live) -> bool:
    """Whether this browser's worker pages ask to sign in again (the cookie the kiosk mode left is checked)."""
    cookies = {c["name"]: c["value"] for c in page.context.cookies(live.server.url)}
    response = requests.get(live.server.url + "/worker/", cookies=cookies, allow_redirects=False, timeout=10)
    return response.status_code == 302 and response.headers["Location"].endswith("/worker/login")


@pytest.mark.browser
def test_the_worker_practises_on_the_kiosk_and_ends_with_the_button(screen, live, browser):
    server, kiosk = screen
    give_pin(live)
    page = browser.new_page(viewport=SCREEN)
    try:
        practise_one_question(page, server, live)
        assert not signed_out(page, live)
        page.click(END)
        page.wait_for_selector("#start")
        assert page.url.rstrip("/") == server.url.rstrip("/") and kiosk.screen == "welcome"
        assert signed_out(page, live)
        page.goto(live.server.url + "/worker/")
        page.wait_for_url(live.server.url + "/worker/login")
        assert page.locator(END).count() == 0  # the kiosk mode ended with the visit
    finally:
        page.close()


@pytest.mark.browser
def test_a_practice_left_untouched_signs_out_and_comes_back(screen, live, browser):
    server, kiosk = screen
    give_pin(live)
    page = browser.new_page(viewport=SCREEN)
    page.clock.install()  # the 120 s without a touch are fast-forwarded below
    try:
        practise_one_question(page, server, live)
        page.clock.fast_forward(100_000)
        time.sleep(1.0)
        assert page.url.startswith(live.server.url + "/worker/") and not signed_out(page, live)
        page.mouse.click(20, 600)  # a touch (on the page's empty margin) starts the idle time again
        page.clock.fast_forward(100_000)
        time.sleep(1.0)
        assert page.locator(".verdict").is_visible()
        page.clock.fast_forward(21_000)
        page.wait_for_selector("#start")
        assert page.url.rstrip("/") == server.url.rstrip("/") and kiosk.screen == "welcome"
        assert signed_out(page, live)
    finally:
        page.close()
