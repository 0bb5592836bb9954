"""Answers, the server's clock, time-outs, resuming elsewhere, submission and the automatic sweep."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

from exam_server.models import (
    Answer,
    AuditLog,
    Certificate,
    CheckIn,
    CheckInStatus,
    ExamRequirement,
    RequirementStatus,
    Sitting,
    SittingStatus,
    utcnow,
)
from exam_server.services.exam import question_store, sittings
from exam_server.services.exam.refusals import Refusal
from tests.api.conftest import CONSENT, TURN_LEFT, correct_response, frame, open_sitting


def test_answers_are_idempotent_and_revised(db, exam, kiosk):
    sitting = open_sitting(db, exam, kiosk.id)
    url = f"/api/v1/sittings/{sitting.id}/answers/1"
    first = kiosk.put(url, json={"response": "a", "idempotency_key": "k1"}).get_json()
    assert first["response"] == "A" and first["revision"] == 1 and first["remaining_seconds"] > 0
    assert kiosk.put(url, json={"response": "A", "idempotency_key": "k1"}).get_json()["revision"] == 1
    assert kiosk.put(url, json={"response": "A", "idempotency_key": "k2"}).get_json()["revision"] == 1
    changed = kiosk.put(url, json={"response": "B", "idempotency_key": "k3"}).get_json()
    assert changed["response"] == "B" and changed["revision"] == 2
    assert kiosk.put(url, json={"response": "B", "idempotency_key": "k3"}).get_json()["revision"] == 2
    assert db.session.scalar(select(func.count(Answer.id)).where(Answer.sitting_id == sitting.id)) == 1
    multiple = next(i["number"] for i in sitting.paper["items"] if i["type"] == "multiple")
    saved = kiosk.put(
        f"/api/v1/sittings/{sitting.id}/answers/{multiple}", json={"response": "ca", "idempotency_key": "m"}
    ).get_json()
    assert saved["response"] == "AC"
    single_two = kiosk.put(url, json={"response": "AB", "idempotency_key": "x"}).get_json()
    assert single_two["error"] == "invalid_request" and single_two["field"] == "response"
    view = kiosk.get(f"/api/v1/sittings/{sitting.id}").get_json()
    assert view["answers"] == {"1": "B", str(multiple): "AC"}


def test_a_late_copy_of_an_old_answer_does_not_undo_a_newer_one(db, exam, kiosk):
    """A retried request's delayed original, arriving after the next answer, changes nothing."""
    sitting = open_sitting(db, exam, kiosk.id)
    url = f"/api/v1/sittings/{sitting.id}/answers/1"
    assert kiosk.put(url, json={"response": "A", "idempotency_key": "k1"}).get_json()["response"] == "A"
    assert kiosk.put(url, json={"response": "C", "idempotency_key": "k2"}).get_json()["response"] == "C"
    late = kiosk.put(url, json={"response": "A", "idempotency_key": "k1"})
    assert late.status_code == 200 and late.get_json()["response"] == "C" and late.get_json()["revision"] == 2
    # Back to an earlier choice under a new key is a new answer, and its late copy is again a no-op.
    assert kiosk.put(url, json={"response": "A", "idempotency_key": "k3"}).get_json()["response"] == "A"
    assert kiosk.put(url, json={"response": "C", "idempotency_key": "k2"}).get_json()["response"] == "A"
    other_item = kiosk.put(f"/api/v1/sittings/{sitting.id}/answers/2", json={"response": "B", "idempotency_key": "k1"})
    assert other_item.get_json()["response"] == "B"  # keys are per item: reusing one elsewhere loses nothing
    assert db.session.scalar(select(Answer.response).where(Answer.sitting_id == sitting.id, Answer.item_no == 1)) == "A"


def test_no_answer_after_the_time_is_up(db, exam, kiosk):
    start = utcnow()
    sitting = open_sitting(db, exam, kiosk.id, now=start)
    late = sitting.deadline_at + timedelta(seconds=1)
    sittings.save_answer(db.session, sitting, 1, "A", "k", sitting.deadline_at - timedelta(seconds=1))
    with pytest.raises(Refusal) as refused:
        sittings.save_answer(db.session, sitting, 2, "A", "k2", late)
    assert refused.value.code == "sitting_closed" and refused.value.keep
    db.session.commit()
    closed = db.session.get(Sitting, sitting.id)
    assert closed.status is SittingStatus.SUBMITTED and closed.auto_submitted
    assert closed.submitted_at == sitting.deadline_at
    assert sittings.remaining_seconds(closed, late) == 0


def test_the_clock_is_the_servers(db, exam, kiosk):
    sitting = open_sitting(db, exam, kiosk.id)
    clock = kiosk.get(f"/api/v1/sittings/{sitting.id}/clock").get_json()
    assert clock["status"] == "in_progress" and clock["capture"] is None  # the first check is 60-120 s away
    assert 29 * 60 <= clock["remaining_seconds"] <= 30 * 60
    assert clock["deadline_at"].endswith("Z") and clock["server_time"].endswith("Z")


def test_the_sweep_submits_overdue_sittings_once_and_expires_checkins(app, db, exam, kiosk):
    sitting = open_sitting(db, exam, kiosk.id)
    for item in sitting.paper["items"]:
        sittings.save_answer(
            db.session,
            sitting,
            item["number"],
            correct_response(sitting, item["number"]),
            f"k{item['number']}",
            utcnow(),
        )
    stale = CheckIn(
        worker_id=exam.worker.id,
        plan_id=exam.plan.id,
        kiosk_id=kiosk.id,
        challenge="blink",
        token_hash="f" * 64,
        created_at=utcnow(),
        expires_at=utcnow() - timedelta(seconds=1),
    )
    db.session.add(stale)
    db.session.commit()
    assert sittings.sweep(db.session, utcnow()) == {"submitted": 0, "checkins_expired": 1, "captures_missed": 0}
    later = sitting.deadline_at + timedelta(seconds=5)
    assert sittings.sweep(db.session, later)["submitted"] == 1
    assert sittings.sweep(db.session, later)["submitted"] == 0
    done = db.session.get(Sitting, sitting.id)
    assert done.status is SittingStatus.SUBMITTED and done.auto_submitted and done.passed
    assert db.session.get(ExamRequirement, exam.requirement.id).status is RequirementStatus.PASSED
    assert db.session.scalar(select(func.count(Certificate.id))) == 1
    assert db.session.get(CheckIn, stale.id).status is CheckInStatus.EXPIRED
    assert db.session.scalar(select(func.count(AuditLog.id)).where(AuditLog.action == "sitting_auto_submitted")) == 1
    result = kiosk.post(f"/api/v1/sittings/{sitting.id}/submit", json={"idempotency_key": "late"}).get_json()
    assert result["passed"] is True and result["certificate"]["number"].startswith("AQ")


def test_sweep_command(app, db, exam, kiosk):
    sitting = open_sitting(db, exam, kiosk.id, now=utcnow() - timedelta(hours=2))
    result = CliRunner().invoke(app.cli, ["sweep"], catch_exceptions=False)
    assert result.exit_code == 0 and "submitted 1" in result.output
    db.session.expire_all()
    assert db.session.get(Sitting, sitting.id).status is SittingStatus.SUBMITTED


def test_a_failed_sitting_leaves_an_attempt(db, exam, kiosk):
    sitting = open_sitting(db, exam, kiosk.id)
    result = kiosk.post(f"/api/v1/sittings/{sitting.id}/submit", json={"idempotency_key": "k"}).get_json()
    assert result["passed"] is False and result["score"] == 0 and result["certificate"] is None
    requirement = db.session.get(ExamRequirement, exam.requirement.id)
    db.session.refresh(requirement)
    assert requirement.status is RequirementStatus.FAILED and requirement.attempts == 1
    created = kiosk.post("/api/v1/checkins", json={"citizen_id": exam.worker.citizen_id, "consent": CONSENT}).get_json()
    assert created["error"] == "not_enrolled"  # attempts remain: the next refusal is about the face


def test_paper_is_drawn_at_check_in_not_on_autosave(db, exam, kiosk, monkeypatch):
    sitting = open_sitting(db, exam, kiosk.id)
    assert len(sitting.paper["items"]) == 8 and all("question_id" in i for i in sitting.paper["items"])

    def forbidden(*args, **kwargs):
        raise AssertionError("no paper assembly or face work on autosave and clock calls")

    import question_bank
    from exam_server.services.faces import face_service

    monkeypatch.setattr(question_bank, "assemble", forbidden)
    monkeypatch.setattr(question_store, "bank", forbidden)
    monkeypatch.setattr(face_service, "engine", forbidden)
    assert (
        kiosk.put(
            f"/api/v1/sittings/{sitting.id}/answers/1", json={"response": "A", "idempotency_key": "k"}
        ).status_code
        == 200
    )
    assert kiosk.get(f"/api/v1/sittings/{sitting.id}/clock").status_code == 200
    assert kiosk.get(f"/api/v1/sittings/{sitting.id}").status_code == 200


def test_resume_on_another_kiosk_keeps_the_clock(db, enrolled, make_kiosk, turn_only, faces_dir):
    first, second = make_kiosk("一号机"), make_kiosk("二号机")
    burst = [(io.BytesIO(frame(faces_dir, p)), f"{n}.jpg") for n, p in enumerate(TURN_LEFT)]
    created = first.post(
        "/api/v1/checkins", json={"citizen_id": enrolled.worker.citizen_id, "consent": CONSENT}
    ).get_json()
    started = first.post(
        f"/api/v1/checkins/{created['checkin_id']}/frames",
        content_type="multipart/form-data",
        data={"checkin_token": created["checkin_token"], "frames": burst},
    ).get_json()
    sitting_id = started["sitting"]["id"]
    deadline = started["sitting"]["deadline_at"]
    first.put(f"/api/v1/sittings/{sitting_id}/answers/1", json={"response": "A", "idempotency_key": "k"})

    again = second.post(
        "/api/v1/checkins", json={"citizen_id": enrolled.worker.citizen_id, "consent": CONSENT}
    ).get_json()
    assert again["exam"]["resuming"] is True
    burst = [(io.BytesIO(frame(faces_dir, p, filming=2)), f"{n}.jpg") for n, p in enumerate(TURN_LEFT)]
    resumed = second.post(
        f"/api/v1/checkins/{again['checkin_id']}/frames",
        content_type="multipart/form-data",
        data={"checkin_token": again["checkin_token"], "frames": burst},
    ).get_json()
    assert resumed["sitting"]["id"] == sitting_id and resumed["sitting"]["deadline_at"] == deadline
    assert resumed["sitting"]["answers"] == {"1": "A"}
    moved = first.get(f"/api/v1/sittings/{sitting_id}/clock").get_json()
    assert moved["error"] == "sitting_elsewhere"
    assert second.get(f"/api/v1/sittings/{sitting_id}/clock").get_json()["deadline_at"] == deadline
    assert db.session.scalar(select(func.count(Sitting.id))) == 1
