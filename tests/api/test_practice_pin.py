"""The practice PIN after the exam: set at the kiosk where the sitting was just submitted, never on exam time."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select
from werkzeug.security import check_password_hash

from exam_server.models import (
    AuditLog,
    CheckIn,
    CheckInStatus,
    CheckKind,
    Decision,
    FaceCheck,
    ReviewCase,
    ReviewKind,
    ReviewStatus,
    Sitting,
    WorkerCredential,
    WorkerSignInCode,
    utcnow,
)
from exam_server.services.exam import kiosks, sittings
from tests.api.conftest import open_sitting

PIN = "482915"


def _submit(kiosk, sitting_id: int) -> dict:
    response = kiosk.post(f"/api/v1/sittings/{sitting_id}/submit", json={"idempotency_key": f"submit-{sitting_id}"})
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def _set_pin(kiosk, sitting_id: int, pin: str = PIN):
    return kiosk.post(f"/api/v1/sittings/{sitting_id}/pin", json={"pin": pin})


def _error(response) -> str:
    return response.get_json()["error"]


def _face_check(db, sitting: Sitting, decision: Decision, kind: CheckKind = CheckKind.IN_EXAM) -> None:
    db.session.add(
        FaceCheck(
            kind=kind,
            worker_id=sitting.worker_id,
            sitting_id=sitting.id,
            kiosk_id=sitting.kiosk_id,
            model_name="dlib",
            model_version="test",
            decision=decision,
        )
    )
    db.session.commit()


def test_the_pin_is_set_after_submitting_once_and_signs_the_worker_in(app, db, client, exam, kiosk):
    sitting = open_sitting(db, exam, kiosk.id)
    assert _error(_set_pin(kiosk, sitting.id)) == "sitting_not_submitted"  # never on exam time
    result = _submit(kiosk, sitting.id)
    db.session.expire_all()
    window = timedelta(seconds=app.config["PIN_WINDOW_SECONDS"])
    assert window == timedelta(minutes=10)
    assert result["pin_until"].startswith((sitting.submitted_at + window).isoformat()[:19])
    response = _set_pin(kiosk, sitting.id)
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["pin_set"] is True and body["sign_in_path"] == "/worker/login"
    assert body["sign_in_url"].startswith("http") and body["sign_in_url"].endswith("/worker/login")
    assert body["worker"]["name_masked"] != exam.worker.name
    credential = db.session.get(WorkerCredential, exam.worker.id)
    assert credential.pin_hash != PIN and check_password_hash(credential.pin_hash, PIN)
    assert db.session.get_one(CheckIn, credential.checkin_id).sitting_id == sitting.id
    logged = db.session.scalar(select(AuditLog).where(AuditLog.action == "worker_pin_set"))
    assert logged is not None and logged.kiosk_id == kiosk.id and logged.detail["sitting_id"] == sitting.id
    # Once per sitting: the result read again offers it no more, and a second PIN is refused.
    assert kiosk.get(f"/api/v1/sittings/{sitting.id}").get_json()["result"]["pin_until"] is None
    again = _set_pin(kiosk, sitting.id, "730461")
    assert again.status_code == 409 and _error(again) == "pin_already_set"
    signed = client.post("/worker/login", data={"citizen_id": exam.worker.citizen_id, "pin": PIN})
    assert signed.status_code == 302 and signed.headers["Location"].endswith("/worker/")


@pytest.mark.parametrize(
    ("pin", "says"),
    [("12345", "6位数字"), ("12a456", "6位数字"), ("111111", "太简单"), ("123456", "太简单"), ("987654", "太简单")],
)
def test_a_bad_pin_is_refused_naming_the_problem(db, exam, kiosk, pin, says):
    sitting = open_sitting(db, exam, kiosk.id)
    _submit(kiosk, sitting.id)
    response = _set_pin(kiosk, sitting.id, pin)
    assert response.status_code == 422
    body = response.get_json()
    assert body["error"] == "invalid_pin" and body["field"] == "pin" and says in body["message"]
    assert db.session.get(WorkerCredential, exam.worker.id) is None
    assert _set_pin(kiosk, sitting.id).status_code == 200  # a refused PIN does not use the sitting's one


def test_a_pin_from_the_citizen_id_is_refused(db, exam, kiosk):
    sitting = open_sitting(db, exam, kiosk.id)
    _submit(kiosk, sitting.id)
    citizen_id = exam.worker.citizen_id
    for pin in (citizen_id[-6:], citizen_id[8:14]):
        if pin.isdigit() and len(set(pin)) > 1:
            body = _set_pin(kiosk, sitting.id, pin).get_json()
            assert body["error"] == "invalid_pin" and "身份证号" in body["message"]


def test_the_offer_ends_with_its_window(app, db, exam, kiosk, monkeypatch):
    monkeypatch.setitem(app.config, "PIN_WINDOW_SECONDS", 120)
    sitting = open_sitting(db, exam, kiosk.id)
    _submit(kiosk, sitting.id)
    db.session.expire_all()  # submitted by the request, not in this session
    sitting = db.session.get_one(Sitting, sitting.id)
    sitting.submitted_at -= timedelta(seconds=121)
    db.session.commit()
    assert kiosk.get(f"/api/v1/sittings/{sitting.id}").get_json()["result"]["pin_until"] is None
    late = _set_pin(kiosk, sitting.id)
    assert late.status_code == 410 and _error(late) == "pin_window_closed"
    assert _error(kiosk.post(f"/api/v1/sittings/{sitting.id}/sign-in-code")) == "pin_window_closed"
    assert db.session.get(WorkerCredential, exam.worker.id) is None
    sitting.submitted_at += timedelta(seconds=5)  # 116 s after submitting: still in time
    db.session.commit()
    assert _set_pin(kiosk, sitting.id).status_code == 200


def test_only_the_kiosk_that_ran_the_sitting_may_set_it(db, exam, kiosk, make_kiosk):
    sitting = open_sitting(db, exam, kiosk.id)
    _submit(kiosk, sitting.id)
    other = make_kiosk("兰山区考点2号机")
    assert _error(_set_pin(other, sitting.id)) == "sitting_elsewhere"
    assert _error(_set_pin(other, 987654)) == "sitting_not_found"
    assert _error(kiosk.post(f"/api/v1/sittings/{sitting.id}/pin", json={"pin": PIN, "checkin_token": "x"})) == (
        "invalid_request"  # the check-in's token no longer has a part in it
    )
    assert db.session.get(WorkerCredential, exam.worker.id) is None


def test_a_sitting_resumed_at_another_kiosk_sets_it_there(db, exam, kiosk, make_kiosk):
    """The check-in that moved the sitting is the proof at the second kiosk; the first has none any more."""
    sitting = open_sitting(db, exam, kiosk.id)
    second = make_kiosk("兰山区考点2号机")
    now = utcnow()
    checkin = CheckIn(
        worker_id=exam.worker.id,
        plan_id=exam.plan.id,
        kiosk_id=second.id,
        challenge="blink",
        token_hash=kiosks.hash_token("resumed-checkin"),
        status=CheckInStatus.PASSED,
        created_at=now,
        expires_at=now + timedelta(minutes=5),
    )
    db.session.add(checkin)
    db.session.flush()
    sittings.resume(db.session, db.session.get_one(Sitting, sitting.id), checkin, second.id, now)
    checkin.sitting_id = sitting.id
    db.session.commit()
    assert _submit(second, sitting.id)["pin_until"] is not None
    assert _error(_set_pin(kiosk, sitting.id)) == "sitting_elsewhere"
    assert _set_pin(second, sitting.id).status_code == 200
    # A sitting moved here without a passed check-in at this kiosk (no proof at this screen) is refused.
    db.session.get_one(CheckIn, checkin.id).kiosk_id = kiosk.id
    db.session.get_one(WorkerCredential, exam.worker.id).checkin_id = None
    db.session.commit()
    assert _error(_set_pin(second, sitting.id)) == "face_not_confirmed"


def test_a_face_check_in_doubt_refuses_until_a_reviewer_clears_it(db, exam, kiosk):
    """A borderline entry check lets the worker sit but not set a PIN before the reviewer dismissed the case."""
    sitting = open_sitting(db, exam, kiosk.id)
    _face_check(db, sitting, Decision.REVIEW, CheckKind.CHECKIN)
    case = ReviewCase(
        kind=ReviewKind.BORDERLINE, worker_id=exam.worker.id, sitting_id=sitting.id, summary="人证核验距离处于审核区间"
    )
    db.session.add(case)
    db.session.commit()
    assert _submit(kiosk, sitting.id)["pin_until"] is None
    doubted = _set_pin(kiosk, sitting.id)
    assert doubted.status_code == 409 and _error(doubted) == "face_not_confirmed"
    assert _error(kiosk.post(f"/api/v1/sittings/{sitting.id}/sign-in-code")) == "face_not_confirmed"
    case.status = ReviewStatus.DISMISSED
    db.session.commit()
    assert kiosk.get(f"/api/v1/sittings/{sitting.id}").get_json()["result"]["pin_until"] is not None
    assert _set_pin(kiosk, sitting.id).status_code == 200


def test_the_last_in_exam_mismatch_refuses_and_a_later_match_clears_it(db, exam, kiosk):
    """Whoever sits at the screen after the exam is whom the last compared frame showed."""
    sitting = open_sitting(db, exam, kiosk.id)
    _face_check(db, sitting, Decision.MATCH)
    _face_check(db, sitting, Decision.MISMATCH)
    _face_check(db, sitting, Decision.REFUSED)  # no face in the frame: compares nothing
    assert _submit(kiosk, sitting.id)["pin_until"] is None
    assert _error(_set_pin(kiosk, sitting.id)) == "face_not_confirmed"
    _face_check(db, sitting, Decision.MATCH)
    assert _set_pin(kiosk, sitting.id).status_code == 200


def test_the_one_time_code_is_issued_after_submitting(db, exam, kiosk):
    sitting = open_sitting(db, exam, kiosk.id)
    assert _error(kiosk.post(f"/api/v1/sittings/{sitting.id}/sign-in-code")) == "sitting_not_submitted"
    _submit(kiosk, sitting.id)
    response = kiosk.post(f"/api/v1/sittings/{sitting.id}/sign-in-code")
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert "/worker/sign-in/" in body["sign_in_url"] and body["expires_at"]
    row = db.session.scalar(select(WorkerSignInCode).where(WorkerSignInCode.worker_id == exam.worker.id))
    assert row is not None and db.session.get_one(CheckIn, row.checkin_id).sitting_id == sitting.id


def test_the_check_in_routes_of_the_pin_are_gone(db, exam, kiosk):
    """The PIN was once set between the face check and the exam, on the exam's time: that door is closed."""
    for path in ("/api/v1/checkins/1/pin", "/api/v1/checkins/1/sign-in-code"):
        assert kiosk.post(path, json={"checkin_token": "x", "pin": PIN}).status_code == 404
