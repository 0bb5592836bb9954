"""The whole kiosk: the real server (gunicorn, SQLite), the real kiosk client and chromium clicking through."""
from __future__ import annotations

import time

import pytest

from kiosk_client.api import KioskApi
from tests.kiosk.browser import SCREEN, check_in, shot, wait_screen
from tests.kiosk.media import ENROLLED_PHOTO, OTHER_PERSON_PHOTO, TURN_BOTH_WAYS, needs_faces, write_video
from tests.kiosk.servers import ExamServer, KioskProcess

pytestmark = [needs_faces, pytest.mark.browser, pytest.mark.slow, pytest.mark.timeout(900)]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    exam_server = ExamServer(tmp_path_factory.mktemp("exam-server"))
    citizen_ids = exam_server.prepare({ENROLLED_PHOTO: 1, OTHER_PERSON_PHOTO: 2})
    exam_server.citizen_ids = citizen_ids
    exam_server.start()
    yield exam_server
    exam_server.stop()


@pytest.fixture(scope="module")
def turning_video(tmp_path_factory):
    return write_video(tmp_path_factory.mktemp("camera") / "turn.avi", TURN_BOTH_WAYS)


@pytest.fixture()
def kiosk(server, turning_video, tmp_path):
    process = KioskProcess(tmp_path, server, turning_video).start()
    yield process
    process.stop()


@pytest.fixture()
def page(browser, kiosk):
    context = browser.new_context(viewport=SCREEN, locale="zh-CN")
    opened = context.new_page()
    opened.goto(kiosk.url)
    opened.wait_for_selector("#start")
    yield opened
    context.close()


def api_of(server) -> KioskApi:
    return KioskApi(server.url, server.token_file.read_text().strip())


def answer_current(page, kiosk, letter: str = "A") -> int:
    """Answer the question on screen with one letter; return its item number."""
    state = kiosk.state()
    index = state["sitting"]["current"]
    page.wait_for_selector(f'#progress-text >> text="{index + 1}"')
    option = page.locator(f'.option[data-letter="{letter}"]')
    item_no = int(option.get_attribute("data-item"))
    option.click()
    page.wait_for_selector(f'.option.chosen[data-letter="{letter}"]')
    return item_no


def test_check_in_answer_every_question_and_submit(server, kiosk, page):
    shot(page, "01-welcome")
    state = check_in(page, kiosk, server.citizen_ids[ENROLLED_PHOTO], screens_dir="exam")
    assert state["screen"] == "exam", state
    page.wait_for_selector(".option")
    shot(page, "05-exam-question")
    total = state["sitting"]["total"]
    sitting_id = state["sitting"]["sitting_id"]
    started = time.monotonic()
    for number in range(total):
        answer_current(page, kiosk, "B" if number % 3 == 0 else "A")
        if number == 1:
            shot(page, "06-exam-answered")
        if number + 1 < total:
            page.click("#next")
    # Face re-checks come every 6-10 s on this plan: stay long enough to see them answered.
    while time.monotonic() - started < 25:
        time.sleep(1)
    page.click("#to-review")
    page.wait_for_selector(".grid")
    shot(page, "07-review")
    page.click("#submit")
    page.wait_for_selector("#confirm-submit")
    shot(page, "08-confirm-submit")
    page.click("#confirm-submit")
    state = wait_screen(kiosk, {"result"}, timeout=60)
    page.wait_for_selector("#verdict")
    shot(page, "09-result")

    graded = api_of(server).sitting(sitting_id)
    assert graded["status"] == "submitted"
    assert graded["result"]["score"] == state["result"]["score"]
    assert page.inner_text("#score").startswith(str(graded["result"]["score"]))
    assert len(graded["answers"]) == total
    checks = server.sql("SELECT decision FROM face_check WHERE sitting_id = ? AND kind IN ('in_exam', 'IN_EXAM')",
                        (sitting_id,))
    assert checks, "no face re-check reached the server during the exam"


def test_answers_given_while_the_server_is_down_are_stored_when_it_returns(server, kiosk, page):
    ...


def test_a_face_that_does_not_match_gets_the_refusal_screen(server, kiosk, page):
    ...
