"""A face pool that is busy turns check-in bursts away at once (503 face_busy) and loses nothing; captures wait."""

from __future__ import annotations

from datetime import UTC

from sqlalchemy import func, select

from exam_server.api.admission import face_queue
from exam_server.models import CheckIn, FaceCheck
from tests.api.conftest import CONSENT, frame, open_sitting
from tests.api.test_visit import IMMEDIATE, _burst, capture


def test_a_busy_pool_refuses_the_burst_unread_and_takes_it_when_free(
    app, db, enrolled, kiosk, turn_only, faces_dir, monkeypatch
):
    created = kiosk.post(
        "/api/v1/checkins", json={"citizen_id": enrolled.worker.citizen_id, "consent": CONSENT}
    ).get_json()
    queue = face_queue(app)
    monkeypatch.setattr(queue, "max_wait", -1.0)  # every refusable request would wait too long
    form = {"checkin_token": created["checkin_token"], "frames": _burst(faces_dir)}
    busy = kiosk.post(f"/api/v1/checkins/{created['checkin_id']}/frames", data=form, content_type="multipart/form-data")
    assert busy.status_code == 503
    body = busy.get_json()
    assert body["error"] == "face_busy" and "自动重试" in body["message"]
    assert body["retry_after"] == 5 and busy.headers["Retry-After"] == "5"
    # Nothing was analysed or counted against the worker.
    assert db.session.scalar(select(func.count()).select_from(FaceCheck)) == 0
    assert db.session.get(CheckIn, created["checkin_id"]).failures == 0

    monkeypatch.setattr(queue, "max_wait", 20.0)
    again = kiosk.post(
        f"/api/v1/checkins/{created['checkin_id']}/frames",
        data={"checkin_token": created["checkin_token"], "frames": _burst(faces_dir)},
        content_type="multipart/form-data",
    )
    assert again.status_code == 200, again.get_json()
    assert again.get_json()["sitting"]["id"]


def test_a_capture_is_never_turned_away(app, db, enrolled, kiosk, faces_dir, monkeypatch):
    enrolled.plan.face_policy = IMMEDIATE
    db.session.commit()
    sitting = open_sitting(db, enrolled, kiosk.id)
    monkeypatch.setattr(face_queue(app), "max_wait", -1.0)
    _, response = capture(kiosk, sitting.id, frame(faces_dir, "single/obama/obama2.jpg"))
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["decision"] in ("match", "retry")


def test_the_queue_is_sized_from_the_settings(app):
    queue = face_queue(app)
    assert queue.max_wait == app.config["ANALYSIS_MAX_WAIT_SECONDS"] == 20.0
    assert queue.concurrency == app.config["ANALYSIS_CONCURRENCY"] == 1


def test_a_request_waiting_its_turn_holds_no_database_connection(
    app, db, enrolled, kiosk, turn_only, faces_dir, monkeypatch
):
    queue = face_queue(app)
    real_turn = queue.turn
    seen = []

    def spying_turn(frames, kind="", since=None):
        seen.append((frames, kind, since, db.session().in_transaction()))
        return real_turn(frames, kind, since)

    monkeypatch.setattr(queue, "turn", spying_turn)
    created = kiosk.post(
        "/api/v1/checkins", json={"citizen_id": enrolled.worker.citizen_id, "consent": CONSENT}
    ).get_json()
    passed = kiosk.post(
        f"/api/v1/checkins/{created['checkin_id']}/frames",
        data={"checkin_token": created["checkin_token"], "frames": _burst(faces_dir)},
        content_type="multipart/form-data",
    )
    assert passed.status_code == 200, passed.get_json()
    # Weighed as a burst of that many frames, placed by its check-in's age, no transaction open.
    began = db.session.get(CheckIn, created["checkin_id"]).created_at.replace(tzinfo=UTC).timestamp()
    sent = len(_burst(faces_dir))
    assert seen == [(sent, f"frames:{sent}", began, False)]


def test_the_upload_is_read_before_a_busy_reply(app, db, enrolled, kiosk, turn_only, faces_dir, monkeypatch):
    """gunicorn breaks the connection of a kiosk answered while still uploading (8 of 200 bursts in a load run)."""
    from flask import request

    queue = face_queue(app)
    monkeypatch.setattr(queue, "max_wait", -1.0)
    real_admit, parsed = queue.admit, []

    def spying_admit(since=None):
        parsed.append("files" in request._get_current_object().__dict__)  # werkzeug caches the parsed form there
        return real_admit(since)

    monkeypatch.setattr(queue, "admit", spying_admit)
    created = kiosk.post(
        "/api/v1/checkins", json={"citizen_id": enrolled.worker.citizen_id, "consent": CONSENT}
    ).get_json()
    busy = kiosk.post(
        f"/api/v1/checkins/{created['checkin_id']}/frames",
        data={"checkin_token": created["checkin_token"], "frames": _burst(faces_dir)},
        content_type="multipart/form-data",
    )
    assert busy.status_code == 503 and parsed == [True]
