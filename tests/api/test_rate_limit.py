"""Issue 14, finding 9: a per-kiosk-token limit on /api/v1, unauthenticated requests held per address."""

from __future__ import annotations

import threading

import pytest
from werkzeug.serving import make_server

from exam_server.services.exam import kiosks
from kiosk_client.api import Busy, KioskApi


@pytest.fixture()
def limited_app(make_app):
    """An app on the test database allowing 5 requests a minute per token and 3 per address without one."""
    return make_app(QUEUE_URL="immediate", API_RATE_LIMIT="5 per minute", API_ANONYMOUS_RATE_LIMIT="3 per minute")


def register(db, name):
    _, token = kiosks.register(db.session, name)
    db.session.commit()
    return {"Authorization": f"Bearer {token}"}


def test_a_token_beyond_its_limit_gets_429_with_retry_after(limited_app, db):
    first, second = register(db, "一号机"), register(db, "二号机")
    client = limited_app.test_client()
    codes = [client.get("/api/v1/ping", headers=first).status_code for _ in range(6)]
    assert codes == [200] * 5 + [429]
    refused = client.get("/api/v1/ping", headers=first)
    body = refused.get_json()
    assert refused.status_code == 429 and body["error"] == "rate_limited" and "请求过于频繁" in body["message"]
    assert 0 < int(refused.headers["Retry-After"]) <= 60 and body["retry_after"] == int(refused.headers["Retry-After"])
    # Another kiosk's token has its own count.
    assert client.get("/api/v1/ping", headers=second).status_code == 200


def test_requests_without_a_valid_token_are_held_per_address(limited_app, db):
    client = limited_app.test_client()
    made_up = [{"Authorization": f"Bearer guess-{n}"} for n in range(3)]
    codes = [client.get("/api/v1/ping", headers=headers).status_code for headers in made_up]
    assert codes == [401, 401, 401]
    assert client.get("/api/v1/ping").status_code == 429  # a fresh made-up token or none: same address
    assert client.post("/api/v1/checkins", json={"citizen_id": "x"}).status_code == 429
    assert client.get("/api/v1/openapi.json").status_code == 429  # the public document too
    assert client.get("/api/v1/ping", headers=register(db, "一号机")).status_code == 200  # real kiosks are not


def test_the_document_names_the_429_and_its_header(limited_app):
    document = limited_app.test_client().get("/api/v1/openapi.json").get_json()
    for operations in document["paths"].values():
        for operation in operations.values():
            refused = operation["responses"]["429"]
            assert refused["content"]["application/json"]["schema"]["properties"]["error"]["enum"] == ["rate_limited"]
            assert refused["headers"]["Retry-After"]["schema"] == {"type": "integer"}


def test_the_kiosk_client_keeps_a_rate_limited_message_to_send_again(limited_app, db):
    headers = register(db, "一号机")
    server = make_server("127.0.0.1", 0, limited_app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        api = KioskApi(f"http://127.0.0.1:{server.server_port}", headers["Authorization"].split()[1])
        for _ in range(5):
            api.ping()
        with pytest.raises(Busy) as caught:  # Busy: nothing was done, the deliverer sends it again
            api.ping()
        assert 0 < caught.value.retry_after <= 60
    finally:
        server.shutdown()
        thread.join(5)
