"""Every refusal a kiosk can get, produced by a real request, in the one documented JSON shape."""

from __future__ import annotations

import base64
import io
from datetime import timedelta

import cv2
import numpy as np
import pytest
from sqlalchemy import func, select, update

from exam_server.api.admission import face_queue
from exam_server.api.errors import CODES
from exam_server.models import (
    CaptureRequest,
    CheckIn,
    ExamRequirement,
    FaceCheck,
    RequirementStatus,
    ReviewCase,
    ReviewKind,
    ReviewStatus,
    Sitting,
    SittingStatus,
    utcnow,
)
from exam_server.services.exam import kiosks, sittings
from tests.api.conftest import CONSENT, frame, jpeg, open_sitting

SEEN: dict[str, dict] = {}


def refused(response, code: str) -> dict:
    """Assert the documented error shape and remember that this code was produced."""
    body = response.get_json()
    assert body is not None, response.get_data(as_text=True)[:300]
    assert body["error"] == code, body
    assert response.status_code == CODES[code][0], (response.status_code, body)
    assert isinstance(body["message"], str) and any("\u4e00" <= c <= "\u9fff" for c in body["message"]), body
    assert response.headers["Content-Type"].startswith("application/json")
    SEEN[code] = body
    return body


def _frames(images):
    return [(io.BytesIO(data), f"{n}.jpg") for n, data in enumerate(images)]


def _burst(kiosk, worker, images):
    created = kiosk.post("/api/v1/checkins", json={"citizen_id": worker.citizen_id, "consent": CONSENT}).get_json()
    return created, kiosk.post(
        f"/api/v1/checkins/{created['checkin_id']}/frames",
        content_type="multipart/form-data",
        data={"checkin_token": created["checkin_token"], "frames": _frames(images)},
    )


def test_request_and_kiosk_errors(app, db, client, exam, kiosk, make_kiosk):
    refused(client.get("/api/v1/ping"), "kiosk_unauthorized")
    assert client.get("/api/v1/ping").headers["WWW-Authenticate"].startswith("Bearer")
    refused(client.get(f"/api/v1/ping?token={kiosk.token}"), "kiosk_unauthorized")  # never from the query
    refused(kiosk.get("/api/v1/ping", headers={"Authorization": "Bearer wrong"}), "kiosk_unauthorized")
    other = make_kiosk("罗庄区考点")
    kiosks.set_enabled(db.session, db.session.get(kiosks.Kiosk, other.id), False)
    db.session.commit()
    refused(other.get("/api/v1/ping"), "kiosk_disabled")
    refused(kiosk.get("/api/v1/no-such-thing"), "not_found")
    refused(kiosk.client.delete("/api/v1/ping"), "method_not_allowed")
    body = refused(kiosk.post("/api/v1/checkins", data="{not json", content_type="application/json"), "invalid_request")
    assert body["field"] == "body"
    body = refused(
        kiosk.post("/api/v1/checkins", json={"citizen_id": exam.worker.citizen_id, "extra": 1}), "invalid_request"
    )
    assert body["field"] == "extra"
    body = refused(kiosk.post("/api/v1/checkins", json={"chip_photo": None}), "invalid_request")
    assert body["field"] == "citizen_id"
    body = refused(
        kiosk.post(
            "/api/v1/checkins", json={"citizen_id": exam.worker.citizen_id, "chip_photo": "***", "consent": CONSENT}
        ),
        "invalid_request",
    )
    assert body["field"] == "chip_photo"
    big = app.config["MAX_CONTENT_LENGTH"] + 1
    refused(kiosk.post("/api/v1/checkins", data=b"x" * big, content_type="application/json"), "payload_too_large")


def test_oversized_body_is_refused_before_it_is_read(app, kiosk):
    class Unreadable(io.RawIOBase):
        def read(self, *args):
            raise AssertionError("the body was read")

    environ = {"wsgi.input": Unreadable(), "CONTENT_LENGTH": str(app.config["MAX_CONTENT_LENGTH"] + 1)}
    response = kiosk.client.post(
        "/api/v1/checkins",
        environ_overrides=environ,
        content_type="application/json",
        headers={"Authorization": f"Bearer {kiosk.token}"},
    )
    refused(response, "payload_too_large")


def test_checkin_refusals(db, exam, kiosk, world, faces_dir):
    good = exam.worker.citizen_id
    wrong_check = good[:17] + ("0" if good[17] != "0" else "1")
    body = refused(kiosk.post("/api/v1/checkins", json={"citizen_id": wrong_check}), "invalid_citizen_id")
    assert "校验位" in body["message"]
    from exam_server.citizen_id import check_digit

    unknown = "11010119900307777"
    refused(kiosk.post("/api/v1/checkins", json={"citizen_id": unknown + check_digit(unknown)}), "worker_not_found")
    refused(kiosk.post("/api/v1/checkins", json={"citizen_id": world.workers_b[0].citizen_id}), "no_open_exam")
    refused(kiosk.post("/api/v1/checkins", json={"citizen_id": exam.worker.citizen_id}), "not_enrolled")
    requirement = db.session.get(ExamRequirement, exam.requirement.id)
    requirement.attempts = exam.plan.max_attempts
    db.session.commit()
    refused(kiosk.post("/api/v1/checkins", json={"citizen_id": exam.worker.citizen_id}), "no_attempts_left")
    requirement.status = RequirementStatus.PASSED
    db.session.commit()
    refused(kiosk.post("/api/v1/checkins", json={"citizen_id": exam.worker.citizen_id}), "already_passed")
    db.session.add(ReviewCase(kind=ReviewKind.CHECKIN_REFUSED, worker_id=exam.worker.id, summary="test"))
    db.session.commit()
    refused(kiosk.post("/api/v1/checkins", json={"citizen_id": exam.worker.citizen_id}), "checkin_refused")


def test_burst_refusals(app, db, enrolled, kiosk, turn_only, faces_dir, monkeypatch):
    worker = enrolled.worker
    # Each burst films the still photo anew (elsewhere in the picture): the same frames sent again are a replay.
    stills = [frame(faces_dir, "single/obama/obama1.jpg", filming=n) for n in range(1, 7)]
    still = stills[0]
    with monkeypatch.context() as busy_pool:
        busy_pool.setattr(face_queue(app), "max_wait", -1.0)
        created, response = _burst(kiosk, worker, [still] * 4)
        assert refused(response, "face_busy")["retry_after"] >= 1
    response = kiosk.post(
        f"/api/v1/checkins/{created['checkin_id']}/frames",
        content_type="multipart/form-data",
        data={"checkin_token": created["checkin_token"], "frames": _frames([still] * 4)},
    )
    body = refused(response, "liveness_failed")
    assert body["reason"] == "liveness_static" and body["attempts_left"] == 2  # the busy reply cost no attempt
    assert body["challenge"]["kind"] == "turn_left"
    refused(
        kiosk.post(
            f"/api/v1/checkins/{created['checkin_id']}/frames",
            content_type="multipart/form-data",
            data={"checkin_token": "wrong", "frames": _frames([still] * 4)},
        ),
        "checkin_not_found",
    )
    body = refused(
        kiosk.post(
            f"/api/v1/checkins/{created['checkin_id']}/frames",
            content_type="multipart/form-data",
            data={"checkin_token": created["checkin_token"], "frames": _frames([still] * 2)},
        ),
        "invalid_request",
    )
    assert body["field"] == "frames"

    grey = jpeg(np.full((480, 640, 3), 128, np.uint8))
    cases = {
        "not_an_image": [b"\xff\xd8\xff\xe0 not really a jpeg"] * 3 + [still],
        "no_face": [still, grey, still[:-1] + b"\xd9", still],
        "too_dark": [still, jpeg(np.zeros((480, 640, 3), np.uint8)), grey, still],
        "overexposed": [still, jpeg(np.full((480, 640, 3), 255, np.uint8)), grey, still],
        "multiple_faces": [still, frame(faces_dir, "multi/two_people.jpg"), grey, still],
    }
    for n, (code, images) in enumerate(cases.items(), start=1):
        images = [stills[n] if image is still else image for image in images]
        body = refused(_burst(kiosk, worker, images)[1], code)
        assert body["attempts_left"] == 3, body  # image problems are not counted against the worker
    # The first burst's frames re-encoded and sent in a new check-in: a replay, counted like a failed liveness.
    body = refused(
        _burst(kiosk, worker, [frame(faces_dir, "single/obama/obama1.jpg", quality=70)] * 4)[1], "replayed_frames"
    )
    assert body["attempts_left"] == 2 and body["challenge"]["kind"] == "turn_left"

    biden = [
        frame(faces_dir, "single/biden/biden1.jpg"),
        frame(faces_dir, "single/biden/biden2.jpg"),
        frame(faces_dir, "single/biden/biden1.jpg", 500),
        frame(faces_dir, "single/biden/biden2.jpg", 500),
    ]
    created, response = _burst(kiosk, worker, biden)
    refused(response, "face_mismatch")
    for _ in range(2):
        response = kiosk.post(
            f"/api/v1/checkins/{created['checkin_id']}/frames",
            content_type="multipart/form-data",
            data={"checkin_token": created["checkin_token"], "frames": _frames(biden)},
        )
    refused(response, "checkin_refused")
    refused(kiosk.post("/api/v1/checkins", json={"citizen_id": worker.citizen_id}), "checkin_refused")

    db.session.execute(update(ReviewCase).values(status="dismissed"))
    db.session.commit()
    created = kiosk.post("/api/v1/checkins", json={"citizen_id": worker.citizen_id, "consent": CONSENT}).get_json()
    db.session.execute(
        update(CheckIn).where(CheckIn.id == created["checkin_id"]).values(expires_at=utcnow() - timedelta(seconds=1))
    )
    db.session.commit()
    refused(
        kiosk.post(
            f"/api/v1/checkins/{created['checkin_id']}/frames",
            content_type="multipart/form-data",
            data={"checkin_token": created["checkin_token"], "frames": _frames([still] * 4)},
        ),
        "checkin_expired",
    )


def test_chip_photo_refusals(db, enrolled, kiosk, faces_dir):
    from exam_server.services.faces import face_service

    with kiosk.client.application.app_context():
        chip = face_service.engine().id_card_photo((faces_dir / "single/obama/obama2.jpg").read_bytes())
    rgb = cv2.imdecode(np.frombuffer(chip, np.uint8), cv2.IMREAD_COLOR)
    for code, image in (
        ("too_blurry", cv2.GaussianBlur(rgb, (0, 0), 2)),
        ("face_too_small", cv2.resize(rgb, (50, 62))),
    ):
        encoded = base64.b64encode(cv2.imencode(".jpg", image)[1].tobytes()).decode()
        body = refused(
            kiosk.post(
                "/api/v1/checkins",
                json={"citizen_id": enrolled.worker.citizen_id, "chip_photo": encoded, "consent": CONSENT},
            ),
            code,
        )
        assert body["field"] == "chip_photo"


def test_sitting_refusals(app, db, exam, kiosk, make_kiosk, monkeypatch):
    exam.plan.face_policy = {"min_interval_seconds": 0, "max_interval_seconds": 0, "retry_after_seconds": 0}
    db.session.commit()
    sitting = open_sitting(db, exam, kiosk.id)
    url = f"/api/v1/sittings/{sitting.id}"
    refused(kiosk.get("/api/v1/sittings/2147483647"), "sitting_not_found")
    refused(make_kiosk("河东区考点").get(url), "sitting_elsewhere")
    refused(kiosk.put(f"{url}/answers/999", json={"response": "A", "idempotency_key": "k"}), "question_not_on_paper")
    body = refused(kiosk.put(f"{url}/answers/1", json={"response": "Z", "idempotency_key": "k"}), "invalid_request")
    assert body["field"] == "response"
    refused(
        kiosk.post(
            f"{url}/captures",
            content_type="multipart/form-data",
            data={"nonce": "made-up", "frame": (io.BytesIO(b"x"), "f.jpg")},
        ),
        "nonce_invalid",
    )
    nonce = kiosk.get(f"{url}/clock").get_json()["capture"]["nonce"]
    first = kiosk.post(
        f"{url}/captures",
        content_type="multipart/form-data",
        data={"nonce": nonce, "frame": (io.BytesIO(b"\xff\xd8\xff garbage"), "f.jpg")},
    )
    assert first.get_json()["decision"] == "retry", first.get_json()
    refused(
        kiosk.post(
            f"{url}/captures",
            content_type="multipart/form-data",
            data={"nonce": nonce, "frame": (io.BytesIO(b"x"), "f.jpg")},
        ),
        "nonce_used",
    )
    nonce = kiosk.get(f"{url}/clock").get_json()["capture"]["nonce"]
    db.session.execute(
        update(CaptureRequest)
        .where(CaptureRequest.sitting_id == sitting.id, CaptureRequest.used_at.is_(None))
        .values(expires_at=utcnow() - timedelta(seconds=1))
    )
    db.session.commit()
    refused(
        kiosk.post(
            f"{url}/captures",
            content_type="multipart/form-data",
            data={"nonce": nonce, "frame": (io.BytesIO(b"x"), "f.jpg")},
        ),
        "nonce_expired",
    )

    monkeypatch.setattr(sittings, "answers_of", lambda *a: 1 / 0)
    refused(kiosk.get(url), "internal_error")
    monkeypatch.undo()

    db.session.execute(update(Sitting).where(Sitting.id == sitting.id).values(status=SittingStatus.SUSPENDED))
    db.session.commit()
    refused(kiosk.put(f"{url}/answers/1", json={"response": "A", "idempotency_key": "k"}), "sitting_suspended")
    db.session.execute(update(Sitting).where(Sitting.id == sitting.id).values(status=SittingStatus.VOIDED))
    db.session.commit()
    refused(kiosk.post(f"{url}/submit", json={"idempotency_key": "k"}), "sitting_closed")


def test_consent_refusals(app, db, enrolled, kiosk, turn_only, faces_dir):
    """No frame of a visit is analysed before the worker's consent, given to the retention the server keeps."""
    worker = enrolled.worker
    burst = [frame(faces_dir, "single/obama/obama1.jpg")] * 4
    created = kiosk.post("/api/v1/checkins", json={"citizen_id": worker.citizen_id}).get_json()
    response = kiosk.post(
        f"/api/v1/checkins/{created['checkin_id']}/frames",
        content_type="multipart/form-data",
        data={"checkin_token": created["checkin_token"], "frames": _frames(burst)},
    )
    refused(response, "consent_required")
    assert db.session.scalar(select(func.count(FaceCheck.id))) == 0  # nothing was analysed or kept
    chip = base64.b64encode(burst[0]).decode()
    refused(
        kiosk.post("/api/v1/checkins", json={"citizen_id": worker.citizen_id, "chip_photo": chip}), "consent_required"
    )
    stale = {**CONSENT, "retention_days": app.config["EVIDENCE_RETENTION_DAYS"] + 30}
    body = refused(
        kiosk.post("/api/v1/checkins", json={"citizen_id": worker.citizen_id, "consent": stale}), "consent_outdated"
    )
    assert body["retention_days"] == app.config["EVIDENCE_RETENTION_DAYS"]
    assert str(app.config["EVIDENCE_RETENTION_DAYS"]) in body["message"]


def test_rate_limit_refusal(app, db, kiosk, monkeypatch):
    from exam_server.services.throttle import parse_limits

    monkeypatch.setitem(app.extensions["api_limits"], "kiosk", parse_limits("2 per minute"))
    assert [kiosk.get("/api/v1/ping").status_code for _ in range(2)] == [200, 200]
    response = kiosk.get("/api/v1/ping")
    body = refused(response, "rate_limited")
    assert body["retry_after"] == int(response.headers["Retry-After"]) > 0


def test_pin_and_picture_refusals(app, db, exam, kiosk):
    """A PIN only after the sitting, within its window, once, if no face check doubts it; never a guessable one.

    A picture only for a question that has one.
    """
    sitting = open_sitting(db, exam, kiosk.id)
    set_pin = lambda pin: kiosk.post(f"/api/v1/sittings/{sitting.id}/pin", json={"pin": pin})  # noqa: E731
    refused(set_pin("480715"), "sitting_not_submitted")
    refused(kiosk.get(f"/api/v1/sittings/{sitting.id}/items/1/image"), "question_has_no_image")
    # A look-alike seen during the exam: the case is open, so no PIN before a reviewer dismissed it.
    case = ReviewCase(kind=ReviewKind.SEARCH_HIT, worker_id=exam.worker.id, sitting_id=sitting.id, summary="疑似替考")
    db.session.add(case)
    db.session.commit()
    assert kiosk.post(f"/api/v1/sittings/{sitting.id}/submit", json={"idempotency_key": "pin"}).status_code == 200
    refused(set_pin("480715"), "face_not_confirmed")
    case.status = ReviewStatus.DISMISSED
    db.session.commit()
    assert refused(set_pin("123456"), "invalid_pin")["field"] == "pin"
    assert set_pin("480715").status_code == 200
    refused(set_pin("480716"), "pin_already_set")
    db.session.expire_all()  # submitted by the request, not in this session
    held = db.session.get_one(Sitting, sitting.id)
    held.submitted_at -= timedelta(seconds=app.config["PIN_WINDOW_SECONDS"] + 1)
    db.session.commit()
    refused(kiosk.post(f"/api/v1/sittings/{sitting.id}/sign-in-code"), "pin_window_closed")


def test_every_documented_code_was_produced():
    """Runs last in this module: each code of the table was seen above in its real context."""
    if len(SEEN) < 5:
        pytest.skip("run with the rest of the module")
    assert set(CODES) - set(SEEN) == set(), f"codes never produced: {sorted(set(CODES) - set(SEEN))}"
