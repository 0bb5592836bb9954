"""The local screen server: loopback only, same-host requests only, and the flow's first screens."""

from __future__ import annotations

import time

import pytest
import requests

from kiosk_client.web.server import NotLoopback, check_loopback


@pytest.mark.parametrize("host", ["0.0.0.0", "192.168.1.20", "::", "example.org", ""])
def test_only_loopback_addresses_may_serve_the_screen(host):
    with pytest.raises(NotLoopback):
        check_loopback(host)
    check_loopback("127.0.0.1")
    check_loopback("::1")


def post(server, name, body=None):
    return requests.post(server.url + f"api/action/{name}", json=body or {}, timeout=5)


def wait_screen(server, name, timeout=20.0) -> dict:
    deadline = time.monotonic() + timeout
    while (state := requests.get(server.url + "api/state", timeout=5).json())["screen"] != name:
        assert time.monotonic() < deadline, state
        time.sleep(0.1)
    return state


def begin_visit(server) -> dict:
    """Press start and accept the consent notice; return the state of the ID screen."""
    post(server, "start")
    notice = wait_screen(server, "consent")
    assert notice["retention_days"] == 180 and "180天" in notice["lines"]["keep"]["text"]
    return post(server, "consent", {"accepted": True}).json()


def test_requests_naming_another_host_are_refused(screen):
    server, _ = screen
    assert requests.get(server.url, timeout=5).status_code == 200
    assert (
        requests.get(server.url + "api/state", headers={"Host": f"evil.example:{server.port}"}, timeout=5).status_code
        == 403
    )
    # A form post from another page (no JSON) cannot press a button.
    assert requests.post(server.url + "api/action/start", data={"a": "b"}, timeout=5).status_code == 415


def test_the_page_and_its_scripts_are_served_locally(screen):
    server, _ = screen
    page = requests.get(server.url, timeout=5)
    assert "安全生产培训考试" in page.text and "http" not in page.text.replace("http-equiv", "")
    for name in ("app.js", "icons.js", "style.css"):
        assert requests.get(server.url + f"static/{name}", timeout=5).status_code == 200
    assert "script-src" not in page.headers["Content-Security-Policy"]  # default-src 'self' covers it
    preview = requests.get(server.url + "preview.jpg", timeout=5)
    assert preview.headers["Content-Type"] == "image/jpeg" and preview.content[:2] == b"\xff\xd8"


def test_a_typo_in_the_id_is_caught_on_the_kiosk(screen):
    server, _ = screen
    assert begin_visit(server)["screen"] == "id_entry"
    state = post(server, "citizen_id", {"citizen_id": "110101199003070039"}).json()
    assert state["screen"] == "id_entry" and "不对" in state["error"]
    assert post(server, "ready").status_code == 409  # a button this screen does not have


def test_a_worker_without_a_photo_gets_the_servers_refusal(screen, live):
    server, _ = screen
    begin_visit(server)
    post(server, "citizen_id", {"citizen_id": live.unenrolled_citizen_id})
    state = wait_screen(server, "refusal")
    assert state["code"] == "not_enrolled" and state["title"] == "还没有登记照片" and "照片" in state["message"]
    assert post(server, "home").json()["screen"] == "welcome"


def test_a_kiosk_that_cannot_reach_the_server_says_so(screen, live):
    server, _ = screen
    begin_visit(server)
    live.server.stop()
    try:
        post(server, "citizen_id", {"citizen_id": live.unenrolled_citizen_id})
        state = wait_screen(server, "refusal")
    finally:
        live.server.start()
    assert state["code"] == "server_unreachable" and state["title"] == "网络不通"


def test_refusing_consent_ends_the_visit_politely_and_says_whom_to_ask(screen, live):
    server, kiosk = screen
    post(server, "start")
    wait_screen(server, "consent")
    state = post(server, "consent", {"accepted": False}).json()
    assert state["screen"] == "refusal" and state["code"] == "consent_declined"
    assert "安全管理员" in state["advice"] and kiosk.consent is None
    assert [state["lines"][r]["text"] for r in state["say"]] == [state["title"], state["message"], state["advice"]]
    assert post(server, "home").json()["screen"] == "welcome"


def test_a_card_presented_before_consent_waits_for_it(screen, live):
    """Nothing about the worker goes to the server before consent: the card is held, then checked in."""
    server, kiosk = screen
    kiosk.keypad.type_in(live.unenrolled_citizen_id)  # as a card reader on the welcome screen
    wait_screen(server, "consent")
    assert kiosk.pending_card is not None
    post(server, "consent", {"accepted": True})
    assert wait_screen(server, "refusal")["code"] == "not_enrolled"


def test_a_busy_face_pool_is_explained_on_screen(screen, browser):
    """While the kiosk waits to resend a burst, and when it gives up, the worker reads what happens next."""
    from kiosk_client.texts import refusal_view
    from tests.kiosk.browser import shot

    server, kiosk = screen
    page = browser.new_page(viewport={"width": 1280, "height": 800})
    try:
        kiosk.show("verifying", worker={"name_masked": "张*"}, queued=12)
        page.goto(server.url)
        note = page.locator("#queue-note")
        note.wait_for(timeout=10_000)
        assert "大约12秒后自动再核对一次" in note.inner_text() and "不用重新拍照" in note.inner_text()
        shot(page, "verifying_queued")
        kiosk.show(
            "retry",
            **refusal_view("face_busy", "核验人脸的人比较多，请站在原地稍等，系统会自动重试。"),
            attempts_left=None,
        )
        page.locator("#retry").wait_for(timeout=10_000)
        text = page.inner_text("body")
        assert "排队的人比较多" in text and "再试一次" in text
    finally:
        page.close()
