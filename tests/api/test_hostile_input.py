"""Issue 14, findings 2 and 8 on the kiosk API: control characters, deep JSON and a chunked oversize body get
the documented JSON refusal naming the field, never a 500 (PostgreSQL refused NUL inside the transaction)."""

from __future__ import annotations

import io

import pytest
from sqlalchemy import func, select

from exam_server.models import Answer
from tests.api.conftest import CONSENT, open_sitting
from tests.api.test_errors import refused
from tests.console.test_control_characters import statements


@pytest.mark.parametrize("key", ["k\x00ey", "\x01", "key\x7f", "line\nbreak"])
def test_an_answer_whose_idempotency_key_holds_a_control_character_is_refused(db, exam, kiosk, key):
    sitting = open_sitting(db, exam, kiosk.id)
    body = refused(
        kiosk.put(f"/api/v1/sittings/{sitting.id}/answers/1", json={"response": "A", "idempotency_key": key}),
        "invalid_request",
    )
    assert body["field"] == "idempotency_key" and "控制字符" in body["message"]
    assert db.session.scalar(select(func.count(Answer.id))) == 0
    refused(kiosk.post(f"/api/v1/sittings/{sitting.id}/submit", json={"idempotency_key": key}), "invalid_request")
    # The same answer with a clean key is saved: the sitting was not harmed.
    saved = kiosk.put(f"/api/v1/sittings/{sitting.id}/answers/1", json={"response": "A", "idempotency_key": "k1"})
    assert saved.status_code == 200, saved.get_json()


def test_a_citizen_id_with_a_nul_or_the_wrong_length_is_refused_before_any_query(db, exam, kiosk):
    good = exam.worker.citizen_id
    for citizen_id in (good[:9] + "\x00" + good[10:], good[:-1], good + "0", good[:17] + "\x00"):
        with statements(db) as sent:
            body = refused(kiosk.post("/api/v1/checkins", json={"citizen_id": citizen_id}), "invalid_citizen_id")
        assert body["field"] == "citizen_id"
        assert not any("worker" in statement.lower() for statement in sent), sent  # only the kiosk's own lookup


def test_consent_and_multipart_text_with_a_control_character_are_refused(db, exam, kiosk):
    consent = {**CONSENT, "notice_version": "v\x001"}
    body = refused(
        kiosk.post("/api/v1/checkins", json={"citizen_id": exam.worker.citizen_id, "consent": consent}),
        "invalid_request",
    )
    assert body["field"] == "consent.notice_version"
    body = refused(
        kiosk.post(
            "/api/v1/checkins/1/frames",
            content_type="multipart/form-data",
            data={"checkin_token": "to\x00ken", "frames": [(io.BytesIO(b"x"), f"{n}.jpg") for n in range(4)]},
        ),
        "invalid_request",
    )
    assert body["field"] == "checkin_token"
    sitting = open_sitting(db, exam, kiosk.id)
    body = refused(
        kiosk.post(
            f"/api/v1/sittings/{sitting.id}/captures",
            content_type="multipart/form-data",
            data={"nonce": "n\x7f", "frame": (io.BytesIO(b"x"), "f.jpg")},
        ),
        "invalid_request",
    )
    assert body["field"] == "nonce"


@pytest.mark.parametrize("depth", [1_000, 100_000])
def test_json_nested_too_deep_is_a_400(db, exam, kiosk, depth):
    sitting = open_sitting(db, exam, kiosk.id)
    deep = "[" * depth + "]" * depth
    body = refused(
        kiosk.put(f"/api/v1/sittings/{sitting.id}/answers/1", data=deep, content_type="application/json"),
        "invalid_request",
    )
    assert body["field"] == "body" and "嵌套" in body["message"]
    nested = f'{{"citizen_id": "{exam.worker.citizen_id}", "consent": {deep}}}'
    refused(kiosk.post("/api/v1/checkins", data=nested, content_type="application/json"), "invalid_request")


def _chunked(kiosk, url: str, body: bytes, content_type: str = "application/json"):
    """Send a body without Content-Length, as a chunked request reaches the app from gunicorn."""
    return kiosk.client.post(
        url,
        input_stream=io.BytesIO(body),
        content_type=content_type,
        headers={"Authorization": f"Bearer {kiosk.token}", "Transfer-Encoding": "chunked"},
        environ_overrides={"wsgi.input_terminated": True},
    )


def test_an_oversized_chunked_body_is_a_413(app, db, exam, kiosk):
    limit = app.config["MAX_CONTENT_LENGTH"]
    padding = "x" * limit
    body = f'{{"citizen_id": "{exam.worker.citizen_id}", "chip_photo": "{padding}"}}'.encode()
    response = _chunked(kiosk, "/api/v1/checkins", body)
    assert response.request.content_length is None  # werkzeug reads no length beside "chunked"
    refused(response, "payload_too_large")
    # A chunked body within the limit is read whole and answered as if it had come with its length.
    small = f'{{"citizen_id": "{exam.worker.citizen_id}"}}'.encode()
    refused(_chunked(kiosk, "/api/v1/checkins", small), "not_enrolled")
