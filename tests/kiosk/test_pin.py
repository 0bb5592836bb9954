"""The optional practice PIN on the result screen, after the exam: typed twice, the server's refusal said, declinable."""

from __future__ import annotations

import json
import time
from datetime import timedelta

import cv2
import numpy as np
import pytest
import requests

from kiosk_client.app import KioskApp
from kiosk_client.texts import PHRASES, lines, spoken_roles
from tests.kiosk.browser import SCREEN, layout_problems, shot, wait_spoken
from tests.qr import read_qr

PIN = "482915"
WORKER = {"name_masked": "张*"}
EXAM = {"name": "安全生产培训考试", "duration_minutes": 60, "question_count": 20, "resuming": False}


def wait_for(kiosk: KioskApp, screen: str, timeout: float = 20.0) -> dict:
    deadline = time.monotonic() + timeout
    while (state := kiosk.snapshot())["screen"] != screen:
        assert time.monotonic() < deadline, state
        time.sleep(0.05)
    return state


def citizen_id_of(live) -> str:
    from exam_server.extensions import db
    from exam_server.models import Sitting, Worker

    with live.server.app.app_context():
        return db.session.get_one(Worker, db.session.get_one(Sitting, live.sitting_id).worker_id).citizen_id


def start_exam(kiosk: KioskApp, live) -> None:
    """Put the kiosk on the live sitting's first question, as a passed burst leaves it (the face work is elsewhere)."""
    kiosk.checkin = {"worker": WORKER, "exam": EXAM}
    kiosk.begin_exam(kiosk.api.sitting(live.sitting_id))
    assert kiosk.screen == "exam" and kiosk.pin_visit is None  # nothing about a PIN before or during the exam
    with pytest.raises(ValueError):
        kiosk.act("pin_offer", {})
    kiosk.act("answer", {"item_no": 1, "response": "A"})


def finish_exam(kiosk: KioskApp) -> dict:
    """Submit from the answer card; return the result screen's state once the server graded the sitting."""
    kiosk.act("review", {})
    kiosk.act("submit", {})
    return wait_for(kiosk, "result")


def sit_exam(kiosk: KioskApp, live) -> dict:
    start_exam(kiosk, live)
    return finish_exam(kiosk)


def enter_pin(kiosk: KioskApp, first: str, again: str | None = None) -> dict:
    """Type a PIN on the keypad screen, then (unless refused at once) again; return the state that follows."""
    kiosk.act("pin", {"pin": first})
    if kiosk.screen == "pin_entry" and kiosk.data["phase"] == "again":
        kiosk.act("pin", {"pin": first if again is None else again})
    return kiosk.snapshot()


def open_keypad(kiosk: KioskApp) -> None:
    kiosk.act("pin_offer", {})
    kiosk.act("pin_start", {})


def signs_in(live, citizen_id: str, pin: str) -> bool:
    """Sign in on the worker's login page as a phone would (the live server runs without CSRF checks)."""
    response = requests.post(
        live.server.url + "/worker/login",
        data={"citizen_id": citizen_id, "pin": pin},
        allow_redirects=False,
        timeout=10,
    )
    return response.status_code == 302 and response.headers["Location"].endswith("/worker/")


def shift_submission(live, seconds: float) -> None:
    """Move the sitting's submission back in time (the server's window is counted from it)."""
    from exam_server.extensions import db
    from exam_server.models import Sitting

    with live.server.app.app_context():
        sitting = db.session.get_one(Sitting, live.sitting_id)
        sitting.submitted_at -= timedelta(seconds=seconds)
        db.session.commit()


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
    # Nothing says the exam's clock runs: the PIN is offered once the exam is over.
    assert not any("开始考试" in PHRASES[key] or "计时" in PHRASES[key] for key in PHRASES if key.startswith("pin."))
    result = {"passed": True, "score": 90, "max_score": 100, "pass_mark": 60, "pin_until": "2026-12-07T08:10:00Z"}
    offered = lines("result", {"result": result, "pin_offer": True})
    assert spoken_roles("result", offered)[-1] == "pin" and "pin" not in lines("result", {"result": result})


def test_the_result_offers_a_pin_typed_twice_that_signs_the_worker_in(screen, live):
    _, kiosk = screen
    citizen_id = citizen_id_of(live)
    state = sit_exam(kiosk, live)
    assert state["pin_offer"] is True and state["result"]["pin_until"] and state["say"][-1] == "pin"
    assert kiosk.exam is not None and kiosk.journal.get("sitting") is None  # the sitting is forgotten already
    open_keypad(kiosk)
    kiosk.act("pin", {"pin": PIN})
    state = kiosk.snapshot()
    assert state["screen"] == "pin_entry" and state["phase"] == "again"
    assert PIN not in json.dumps(state)  # the first PIN stays in the kiosk, never in what the screen reads
    kiosk.act("pin", {"pin": PIN})
    done = wait_for(kiosk, "pin_done")
    assert done["sign_in_url"].startswith("http") and done["sign_in_url"].endswith("/worker/login")
    assert done["lines"]["address"]["text"] == done["sign_in_url"] and kiosk.pin_visit is not None
    assert signs_in(live, citizen_id, PIN)
    kiosk.act("home", {})  # 完成
    assert kiosk.screen == "welcome" and kiosk.pin_visit is None and kiosk.exam is None


def test_the_offer_shows_a_one_time_sign_in_code_that_works_once(screen, live):
    server, kiosk = screen
    sit_exam(kiosk, live)
    kiosk.act("pin_offer", {})
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
    kiosk.act("home", {})  # 不用了
    assert kiosk.sign_in_url is None and requests.get(server.url + "qr.svg", timeout=5).status_code == 404


def test_two_different_pins_are_typed_again(screen, live):
    _, kiosk = screen
    sit_exam(kiosk, live)
    open_keypad(kiosk)
    state = enter_pin(kiosk, PIN, "730461")
    assert state["screen"] == "pin_entry" and state["phase"] == "first"
    assert state["lines"]["error"]["text"] == PHRASES["pin.mismatch"] and state["say"][0] == "error"
    state = enter_pin(kiosk, "12345")  # the screen sends six digits only; anything else is said so
    assert state["phase"] == "first" and state["lines"]["error"]["text"] == PHRASES["pin.short"]


def test_the_servers_reason_for_refusing_a_pin_is_shown_and_another_may_be_typed(screen, live):
    _, kiosk = screen
    citizen_id = citizen_id_of(live)
    sit_exam(kiosk, live)
    open_keypad(kiosk)
    enter_pin(kiosk, "123456")
    state = wait_for(kiosk, "pin_entry")
    assert state["phase"] == "first" and "太简单" in state["lines"]["error"]["text"] and state["say"][0] == "error"
    enter_pin(kiosk, PIN)
    wait_for(kiosk, "pin_done")
    assert signs_in(live, citizen_id, PIN) and not signs_in(live, citizen_id, "123456")


def test_declining_ends_the_visit_and_sets_nothing(screen, live):
    _, kiosk = screen
    citizen_id = citizen_id_of(live)
    sit_exam(kiosk, live)
    open_keypad(kiosk)
    kiosk.act("pin", {"pin": PIN})
    kiosk.act("home", {})  # 不用了 is on every PIN screen
    assert kiosk.screen == "welcome" and kiosk.pin_visit is None and kiosk.exam is None
    assert not signs_in(live, citizen_id, PIN)
    with pytest.raises(ValueError):
        kiosk.act("pin_start", {})  # no way back to the PIN once the visit ended


def test_a_server_out_of_reach_says_the_pin_was_not_set(screen, live):
    _, kiosk = screen
    sit_exam(kiosk, live)
    open_keypad(kiosk)
    kiosk.act("pin", {"pin": PIN})
    live.server.stop()
    try:
        kiosk.act("pin", {"pin": PIN})
        state = wait_for(kiosk, "pin_failed")
    finally:
        live.server.start()
    assert state["lines"]["message"]["text"] == PHRASES["pin.failed_unreachable"]
    assert "完成" in state["lines"]["say"]["text"]
    kiosk.act("home", {})
    assert kiosk.screen == "welcome"


def test_a_pin_after_the_window_is_refused_and_the_reason_said(screen, live):
    _, kiosk = screen
    sit_exam(kiosk, live)
    open_keypad(kiosk)
    shift_submission(live, 601)  # the worker stood at the result for more than ten minutes
    enter_pin(kiosk, PIN)
    state = wait_for(kiosk, "pin_failed")
    assert state["code"] == "pin_window_closed" and "时间已经过了" in state["lines"]["message"]["text"]
    assert state["say"] == ["title", "message", "say"]
    kiosk.act("home", {})
    assert kiosk.screen == "welcome"


def test_no_offer_when_the_server_would_refuse_it(screen, live):
    """A look-alike seen during the exam: the result says nothing of a PIN and has no button for it."""
    from exam_server.extensions import db
    from exam_server.models import ReviewCase, ReviewKind, Sitting

    _, kiosk = screen
    with live.server.app.app_context():
        worker_id = db.session.get_one(Sitting, live.sitting_id).worker_id
        db.session.add(
            ReviewCase(kind=ReviewKind.SEARCH_HIT, worker_id=worker_id, sitting_id=live.sitting_id, summary="疑似替考")
        )
        db.session.commit()
    state = sit_exam(kiosk, live)
    assert state["pin_offer"] is False and "pin" not in state["lines"] and kiosk.pin_visit is None
    with pytest.raises(ValueError):
        kiosk.act("pin_offer", {})


def test_an_exam_resumed_after_a_restart_offers_the_pin_after_it(screen, live):
    """The kiosk restarts mid-exam: the journal resumes the sitting, and its result offers the PIN as any other."""
    _, kiosk = screen
    citizen_id = citizen_id_of(live)
    start_exam(kiosk, live)
    kiosk.stop()
    again = KioskApp(kiosk.api, kiosk.filming, kiosk.journal, []).start()
    try:
        assert again.screen == "exam" and again.exam is not None and again.exam.id == live.sitting_id
        assert again.exam.answers.get(1) == "A"
        state = finish_exam(again)
        assert state["pin_offer"] is True
        open_keypad(again)
        enter_pin(again, PIN)
        wait_for(again, "pin_done")
        assert signs_in(live, citizen_id, PIN)
    finally:
        again.stop()


def test_a_late_copy_of_the_result_does_not_take_the_worker_out_of_the_pin_screens(screen, live):
    """A message about the sitting answered after its result (a capture refused as closed reads the result
    back) shows nothing new: the worker typing a PIN stays on the keypad (this once failed CI after a restart)."""
    _, kiosk = screen
    citizen_id = citizen_id_of(live)
    state = sit_exam(kiosk, live)
    assert state["pin_offer"] is True
    open_keypad(kiosk)
    assert kiosk.screen == "pin_entry"
    kiosk.show_result(state["result"])
    assert kiosk.screen == "pin_entry"
    enter_pin(kiosk, PIN)
    wait_for(kiosk, "pin_done")
    assert signs_in(live, citizen_id, PIN)


def type_pin_twice(page, pin: str, slip: bool = False) -> None:
    """Type a PIN on the touch keypad and again to confirm it; with a slip put right the first time."""
    for phase in ("first", "again"):
        page.wait_for_selector(f'.pin-entry[data-phase="{phase}"]')
        assert page.is_disabled("#pin-confirm")
        slipped = slip and phase == "first"
        for digit in pin[:5] + ("9" if slipped else pin[5]):
            page.click(f'button[data-pin="{digit}"]')
        if slipped:
            page.click('button[data-pin="⌫"]')
            page.click(f'button[data-pin="{pin[5]}"]')
        assert page.locator("#pinbox .filled").count() == 6 and page.inner_text("#pinbox").replace("\n", "") == "●" * 6
        page.click("#pin-confirm")


def submit_on_screen(page, kiosk: KioskApp, live) -> None:
    """Answer the first question and submit through the answer card on the touch screen; wait for the result."""
    start_exam(kiosk, live)
    page.wait_for_selector("#progress-text")
    page.click("#review")
    page.click("#submit")
    page.click("#confirm-submit")
    page.wait_for_selector("#verdict")


def read_qr_on(page) -> str:
    qr = cv2.imdecode(np.frombuffer(page.locator("#qr").screenshot(), np.uint8), cv2.IMREAD_COLOR)
    return read_qr(cv2.copyMakeBorder(qr, 40, 40, 40, 40, cv2.BORDER_CONSTANT, value=(255, 255, 255)))


@pytest.mark.browser
def test_a_worker_sets_a_pin_on_the_result_screen_and_signs_in_with_it(screen, live, browser):
    server, kiosk = screen
    citizen_id = citizen_id_of(live)
    page = browser.new_page(viewport=SCREEN)
    try:
        page.goto(server.url)
        page.wait_for_selector("#start")
        submit_on_screen(page, kiosk, live)
        page.wait_for_selector("#pin-offer")
        assert page.inner_text("#pin-note") == PHRASES["pin.result_offer"]
        wait_spoken(page, "pin.result_offer", timeout=60)  # after the result's own sentences
        assert layout_problems(page) == []
        shot(page, "pin-01-result-offer")
        page.click("#pin-offer")
        page.wait_for_selector("#pin-start")
        assert "考试已经交卷" in page.inner_text("main")
        wait_spoken(page, "pin.offer_title")
        assert layout_problems(page) == []
        shot(page, "pin-02-offer")
        page.click("#pin-start")
        page.wait_for_selector('.pin-entry[data-phase="first"]')
        wait_spoken(page, "pin.first_title")
        assert layout_problems(page) == []
        shot(page, "pin-03-entry")
        # Too simple: the server's reason is shown and said in plain words, and the worker types another.
        type_pin_twice(page, "123456")
        page.wait_for_function("() => document.querySelector('#pin-error')?.textContent.includes('太简单')")
        wait_spoken(page, kiosk.snapshot()["lines"]["error"]["key"])
        shot(page, "pin-04-refused")
        type_pin_twice(page, PIN, slip=True)
        page.wait_for_selector("#pin-finish")
        wait_spoken(page, "pin.done_how")
        url = page.inner_text("#sign-in-url")
        assert url.endswith("/worker/login")
        page.wait_for_function("() => document.querySelector('#qr').naturalWidth > 0")
        assert read_qr_on(page) == url == kiosk.data["sign_in_url"]
        assert layout_problems(page) == []
        shot(page, "pin-05-done")
        assert signs_in(live, citizen_id, PIN)
        page.click("#pin-finish")
        page.wait_for_selector("#start")
        assert kiosk.screen == "welcome" and kiosk.exam is None
    finally:
        page.close()


@pytest.mark.browser
def test_a_worker_who_wants_no_pin_scans_the_code_or_leaves(screen, live, browser):
    server, kiosk = screen
    citizen_id = citizen_id_of(live)
    page = browser.new_page(viewport=SCREEN)
    page.clock.install()  # the 45 s without a touch are fast-forwarded below
    try:
        page.goto(server.url)
        page.wait_for_selector("#start")
        submit_on_screen(page, kiosk, live)
        page.click("#pin-offer")
        page.wait_for_selector("#pin-skip")
        assert page.inner_text("#pin-skip") == "不用了"
        # The one-time sign-in QR code appears on the offer, said, and reads back as the server's address.
        page.wait_for_function("() => document.querySelector('#qr')?.naturalWidth > 0")
        wait_spoken(page, "pin.offer_qr", timeout=60)  # after the offer's sentences said before it came
        decoded = read_qr_on(page)
        assert decoded == kiosk.sign_in_url and "/worker/sign-in/" in decoded
        assert layout_problems(page) == []
        shot(page, "pin-06-offer-with-code")
        page.click("#pin-start")
        page.wait_for_selector('.pin-entry[data-phase="first"]')
        # The page clock keeps running in real time between the jumps: each check leaves seconds of margin to
        # the 45 s, which a loaded machine's clicks and sleeps eat (a 1 s margin once failed in CI).
        page.clock.fast_forward(30_000)
        page.click('button[data-pin="4"]')  # a touch starts the idle time again...
        page.clock.fast_forward(30_000)  # 60 s on the screen, 30 s since the touch
        time.sleep(0.5)
        assert kiosk.screen == "pin_entry"
        page.clock.fast_forward(16_000)  # ...and 45 s without one end the visit, as 不用了 does
        page.wait_for_selector("#start")
        assert kiosk.screen == "welcome" and kiosk.pin_visit is None and kiosk.sign_in_url is None
        assert not signs_in(live, citizen_id, PIN)
    finally:
        page.close()
