"""The whole kiosk: the real server (gunicorn, SQLite), the real kiosk client and chromium clicking through."""

from __future__ import annotations

import json
import time

import cv2
import numpy as np
import pytest

from kiosk_client.api import KioskApi
from tests.kiosk.browser import (
    SIZES,
    check_in,
    layout_problems,
    shot,
    type_citizen_id,
    wait_screen,
    wait_spoken,
)
from tests.kiosk.media import (
    ENROLLED_PHOTO,
    FACES_DIR,
    OTHER_PERSON_PHOTO,
    SECOND_ENROLLED_PHOTO,
    TURN_BOTH_WAYS,
    needs_faces,
    write_video,
)
from tests.kiosk.servers import ExamServer, KioskProcess
from tests.qr import read_qr

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
    context = browser.new_context(viewport=SIZES["square-1280x1024"], locale="zh-CN")
    opened = context.new_page()
    opened.goto(kiosk.url)
    opened.wait_for_selector("#start")
    yield opened
    context.close()


def api_of(server) -> KioskApi:
    return KioskApi(server.url, server.token_file.read_text().strip())


def answer_question(page, index: int, letters: str) -> int:
    """Wait for question index+1 on screen, choose its letters (several for a multiple choice); return its number."""
    page.wait_for_function("n => document.querySelector('#progress-text b')?.textContent === n", arg=str(index + 1))
    item_no = int(page.locator(f'.option[data-letter="{letters[0]}"]').get_attribute("data-item"))
    for letter in letters:
        page.locator(f'.option[data-letter="{letter}"]').click()
        page.wait_for_selector(f'.option.chosen[data-letter="{letter}"]')
    return item_no


def wait_until(condition, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while not (value := condition()):
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.3)
    return value


@pytest.fixture()
def again(server):
    """Let the first worker sit the plan again after each visit (the test reuses one enrolled face)."""
    yield server.citizen_ids[0]
    server.sql(
        "UPDATE exam_requirement SET status = 'pending', attempts = 0, passed_at = NULL "
        "WHERE worker_id = (SELECT id FROM worker WHERE citizen_id = ?)",
        (server.citizen_ids[0],),
    )


def fits(page, what: str) -> None:
    problems = layout_problems(page)
    assert not problems, f"{what}: {problems}"


@pytest.mark.parametrize("size", list(SIZES))
def test_a_whole_visit_at_every_screen_size(server, kiosk, browser, again, size):
    """Consent, keypad, spoken challenge, exam, capture notice, submission, result with QR code and review."""
    context = browser.new_context(viewport=SIZES[size], locale="zh-CN")
    page = context.new_page()
    page.goto(kiosk.url)
    page.wait_for_selector("#start")
    shots = f"visit-{size}"
    try:
        shot(page, f"{shots}-00-welcome")
        fits(page, "welcome")
        state = check_in(page, kiosk, again, screens_dir=shots)
        assert state["screen"] == "exam", state
        consent = server.sql("SELECT retention_days, sitting_id FROM face_consent ORDER BY id DESC LIMIT 1")[0]
        assert consent == (180, state["sitting"]["sitting_id"])
        total, sitting_id = state["sitting"]["total"], state["sitting"]["sitting_id"]
        items = json.loads(server.sql("SELECT paper FROM sitting WHERE id = ?", (sitting_id,))[0][0])["items"]
        # Every answer right but the first: a pass with one wrong answer to review.
        chosen = {}
        for number in range(total):
            item = items[number]
            right = item["answer"]
            letters = right if number else next(c for c in "ABCD"[: len(item["options"])] if c not in right)
            chosen[answer_question(page, number, letters)] = letters
            if number == 0:
                shot(page, f"{shots}-05-exam")
                fits(page, "exam")
            if number + 1 < total:
                page.click("#next")
        # A face re-check comes every 6-10 s on this plan: the light goes on and the notice follows.
        page.wait_for_selector("#notice:not([hidden])", timeout=40000)
        assert "拍了一张照片" in page.inner_text("#notice")
        shot(page, f"{shots}-06-capture-notice")
        wait_spoken(page, "capture.notice")
        page.click("#to-review")
        page.wait_for_selector(".grid")
        fits(page, "answer card")
        shot(page, f"{shots}-07-review")
        page.click("#submit")
        page.wait_for_selector("#confirm-submit")
        page.click("#confirm-submit")
        state = wait_screen(kiosk, {"result"}, timeout=60)
        page.wait_for_selector("#verdict")
        page.wait_for_function("() => document.querySelector('#qr')?.complete")
        shot(page, f"{shots}-08-result")
        fits(page, "result")
        result = state["result"]
        assert result["passed"] and page.inner_text("#verdict") == "恭喜您，考试合格"
        assert f"{result['score']:g}分" in page.inner_text(
            "#score"
        ) and f"{result['pass_mark']:g}分及格" in page.inner_text("#mark")
        assert result["certificate"]["issued_on"] in page.inner_text("#issued-on")
        assert page.inner_text("#issued-on").startswith("发证日期")
        # The QR code on screen reads back as the certificate's verification address.
        qr = cv2.imdecode(np.frombuffer(page.locator("#qr").screenshot(), np.uint8), cv2.IMREAD_COLOR)
        decoded = read_qr(cv2.copyMakeBorder(qr, 40, 40, 40, 40, cv2.BORDER_CONSTANT, value=(255, 255, 255)))
        assert decoded == result["certificate"]["verify_url"]
        wrong = page.locator("#wrong-answers > li")
        assert wrong.count() == 1 and wrong.first.get_attribute("data-item") == str(items[0]["number"])
        assert f"正确答案：{'、'.join(items[0]['answer'])}" in wrong.first.inner_text()
        if items[0]["basis"]:
            assert items[0]["basis"] in wrong.first.inner_text()
        graded = api_of(server).sitting(sitting_id)
        assert graded["status"] == "submitted" and graded["result"]["score"] == result["score"]
        assert {int(k): v for k, v in graded["answers"].items()} == chosen
        checks = server.sql(
            "SELECT decision FROM face_check WHERE sitting_id = ? AND lower(kind) = 'in_exam'", (sitting_id,)
        )
        assert checks, "no face re-check reached the server during the exam"
        page.click("#done")
        page.wait_for_selector("#start")
    finally:
        context.close()


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
    shot(page, "12-refusal-face-mismatch-square-1280x1024")
    fits(page, "face mismatch")
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
    shot(page, "13-refusal-worker-not-found-square-1280x1024")
    fits(page, "worker not found")


def test_sound_off_and_larger_text_are_one_touch_away(server, browser, turning_video, tmp_path):
    """The voice plays at the configured --volume, 声音关 silences it at once and after, 大字 enlarges the text."""
    process = KioskProcess(tmp_path, server, turning_video)
    process.options = ("--volume", "35")
    process.start()
    context = browser.new_context(viewport=SIZES["landscape-1366x768"], locale="zh-CN")
    page = context.new_page()
    try:
        page.goto(process.url)
        page.wait_for_selector("#start")
        page.wait_for_function("() => window.kioskVoice.played.length > 0", timeout=20000)
        assert page.evaluate("() => voice.audio.volume") == pytest.approx(0.35)
        # 大字: the root and every sentence grow, high contrast.
        before = page.evaluate("() => [getComputedStyle(document.documentElement).fontSize, $('h1').offsetHeight]")
        page.click("#large")
        page.wait_for_function("() => document.documentElement.classList.contains('large')")
        after = page.evaluate("() => [getComputedStyle(document.documentElement).fontSize, $('h1').offsetHeight]")
        assert float(after[0][:-2]) >= 1.15 * float(before[0][:-2]) and after[1] > before[1], (before, after)
        assert process.state()["prefs"]["large"] is True
        shot(page, "14-welcome-large-landscape-1366x768")
        fits(page, "welcome in large text")
        # 声音关 in the middle of the welcome (said again on a reload): the sentence stops, the next screen is silent.
        page.reload()
        page.wait_for_function("() => voice.current && !voice.audio.paused && voice.audio.currentTime > 0.2")
        page.click("#mute")
        page.wait_for_selector("#mute[aria-pressed='true']")
        page.wait_for_function("() => voice.audio.paused && voice.current === null", timeout=1000)
        played = page.evaluate("() => window.kioskVoice.played.length")
        page.click("#start")
        page.wait_for_selector("#accept")
        time.sleep(3)
        assert page.evaluate("() => window.kioskVoice.played.length") == played
        # 声音开 again: the next screen is said (so the silence above was the mute, not a broken voice).
        page.click("#mute")
        page.wait_for_selector("#mute[aria-pressed='false']")
        page.click("#decline")
        page.wait_for_selector("#refusal")
        page.wait_for_function(
            "n => window.kioskVoice.played.length > n && Math.abs(voice.audio.volume - 0.35) < 1e-6",
            arg=played,
            timeout=20000,
        )
    finally:
        context.close()
        process.stop()


@pytest.fixture(scope="module")
def scenes(tmp_path_factory):
    """Camera videos of an empty scene and of two people, as a kiosk films them."""
    folder = tmp_path_factory.mktemp("scenes")
    wall = folder / "wall.avi"
    writer = cv2.VideoWriter(str(wall), cv2.VideoWriter_fourcc(*"MJPG"), 10, (640, 480))
    for n in range(10):
        writer.write(np.full((480, 640, 3), 110 + n, np.uint8))
    writer.release()
    two = folder / "two.avi"
    writer = cv2.VideoWriter(str(two), cv2.VideoWriter_fourcc(*"MJPG"), 10, (640, 480))
    frame = cv2.resize(cv2.imread(str(FACES_DIR / "multi/two_people.jpg")), (640, 376))
    frame = cv2.copyMakeBorder(frame, 52, 52, 0, 0, cv2.BORDER_REPLICATE)
    for _ in range(10):
        writer.write(frame)
    writer.release()
    return {"no_face": wall, "many_faces": two}


@pytest.mark.parametrize(
    "scene, words, size",
    [("no_face", "请站到摄像头前", "landscape-1366x768"), ("many_faces", "只能一个人", "portrait-1080x1920")],
)
def test_nobody_or_two_people_in_view_are_told_what_to_do(server, browser, scenes, tmp_path, scene, words, size):
    process = KioskProcess(tmp_path, server, scenes[scene]).start()
    context = browser.new_context(viewport=SIZES[size], locale="zh-CN")
    page = context.new_page()
    try:
        page.goto(process.url)
        page.wait_for_selector("#start")
        type_citizen_id(page, server.citizen_ids[1])
        page.click("#confirm-id")
        wait_screen(process, {"guidance"})
        page.wait_for_selector(f"#hint[data-code='{scene}']", timeout=20000)
        assert words in page.inner_text("#hint") and page.locator("#ready").is_disabled()
        hint = process.state()["lines"]["hint"]["key"]
        wait_spoken(page, hint, timeout=20)
        shot(page, f"guidance-{scene}-{size}")
        fits(page, "guidance")
    finally:
        context.close()
        process.stop()
