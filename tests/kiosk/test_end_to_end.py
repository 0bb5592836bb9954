"""The whole kiosk: the real server (gunicorn, SQLite), the real kiosk client and chromium clicking through."""

from __future__ import annotations

import time

import pytest

from kiosk_client.api import KioskApi
from tests.kiosk.browser import SCREEN, check_in, shot, type_citizen_id, wait_screen
from tests.kiosk.media import (
    ENROLLED_PHOTO,
    OTHER_PERSON_PHOTO,
    SECOND_ENROLLED_PHOTO,
    TURN_BOTH_WAYS,
    needs_faces,
    write_video,
)
from tests.kiosk.servers import ExamServer, KioskProcess

pytestmark = [needs_faces, pytest.mark.browser, pytest.mark.slow, pytest.mark.timeout(900)]
# A well-formed citizen ID (check digit right) that belongs to no worker.
UNKNOWN_CITIZEN_ID = "110101199003070038"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    exam_server = ExamServer(tmp_path_factory.mktemp("exam-server"))
    exam_server.citizen_ids = exam_server.prepare([ENROLLED_PHOTO, SECOND_ENROLLED_PHOTO, OTHER_PERSON_PHOTO])
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


def answer_question(page, index: int, letter: str) -> int:
    """Wait for question index+1 on screen, answer it with one letter; return its item number."""
    page.wait_for_function("n => document.querySelector('#progress-text b')?.textContent === n", arg=str(index + 1))
    option = page.locator(f'.option[data-letter="{letter}"]')
    item_no = int(option.get_attribute("data-item"))
    option.click()
    page.wait_for_selector(f'.option.chosen[data-letter="{letter}"]')
    return item_no


def wait_until(condition, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while not (value := condition()):
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.3)
    return value


def test_check_in_answer_every_question_and_submit(server, kiosk, page):
    shot(page, "01-welcome")
    state = check_in(page, kiosk, server.citizen_ids[0], screens_dir="exam")
    assert state["screen"] == "exam", state
    page.wait_for_selector(".option")
    shot(page, "05-exam-question")
    total, sitting_id = state["sitting"]["total"], state["sitting"]["sitting_id"]
    started = time.monotonic()
    chosen = {}
    for number in range(total):
        letter = "B" if number % 3 == 0 else "A"
        chosen[answer_question(page, number, letter)] = letter
        if number == 1:
            shot(page, "06-exam-answered")
        if number + 1 < total:
            page.click("#next")
    assert len(chosen) == total
    # Face re-checks come every 6-10 s on this plan: stay long enough for some to be answered.
    time.sleep(max(0.0, 25 - (time.monotonic() - started)))
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
    assert graded["status"] == "submitted" and graded["result"]["score"] == state["result"]["score"]
    assert float(page.inner_text("#score").split()[0]) == graded["result"]["score"]
    assert {int(k): v for k, v in graded["answers"].items()} == chosen
    checks = server.sql(
        "SELECT decision FROM face_check WHERE sitting_id = ? AND lower(kind) = 'in_exam'", (sitting_id,)
    )
    assert checks, "no face re-check reached the server during the exam"


def test_answers_given_while_the_server_is_down_are_stored_when_it_returns(server, kiosk, page):
    state = check_in(page, kiosk, server.citizen_ids[1])
    assert state["screen"] == "exam", state
    sitting_id = state["sitting"]["sitting_id"]
    chosen = {answer_question(page, 0, "A"): "A"}
    server.stop()
    try:
        for index in range(1, 4):
            page.click("#next")
            chosen[answer_question(page, index, "B")] = "B"
        page.wait_for_selector("#net:not([hidden])", timeout=30000)
        page.wait_for_selector("#saved.offline")
        shot(page, "10-exam-offline")
        assert kiosk.state()["sitting"]["pending"] >= 3
        # The kiosk restarts mid-exam, still without the server: the journal brings the sitting back.
        kiosk.stop()
        kiosk.start()
        page.goto(kiosk.url)
        resumed = wait_screen(kiosk, {"exam"}, timeout=30)
        assert resumed["sitting"]["sitting_id"] == sitting_id
        assert {int(k): v for k, v in resumed["sitting"]["answers"].items()} == chosen
        page.wait_for_selector(".option.chosen")
        shot(page, "11-exam-resumed-offline")
    finally:
        server.start()
    wait_until(
        lambda: kiosk.state()["sitting"]["pending"] == 0 and kiosk.state()["online"], 90, "the journal to be delivered"
    )
    stored = api_of(server).sitting(sitting_id)["answers"]
    assert {int(k): v for k, v in stored.items()} == chosen
    page.wait_for_selector("#net[hidden]", state="attached")


def test_a_face_that_does_not_match_gets_the_refusal_screen(server, kiosk, page):
    state = check_in(page, kiosk, server.citizen_ids[2])
    assert state["screen"] == "retry" and state["code"] == "face_mismatch", state
    page.wait_for_selector("text=人脸没有对上")
    assert state["attempts_left"] >= 1
    shot(page, "12-refusal-face-mismatch")
    mismatches = server.sql(
        "SELECT count(*) FROM face_check c JOIN worker w ON w.id = c.worker_id "
        "WHERE w.citizen_id = ? AND lower(c.decision) = 'mismatch'",
        (server.citizen_ids[2],),
    )
    assert mismatches[0][0] >= 1
    # Back home, an ID that belongs to nobody gets the server's refusal, in words a worker understands.
    page.click("text=返回首页")
    page.wait_for_selector("#start")
    type_citizen_id(page, UNKNOWN_CITIZEN_ID)
    page.click("#confirm-id")
    refused = wait_screen(kiosk, {"refusal"})
    assert refused["code"] == "worker_not_found"
    page.wait_for_selector("#refusal[data-code='worker_not_found']")
    assert "没有找到您的信息" in page.inner_text("#refusal")
    shot(page, "13-refusal-worker-not-found")
