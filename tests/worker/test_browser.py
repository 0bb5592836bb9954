"""In a real browser at phone size (390x844): a worker signs in with citizen ID and PIN, practises and takes a mock exam;
the enterprise manager then sees that practice in the console."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from exam_server.models import MockExam, PracticeAnswer, Role, User, Worker, utcnow
from exam_server.services.practice import drills, mock
from tests.certificates.conftest import ISSUED_AT, pass_exam, plan
from tests.console.browser import CHROMIUM, CHROMIUM_ARGS, log_in, shot
from tests.console_stats.conftest import add_requirement
from tests.worker.conftest import PIN, give_pin, open_plan

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


def _answer_on_page(served, worker_id: int, page, right: bool) -> None:
    """Choose the right answer, or a wrong one, to the question the page shows, and submit it."""
    from exam_server.extensions import db

    code, seed, mode = (page.input_value(f"input[name={name}]") for name in ("code", "seed", "mode"))
    with served.app.app_context():
        item = drills.shown_again(db.session, db.session.get(Worker, worker_id), code, int(seed), mode).item
    letters = "ABCDEF"[: len(item.options)]
    chosen = item.answer if right else next((c for c in letters if c not in item.answer), item.answer[0])
    if not right and chosen == item.answer:  # every option is right: choosing one of them is wrong
        chosen = item.answer[:1]
    for letter in chosen:
        page.check(f"input[name=choice][value={letter}]")
    page.click("button:has-text('提交答案')")
    page.wait_for_selector(".verdict")
    assert page.locator(".verdict").inner_text() == ("回答正确" if right else "回答错误")


def test_the_practice_journey_ends_on_the_managers_practice_page(served, phone):
    """Practise, get one wrong, clear it from the book, pass a short mock exam, see the certificate; the manager sees it."""
    from exam_server.extensions import db

    with served.app.app_context():
        session = db.session
        worker = session.scalars(select(Worker).order_by(Worker.id)).first()
        done = plan(session, "2026年度安全培训考试", ISSUED_AT - timedelta(days=30), ISSUED_AT + timedelta(days=30))
        certificate = pass_exam(session, add_requirement(session, worker, done))
        add_requirement(session, worker, open_plan(session))  # the mock follows this plan's short rules (8 items)
        give_pin(session, worker)
        manager = session.scalar(
            select(User).where(User.role == Role.ENTERPRISE, User.enterprise_id == worker.enterprise_id)
        )
        citizen_id, worker_id, number, username = worker.citizen_id, worker.id, certificate.number, manager.username

    phone.goto(f"{served.url}/worker/login")
    phone.fill("#citizen_id", citizen_id)
    phone.fill("#pin", PIN)
    phone.click("button[type=submit]")
    phone.click("ul.list li a >> nth=0")  # the first category
    phone.wait_for_selector("text=提交答案")
    _answer_on_page(served, worker_id, phone, right=False)

    phone.click("a:has-text('返回首页')")
    phone.click("a[href$='/worker/book']")
    phone.wait_for_selector("text=还需答对 2 次")
    _fits_the_screen(phone)
    shot(phone, "worker-7-book")
    phone.click("a:has-text('开始复习')")
    _answer_on_page(served, worker_id, phone, right=True)
    assert "再答对 1 次" in phone.locator(".next").inner_text()
    phone.click("a:has-text('下一道错题')")
    _answer_on_page(served, worker_id, phone, right=True)
    assert phone.locator("text=这道题已移出错题本").is_visible()
    phone.goto(f"{served.url}/worker/book")
    assert phone.locator("text=错题本是空的").is_visible()

    phone.goto(f"{served.url}/worker/mock")
    phone.click("button:has-text('开始模拟考试')")
    phone.wait_for_selector("#mock-timer:has-text('剩余时间')")
    with served.app.app_context():
        paper = mock.paper_of(db.session.scalars(select(MockExam)).one())
    assert len(paper.items) == 8
    for item in paper.items:
        for letter in item.answer:
            phone.check(f"input[name=item-{item.number}][value={letter}]")
    phone.click("button:has-text('交卷')")
    phone.wait_for_selector(".verdict")
    assert phone.locator(".verdict").inner_text() == "16 / 16 分，及格"

    phone.goto(f"{served.url}/worker/exams")
    assert phone.locator(f"text={number}").is_visible() and phone.locator("text=下载证书（PDF）").is_visible()
    _fits_the_screen(phone)
    shot(phone, "worker-8-certificates")

    console = phone.context.browser.new_context(viewport={"width": 1280, "height": 860}, locale="zh-CN").new_page()
    log_in(console, served.url, username)
    console.click("text=人员管理")
    console.click("a:has-text('练习情况')")
    row = console.locator(f"tr[data-worker='{worker_id}']")
    with served.app.app_context():
        answers = db.session.scalars(select(PracticeAnswer).where(PracticeAnswer.worker_id == worker_id)).all()
    assert len(answers) == 3 + 8 and sum(a.correct for a in answers) == 2 + 8
    questions = len({a.question_id for a in answers})
    cells = row.locator("td.num").all_inner_texts()
    assert cells == [str(questions), "11", "91%", "0", "1", "16 分"], cells
    assert "*" in row.locator("td.mono").inner_text() and citizen_id not in row.inner_text()
    shot(console, "console-practice")
