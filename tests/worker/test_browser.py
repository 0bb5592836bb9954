"""In a real browser at phone size (390x844): a worker signs in with citizen ID and PIN and practises a question."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from exam_server.models import MockExam, PracticeAnswer, Worker, utcnow
from tests.console.browser import CHROMIUM, CHROMIUM_ARGS, shot
from tests.worker.conftest import PIN, give_pin

pytestmark = pytest.mark.browser
PHONE = {"width": 390, "height": 844}


@pytest.fixture()
def phone():
    if not CHROMIUM.exists():
        pytest.skip("Debian chromium not installed at /usr/bin/chromium (apt-get install -y chromium)")
    playwright_api = pytest.importorskip("playwright.sync_api", reason="pip install playwright")
    with playwright_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        context = browser.new_context(viewport=PHONE, locale="zh-CN", is_mobile=True, has_touch=True)
        yield context.new_page()
        browser.close()


def _fits_the_screen(page) -> None:
    width = page.evaluate("() => document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"the page is {width} px wide on a {PHONE['width']} px phone"


def test_a_worker_signs_in_with_a_pin_and_practises_a_question(served, phone):
    from exam_server.extensions import db

    with served.app.app_context():
        worker = db.session.scalars(select(Worker).order_by(Worker.id)).first()
        give_pin(db.session, worker)
        citizen_id, name, worker_id = worker.citizen_id, worker.name, worker.id

    phone.goto(f"{served.url}/worker/")
    phone.wait_for_selector("text=从业人员登录")
    _fits_the_screen(phone)
    phone.fill("#citizen_id", citizen_id)
    phone.fill("#pin", PIN)
    shot(phone, "worker-1-sign-in")
    phone.click("button[type=submit]")
    phone.wait_for_selector(f"text={name}，您好")
    assert phone.locator(".next").first.inner_text().startswith("下一步")
    _fits_the_screen(phone)
    shot(phone, "worker-2-home")

    phone.click("ul.list li a >> nth=0")
    phone.wait_for_selector("text=提交答案")
    _fits_the_screen(phone)
    shot(phone, "worker-3-question")
    phone.click("label.option >> nth=0")
    phone.click("button:has-text('提交答案')")
    phone.wait_for_selector(".verdict")
    verdict = phone.locator(".verdict").inner_text()
    assert verdict in ("回答正确", "回答错误")
    assert phone.locator("text=正确答案").count() == 1 and phone.locator(".basis").inner_text().startswith("依据")
    assert phone.locator("a:has-text('下一题')").is_visible()
    _fits_the_screen(phone)
    shot(phone, "worker-4-feedback")

    with served.app.app_context():
        stored = db.session.scalars(select(PracticeAnswer).where(PracticeAnswer.worker_id == worker_id)).one()
        assert stored.correct is (verdict == "回答正确")


def test_the_mock_exam_counts_down_and_hands_itself_in_at_zero(served, phone):
    from exam_server.extensions import db

    with served.app.app_context():
        worker = db.session.scalars(select(Worker).order_by(Worker.id)).first()
        give_pin(db.session, worker)
        citizen_id = worker.citizen_id

    phone.goto(f"{served.url}/worker/login")
    phone.fill("#citizen_id", citizen_id)
    phone.fill("#pin", PIN)
    phone.click("button[type=submit]")
    phone.click("text=模拟考试（按考试规则计时）")
    phone.wait_for_selector("text=不算考试次数")
    phone.click("button:has-text('开始模拟考试')")
    phone.wait_for_selector("#mock-timer:has-text('剩余时间')")
    assert "59 分" in phone.locator("#mock-timer").inner_text() or "60 分" in phone.locator("#mock-timer").inner_text()
    _fits_the_screen(phone)
    shot(phone, "worker-5-mock")
    phone.click("label.option >> nth=0")
    with served.app.app_context():
        row = db.session.scalars(select(MockExam)).one()
        row.deadline_at = utcnow() + timedelta(seconds=3)  # the time runs out while the page is open
        db.session.commit()
    phone.reload()
    phone.click("label.option >> nth=0")
    phone.wait_for_selector(".verdict", timeout=15_000)
    assert "不算考试次数" in phone.content()
    shot(phone, "worker-6-mock-result")
    with served.app.app_context():
        row = db.session.scalars(select(MockExam)).one()
        assert row.submitted_at is not None and row.late is False and row.responses == {"1": row.responses["1"]}
