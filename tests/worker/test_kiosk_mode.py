"""A kiosk's practice visit (/worker/kiosk): only back to the kiosk's loopback UI, a sign-out that leaves nothing."""

from __future__ import annotations

import re

import pytest

from exam_server.security import CONTENT_SECURITY_POLICY
from tests.worker.conftest import PIN, give_pin

BACK = "http://127.0.0.1:8765/"
END = "结束练习，返回考试终端"


def enter(client, back: str = BACK):
    return client.get("/worker/kiosk", query_string={"back": back})


@pytest.mark.parametrize(
    "back",
    [
        "https://evil.example/",
        "http://evil.example:8765/",
        "http://127.0.0.1/",  # no port: the kiosk UI always has its own
        "http://localhost/",
        "https://127.0.0.1:8765/",
        "http://127.0.0.1:8765/next",
        "http://127.0.0.1:8765/?token=abc",
        "http://127.0.0.1:8765/#x",
        "http://127.0.0.1:8765",
        "http://127.0.0.1:0/",
        "http://127.0.0.1:70000/",
        "http://127.0.0.1:8765@evil.example/",
        "http://127.0.0.2:8765/",
        "//127.0.0.1:8765/",
        "http://127.0.0.1:8765/\n",
        "",
    ],
)
def test_only_the_kiosks_loopback_ui_is_a_way_back(db, client, back):
    assert enter(client, back).status_code == 400
    page = client.get("/worker/login").get_data(as_text=True)
    assert END not in page and "worker_kiosk.js" not in page
    with client.session_transaction() as cookie:
        assert "worker_kiosk" not in cookie


@pytest.mark.parametrize("back", [BACK, "http://localhost:8080/"])
def test_the_kiosk_mode_shows_the_way_back_on_every_page(db, world, bank, client, back):
    worker = world.workers_a[0]
    give_pin(db.session, worker)
    entered = enter(client, back)
    assert entered.status_code == 302 and entered.headers["Location"].endswith("/worker/login")
    login = client.get("/worker/login")
    origin = back.rstrip("/")
    assert f"form-action 'self' {origin};" in login.headers["Content-Security-Policy"]
    assert END in login.get_data(as_text=True) and "worker_kiosk.js" in login.get_data(as_text=True)
    assert client.post("/worker/login", data={"citizen_id": worker.citizen_id, "pin": PIN}).status_code == 302
    for path in ("/worker/", "/worker/practice", "/worker/book", "/worker/exams", "/worker/mock"):
        page = client.get(path).get_data(as_text=True)
        assert END in page and 'data-idle-seconds="120"' in page, path
        assert ">退出<" not in page, path  # the plain sign-out would leave the kiosk mode behind


def test_the_phone_pages_are_unchanged(db, world, bank, sign_in):
    worker = world.workers_a[0]
    give_pin(db.session, worker)
    client = sign_in(worker)
    for path in ("/worker/login", "/worker/", "/worker/practice", "/worker/exams"):
        response = client.get(path)
        page = response.get_data(as_text=True)
        assert END not in page and "worker_kiosk.js" not in page, path
        assert response.headers["Content-Security-Policy"] == CONTENT_SECURITY_POLICY, path
    assert ">退出<" in client.get("/worker/").get_data(as_text=True)


def test_ending_the_visit_signs_out_and_leaves_nothing(db, world, bank, client):
    worker = world.workers_a[0]
    give_pin(db.session, worker)
    enter(client)
    client.post("/worker/login", data={"citizen_id": worker.citizen_id, "pin": PIN})
    assert client.get("/worker/").status_code == 200
    ended = client.post("/worker/kiosk/end")
    assert ended.status_code == 302 and ended.headers["Location"] == BACK
    with client.session_transaction() as cookie:
        assert dict(cookie) == {}
    again = client.get("/worker/")
    assert again.status_code == 302 and again.headers["Location"].endswith("/worker/login")
    assert END not in client.get("/worker/login").get_data(as_text=True)
    # Outside a visit the same POST is a plain sign-out back to the sign-in page, never to another address.
    outside = client.post("/worker/kiosk/end")
    assert outside.status_code == 302 and outside.headers["Location"].endswith("/worker/login")


def test_ending_the_visit_needs_the_csrf_token(app, db, world, bank, strict_client):
    worker = world.workers_a[0]
    give_pin(db.session, worker)
    client = strict_client
    enter(client)
    page = client.get("/worker/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    signed = client.post("/worker/login", data={"citizen_id": worker.citizen_id, "pin": PIN, "csrf_token": token})
    assert signed.status_code == 302
    assert client.post("/worker/kiosk/end").status_code == 400  # another site cannot sign the worker out
    assert client.get("/worker/").status_code == 200
    page = client.get("/worker/").get_data(as_text=True)
    token = re.search(r'id="kiosk-end"[^>]*>\s*<input type="hidden" name="csrf_token" value="([^"]+)"', page).group(1)
    ended = client.post("/worker/kiosk/end", data={"csrf_token": token})
    assert ended.status_code == 302 and ended.headers["Location"] == BACK
    assert client.get("/worker/").status_code == 302
