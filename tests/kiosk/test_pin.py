"""The optional sign-in PIN step after a passed face check: typed twice, the server's refusal shown, skippable."""

from __future__ import annotations

import hashlib
import json
import secrets
import time
from datetime import timedelta

import cv2
import numpy as np
import pytest
import requests

from kiosk_client.api import KioskApi
from kiosk_client.app import KioskApp
from kiosk_client.burst import Filming
from kiosk_client.camera import Camera, resolve
from kiosk_client.guidance import FaceGuide
from kiosk_client.journal import Journal
from kiosk_client.texts import PHRASES, lines, spoken_roles
from kiosk_client.voice import Voice
from kiosk_client.web.server import ScreenServer
from tests.kiosk.browser import SCREEN, layout_problems, shot, wait_spoken
from tests.qr import read_qr

PIN = "482915"
EXAM = {"name": "安全生产培训考试", "duration_minutes": 60, "question_count": 20, "resuming": False}


@pytest.fixture()
def screen(live, tmp_path):
    path = tmp_path / "grey.avi"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 15, (320, 240))
    for n in range(15):
        writer.write(np.full((240, 320, 3), 100 + n, np.uint8))
    writer.release()
    camera = Camera(resolve(str(path)), loop=True).start()
    journal = Journal(tmp_path / "journal.sqlite3")
    api = KioskApi(live.server.url, live.token)
    kiosk = KioskApp(api, Filming(camera, FaceGuide()), journal, [], voice=Voice(tmp_path / "voice")).start()
    server = ScreenServer(kiosk, "127.0.0.1", 0).start()
    yield server, kiosk
    server.stop()
    kiosk.stop()
    camera.stop()
    journal.close()


def passed_checkin(live, resuming: bool = False) -> tuple[dict, str]:
    """Record a check-in of the sitting's worker whose face check passed (the face work is tested elsewhere).

    Return the check-in as the kiosk holds it after POST /checkins, and the worker's citizen ID.
    """
    from exam_server.extensions import db
    from exam_server.models import CheckIn, CheckInStatus, Sitting, Worker, utcnow

    with live.server.app.app_context():
        sitting = db.session.get_one(Sitting, live.sitting_id)
        token, now = secrets.token_urlsafe(16), utcnow()
        checkin = CheckIn(
            worker_id=sitting.worker_id,
            plan_id=sitting.plan_id,
            kiosk_id=sitting.kiosk_id,
            challenge="blink",
            token_hash=hashlib.sha256(token.encode()).hexdigest(),
            status=CheckInStatus.PASSED,
            sitting_id=sitting.id,
            created_at=now,
            expires_at=now + timedelta(minutes=5),
        )
        db.session.add(checkin)
        db.session.commit()
        citizen_id = db.session.get_one(Worker, sitting.worker_id).citizen_id
        held = {
            "checkin_id": checkin.id,
            "checkin_token": token,
            "worker": {"name_masked": "张*"},
            "exam": {**EXAM, "resuming": resuming},
            "challenge": {"kind": "blink", "prompt": "请眨眼。", "frames": 8, "seconds": 2.5},
        }
        return held, citizen_id


def face_check_passes(kiosk: KioskApp, live, resuming: bool = False) -> str:
    """Put the kiosk where a passed burst leaves it; return the worker's citizen ID."""
    held, citizen_id = passed_checkin(live, resuming)
    kiosk.checkin = held
    kiosk.begin_exam(kiosk.api.sitting(live.sitting_id))
    return citizen_id


def wait_for(kiosk: KioskApp, screen: str, timeout: float = 20.0) -> dict:
    deadline = time.monotonic() + timeout
    while (state := kiosk.snapshot())["screen"] != screen:
        assert time.monotonic() < deadline, state
        time.sleep(0.05)
    return state


def signs_in(live, citizen_id: str, pin: str) -> bool:
    """Sign in on the worker's login page as a phone would (the live server runs without CSRF checks)."""
    response = requests.post(
        live.server.url + "/worker/login",
        data={"citizen_id": citizen_id, "pin": pin},
        allow_redirects=False,
        timeout=10,
    )
    return response.status_code == 302 and response.headers["Location"].endswith("/worker/")


def test_every_pin_screen_says_what_to_do_next():
    data = {
        "pin_offer": {},
        "pin_entry": {"phase": "first", "error": "mismatch"},
        "pin_saving": {},
        "pin_done": {"sign_in_url": "https://aq.example.cn/worker/login"},
        "pin_failed": {"message": ""},
    }
    for screen, values in data.items():
        found = lines(screen, values)
        roles = spoken_roles(screen, found)
        assert roles and roles[-1] == "say", (screen, roles)
        assert set(roles) <= set(found)
    done = lines("pin_done", data["pin_done"])
    assert "address" not in spoken_roles("pin_done", done)  # shown, not read out
    assert done["address"].text == "https://aq.example.cn/worker/login"
    assert lines("pin_entry", {"phase": "again"})["title"].text == PHRASES["pin.again_title"]
    assert "tip" not in lines("pin_entry", {"phase": "again"}) and "tip" in lines("pin_entry", {"phase": "first"})
    refused = lines(
        "pin_entry", {"phase": "first", "error": "server", "message": "密码太简单（如 111111、123456），请换一个。"}
    )
    assert refused["error"].text.startswith("密码太简单") and refused["error"].key.startswith("m-")
    assert lines("pin_failed", {"message": ""})["message"].text == PHRASES["pin.failed_unreachable"]


def test_a_pin_typed_twice_is_set_and_signs_the_worker_in(screen, live):
    _, kiosk = screen
    citizen_id = face_check_passes(kiosk, live)
    assert kiosk.screen == "pin_offer" and kiosk.exam is not None  # the sitting is in the journal already
    kiosk.act("pin_start", {})
    kiosk.act("pin", {"pin": PIN})
    state = kiosk.snapshot()
    assert state["screen"] == "pin_entry" and state["phase"] == "again"
    assert PIN not in json.dumps(state)  # the first PIN stays in the kiosk, never in what the screen reads
    kiosk.act("pin", {"pin": PIN})
    done = wait_for(kiosk, "pin_done")
    assert done["sign_in_url"].startswith("http") and done["sign_in_url"].endswith("/worker/login")
    assert done["lines"]["address"]["text"] == done["sign_in_url"] and kiosk.pin_visit is not None
    assert signs_in(live, citizen_id, PIN)
    kiosk.act("to_exam", {})
    assert kiosk.screen == "exam" and kiosk.pin_visit is None


def test_the_offer_shows_a_one_time_sign_in_code_that_works_once(screen, live):
    server, kiosk = screen
    face_check_passes(kiosk, live)
    deadline = time.monotonic() + 20
    while not (state := kiosk.snapshot()).get("code_qr"):
        assert time.monotonic() < deadline, state
        time.sleep(0.05)
    url = kiosk.sign_in_url
    assert url and "/worker/sign-in/" in url and "?" not in url
    assert url not in json.dumps(state) and state["say"] == ["title", "what", "qr", "note", "say"]
    picture = requests.get(server.url + "qr.svg", timeout=5)
    assert picture.status_code == 200 and picture.headers["Content-Type"] == "image/svg+xml"
    phone = requests.Session()
    assert "确认登录" in phone.get(url, timeout=10).text  # looking uses nothing
    signed = phone.post(url, allow_redirects=False, timeout=10)
    assert signed.status_code == 302 and signed.headers["Location"].endswith("/worker/")
    assert requests.post(url, allow_redirects=False, timeout=10).status_code == 404  # once only
    kiosk.act("to_exam", {})
    assert kiosk.sign_in_url is None and requests.get(server.url + "qr.svg", timeout=5).status_code == 404


def test_two_different_pins_are_typed_again(screen, live):
    _, kiosk = screen
    face_check_passes(kiosk, live)
    kiosk.act("pin_start", {})
    kiosk.act("pin", {"pin": PIN})
    kiosk.act("pin", {"pin": "730461"})
    state = kiosk.snapshot()
    assert state["screen"] == "pin_entry" and state["phase"] == "first"
    assert state["lines"]["error"]["text"] == PHRASES["pin.mismatch"] and state["say"][0] == "error"
    kiosk.act("pin", {"pin": "12345"})  # the screen sends six digits only; anything else is said so
    assert kiosk.snapshot()["lines"]["error"]["text"] == PHRASES["pin.short"]


def test_the_servers_reason_for_refusing_a_pin_is_shown_and_another_may_be_typed(screen, live):
    _, kiosk = screen
    citizen_id = face_check_passes(kiosk, live)
    kiosk.act("pin_start", {})
    kiosk.act("pin", {"pin": "123456"})
    kiosk.act("pin", {"pin": "123456"})
    state = wait_for(kiosk, "pin_entry")
    assert state["phase"] == "first" and "太简单" in state["lines"]["error"]["text"]
    kiosk.act("pin", {"pin": PIN})
    kiosk.act("pin", {"pin": PIN})
    wait_for(kiosk, "pin_done")
    assert signs_in(live, citizen_id, PIN) and not signs_in(live, citizen_id, "123456")


def test_skipping_goes_to_the_exam_and_sets_nothing(screen, live):
    _, kiosk = screen
    citizen_id = face_check_passes(kiosk, live)
    kiosk.act("pin_start", {})
    kiosk.act("pin", {"pin": PIN})
    kiosk.act("to_exam", {})  # the skip button is on every PIN screen
    assert kiosk.screen == "exam" and kiosk.pin_visit is None
    assert not signs_in(live, citizen_id, PIN)
    with pytest.raises(ValueError):
        kiosk.act("pin_start", {})  # no way back to the PIN once the exam is on screen


def test_a_resumed_sitting_goes_straight_back_to_the_exam(screen, live):
    _, kiosk = screen
    face_check_passes(kiosk, live, resuming=True)
    assert kiosk.screen == "exam" and kiosk.pin_visit is None


def test_a_server_out_of_reach_does_not_hold_the_exam_up(screen, live):
    _, kiosk = screen
    face_check_passes(kiosk, live)
    kiosk.act("pin_start", {})
    kiosk.act("pin", {"pin": PIN})
    live.server.stop()
    try:
        kiosk.act("pin", {"pin": PIN})
        state = wait_for(kiosk, "pin_failed")
    finally:
        live.server.start()
    assert state["lines"]["message"]["text"] == PHRASES["pin.failed_unreachable"]
    assert "开始考试" in state["lines"]["say"]["text"]
    kiosk.act("to_exam", {})
    assert kiosk.screen == "exam"


def test_an_expired_check_in_is_explained_and_the_exam_goes_on(screen, live):
    from exam_server.extensions import db
    from exam_server.models import CheckIn, utcnow

    _, kiosk = screen
    face_check_passes(kiosk, live)
    with live.server.app.app_context():
        checkin = db.session.get_one(CheckIn, kiosk.pin_visit["checkin_id"])
        checkin.expires_at = utcnow() - timedelta(hours=1)
        db.session.commit()
    kiosk.act("pin_start", {})
    kiosk.act("pin", {"pin": PIN})
    kiosk.act("pin", {"pin": PIN})
    state = wait_for(kiosk, "pin_failed")
    assert state["code"] == "checkin_expired" and state["lines"]["message"]["text"]
    kiosk.act("to_exam", {})
    assert kiosk.screen == "exam"


def type_pin(page, phase: str, pin: str, slip: bool = False) -> None:
    """Type a PIN on the keypad of the screen asking for it the first time or again; with a slip put right."""
    page.wait_for_selector(f'.pin-entry[data-phase="{phase}"]')
    assert page.is_disabled("#pin-confirm")
    for digit in pin[:5] + ("9" if slip else pin[5]):
        page.click(f'button[data-pin="{digit}"]')
    if slip:
        page.click('button[data-pin="⌫"]')
        page.click(f'button[data-pin="{pin[5]}"]')
    assert page.locator("#pinbox .filled").count() == 6 and page.inner_text("#pinbox").replace("\n", "") == "●" * 6
    page.click("#pin-confirm")


@pytest.mark.browser
def test_a_worker_sets_a_pin_on_the_touch_keypad_and_signs_in_with_it(screen, live, browser):
    server, kiosk = screen
    page = browser.new_page(viewport=SCREEN)
    try:
        page.goto(server.url)
        page.wait_for_selector("#start")
        citizen_id = face_check_passes(kiosk, live)
        page.wait_for_selector("#pin-start")
        assert PHRASES["pin.offer_title"] in page.inner_text("main h1")
        wait_spoken(page, "pin.offer_title")
        assert layout_problems(page) == []
        shot(page, "pin-01-offer")
        page.click("#pin-start")
        page.wait_for_selector('.pin-entry[data-phase="first"]')
        wait_spoken(page, "pin.first_title")
        assert layout_problems(page) == []
        shot(page, "pin-02-entry")
        # Too simple: the server's reason is shown and said in plain words, and the worker types another.
        type_pin(page, "first", "123456")
        type_pin(page, "again", "123456")
        page.wait_for_function("() => document.querySelector('#pin-error')?.textContent.includes('太简单')")
        wait_spoken(page, kiosk.snapshot()["lines"]["error"]["key"])
        shot(page, "pin-03-refused")
        type_pin(page, "first", PIN, slip=True)
        type_pin(page, "again", PIN)
        page.wait_for_selector("#pin-to-exam")
        wait_spoken(page, "pin.done_how")
        url = page.inner_text("#sign-in-url")
        assert url.endswith("/worker/login")
        page.wait_for_function("() => document.querySelector('#qr').naturalWidth > 0")
        assert layout_problems(page) == []
        shot(page, "pin-04-done")
        assert signs_in(live, citizen_id, PIN)
        page.click("#pin-to-exam")
        page.wait_for_selector("#progress-text")
        assert kiosk.screen == "exam"
    finally:
        page.close()


@pytest.mark.browser
def test_a_worker_who_skips_the_pin_goes_on_to_the_exam(screen, live, browser):
    server, kiosk = screen
    page = browser.new_page(viewport=SCREEN)
    try:
        page.goto(server.url)
        page.wait_for_selector("#start")
        citizen_id = face_check_passes(kiosk, live)
        page.wait_for_selector("#pin-skip")
        assert "不影响考试" in page.inner_text("main")
        # The one-time sign-in QR code appears on the offer, said, and reads back as the server's address.
        page.wait_for_function("() => document.querySelector('#qr')?.naturalWidth > 0")
        wait_spoken(page, "pin.offer_qr", timeout=60)  # after the offer's sentences said before it came
        qr = cv2.imdecode(np.frombuffer(page.locator("#qr").screenshot(), np.uint8), cv2.IMREAD_COLOR)
        decoded = read_qr(cv2.copyMakeBorder(qr, 40, 40, 40, 40, cv2.BORDER_CONSTANT, value=(255, 255, 255)))
        assert decoded == kiosk.sign_in_url and "/worker/sign-in/" in decoded
        assert layout_problems(page) == []
        shot(page, "pin-05-offer-with-code")
        page.click("#pin-skip")
        page.wait_for_selector("#progress-text")
        wait_spoken(page, "exam.say")
        assert kiosk.screen == "exam" and kiosk.pin_visit is None
        assert not signs_in(live, citizen_id, PIN)
    finally:
        page.close()
