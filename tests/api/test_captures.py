"""The in-exam capture schedule, its one-time nonces and the policy on what a frame shows."""

from __future__ import annotations

import random
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from exam_server.models import CaptureRequest, FaceCheck, Kiosk, ReviewCase, ReviewKind, Sitting, SittingStatus, utcnow
from exam_server.services.exam import captures
from exam_server.services.exam.refusals import Refusal
from tests.api.conftest import frame, open_sitting


def test_intervals_are_random_within_the_policy():
    rng = random.Random(1)
    uniform = [captures.next_delay(captures.DEFAULT_POLICY, rng) for _ in range(2000)]
    assert min(uniform) >= 60 and max(uniform) <= 120 and 85 < sum(uniform) / len(uniform) < 95
    exponential = {**captures.DEFAULT_POLICY, "distribution": "exponential", "mean_interval_seconds": 80}
    drawn = [captures.next_delay(exponential, rng) for _ in range(2000)]
    assert min(drawn) >= 60 and max(drawn) <= 120 and len({round(d) for d in drawn}) > 30


def test_nonce_is_stored_hashed_revealed_when_due_and_used_once(db, exam, kiosk):
    start = utcnow()
    sitting = open_sitting(db, exam, kiosk.id, now=start)
    capture = db.session.scalar(select(CaptureRequest).where(CaptureRequest.sitting_id == sitting.id))
    assert start + timedelta(seconds=60) <= capture.due_at <= start + timedelta(seconds=120)
    assert captures.current(db.session, sitting, capture.due_at - timedelta(seconds=1)) is None
    due = captures.current(db.session, sitting, capture.due_at)
    assert due["expires_at"] == capture.due_at + timedelta(seconds=30)
    assert capture.nonce_hash == captures.hash_nonce(due["nonce"]) and due["nonce"] != capture.nonce_hash
    with pytest.raises(Refusal) as late:
        captures.claim(db.session, sitting, due["nonce"], capture.expires_at + timedelta(seconds=1))
    assert late.value.code == "nonce_expired"
    with pytest.raises(Refusal) as wrong:
        captures.claim(db.session, sitting, due["nonce"] + "x", capture.due_at)
    assert wrong.value.code == "nonce_invalid"
    captures.claim(db.session, sitting, due["nonce"], capture.due_at + timedelta(seconds=3))
    with pytest.raises(Refusal) as replay:
        captures.claim(db.session, sitting, due["nonce"], capture.due_at + timedelta(seconds=4))
    assert replay.value.code == "nonce_used"


def test_missed_captures_count_only_while_the_kiosk_is_alive(db, exam, kiosk):
    exam.plan.face_policy = {"suspend_after_unverified": 2, "retry_after_seconds": 5}
    db.session.commit()
    start = utcnow()
    sitting = open_sitting(db, exam, kiosk.id, now=start)
    first = db.session.scalar(select(CaptureRequest).where(CaptureRequest.sitting_id == sitting.id))
    after = first.expires_at + timedelta(seconds=1)
    assert captures.expire_missed(db.session, after) == 0  # the kiosk went quiet: not the worker's fault
    db.session.get(Kiosk, kiosk.id).last_seen_at = after
    assert captures.expire_missed(db.session, after) == 1
    assert captures.expire_missed(db.session, after) == 0
    retry = db.session.scalar(
        select(CaptureRequest).where(CaptureRequest.sitting_id == sitting.id, CaptureRequest.used_at.is_(None))
    )
    assert retry.is_retry and retry.due_at == after + timedelta(seconds=5)
    assert captures.current(db.session, sitting, retry.expires_at + timedelta(seconds=1)) is None
    db.session.commit()
    assert db.session.get(Sitting, sitting.id).status is SittingStatus.SUSPENDED
    missed = db.session.scalars(select(FaceCheck.refusal_code).where(FaceCheck.sitting_id == sitting.id)).all()
    assert missed == ["capture_missed", "capture_missed"]


def test_several_faces_are_a_recorded_warning(app, db, exam, kiosk, faces_dir):
    exam.plan.face_policy = {"min_interval_seconds": 0, "max_interval_seconds": 0, "retry_after_seconds": 0}
    db.session.commit()
    sitting = open_sitting(db, exam, kiosk.id)
    url = f"/api/v1/sittings/{sitting.id}"
    import io

    for filming in (1, 2):
        nonce = kiosk.get(f"{url}/clock").get_json()["capture"]["nonce"]
        answer = kiosk.post(
            f"{url}/captures",
            content_type="multipart/form-data",
            data={
                "nonce": nonce,
                "frame": (io.BytesIO(frame(faces_dir, "multi/two_people.jpg", filming=filming)), "f.jpg"),
            },
        )
        assert answer.get_json()["decision"] == "warning", answer.get_json()
    cases = db.session.scalars(select(ReviewCase).where(ReviewCase.kind == ReviewKind.MULTIPLE_FACES)).all()
    assert len(cases) == 1 and cases[0].sitting_id == sitting.id  # one open warning per sitting
    assert db.session.scalar(select(func.count(FaceCheck.id)).where(FaceCheck.refusal_code == "multiple_faces")) == 2
