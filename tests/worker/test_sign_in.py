"""Worker sign-in without SMS: a PIN set at a kiosk (tests/api/test_practice_pin.py), throttled like the console."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from exam_server.models import RateLimitCounter
from tests.worker.conftest import PIN, give_pin


def test_sign_in_and_out(db, world, client):
    worker = world.workers_a[0]
    give_pin(db.session, worker)
    assert client.get("/worker/").status_code == 302
    page = client.get("/worker/login").get_data(as_text=True)
    assert "身份证号" in page and "交卷后" in page
    wrong = client.post("/worker/login", data={"citizen_id": worker.citizen_id, "pin": "000001"})
    assert wrong.status_code == 200 and "不正确" in wrong.get_data(as_text=True)
    right = client.post("/worker/login", data={"citizen_id": worker.citizen_id.lower(), "pin": PIN})
    assert right.status_code == 302
    assert client.get("/worker/").status_code == 200
    client.post("/worker/logout")
    assert client.get("/worker/").status_code == 302


def test_a_new_pin_ends_the_sessions_of_the_old_one(db, world, sign_in):
    worker = world.workers_a[0]
    give_pin(db.session, worker)
    client = sign_in(worker)
    assert client.get("/worker/").status_code == 200
    give_pin(db.session, worker, "590327")  # a lost PIN is reset the same way
    assert client.get("/worker/").status_code == 302
    sign_in(worker, "590327")
    with pytest.raises(AssertionError):
        sign_in(worker, PIN)


def test_failed_sign_ins_are_throttled_like_the_console_login(app, db, world, client):
    worker = world.workers_a[0]
    give_pin(db.session, worker)
    app.extensions["throttle"].storage.reset()
    statuses = [
        client.post("/worker/login", data={"citizen_id": worker.citizen_id, "pin": "000001"}).status_code
        for _ in range(6)
    ]
    assert statuses[:5] == [200] * 5 and statuses[5] == 429
    refused = client.post("/worker/login", data={"citizen_id": worker.citizen_id, "pin": PIN})
    assert refused.status_code == 429 and "Retry-After" in refused.headers
    keys = db.session.scalars(select(RateLimitCounter.key)).all()
    assert keys and not any(worker.citizen_id in key for key in keys)  # counted, but no citizen ID is kept
    app.extensions["throttle"].storage.reset()


def test_an_inactive_worker_cannot_sign_in_and_is_signed_out(db, world, sign_in):
    worker = world.workers_a[0]
    give_pin(db.session, worker)
    client = sign_in(worker)
    worker.active = False
    db.session.commit()
    assert client.get("/worker/").status_code == 302
    response = client.post("/worker/login", data={"citizen_id": worker.citizen_id, "pin": PIN})
    assert response.status_code == 200


def test_forms_need_the_csrf_token(app, db, world, bank, strict_client):
    worker = world.workers_a[0]
    give_pin(db.session, worker)
    client = strict_client
    refused = client.post("/worker/login", data={"citizen_id": worker.citizen_id, "pin": PIN})
    assert refused.status_code in (200, 400) and "/worker/" not in refused.headers.get("Location", "")
    page = client.get("/worker/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    signed = client.post("/worker/login", data={"citizen_id": worker.citizen_id, "pin": PIN, "csrf_token": token})
    assert signed.status_code == 302 and signed.headers["Location"].endswith("/worker/")
    assert client.post("/worker/logout").status_code == 400  # no token: another site cannot sign the worker out
    assert client.get("/worker/").status_code == 200
    # A practice answer is read without WTForms: CSRFProtect alone refuses it without the question page's token.
    category = re.search(r'href="/worker/practice/question\?category=([^"]+)"', client.get("/worker/practice").text)
    question = client.get("/worker/practice/question?category=" + category.group(1)).text
    fields = dict(re.findall(r'<input type="hidden" name="(code|seed|mode|key)" value="([^"]*)"', question))
    choice = re.search(r'name="choice" value="([A-F])"', question).group(1)
    assert client.post("/worker/practice/answer", data={**fields, "choice": choice}).status_code == 400
    token = re.search(r'<input id="csrf_token" name="csrf_token" type="hidden" value="([^"]+)">', question).group(1)
    answered = client.post("/worker/practice/answer", data={**fields, "choice": choice, "csrf_token": token})
    assert answered.status_code == 200 and 'class="verdict' in answered.text


@pytest.mark.parametrize("typed", ["abc", "", "1" * 18, "37130219900101123X" * 3])
def test_a_malformed_citizen_id_is_a_wrong_sign_in_not_an_error(db, world, client, typed):
    response = client.post("/worker/login", data={"citizen_id": typed, "pin": PIN})
    assert response.status_code == 200
    assert client.get("/worker/").status_code == 302
