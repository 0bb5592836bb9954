"""Replayed frames (issue 14, findings 5 and 6): a recording or a stored photo sent again is refused as such."""

from __future__ import annotations

import io

import cv2
import numpy as np
from sqlalchemy import func, select

from exam_server.models import CheckIn, CheckKind, FaceCheck, FrameHash
from tests.api.conftest import CONSENT, TURN_LEFT, frame, jpeg, open_sitting, turn_left
from tests.api.test_visit import IMMEDIATE, capture
from tests.face.test_liveness import SEQUENCE  # left, back, right, back, left: real photos of one person


def _check_in(kiosk, worker, frames: list[bytes]):
    created = kiosk.post("/api/v1/checkins", json={"citizen_id": worker.citizen_id, "consent": CONSENT}).get_json()
    return created, kiosk.post(
        f"/api/v1/checkins/{created['checkin_id']}/frames",
        content_type="multipart/form-data",
        data={
            "checkin_token": created["checkin_token"],
            "frames": [(io.BytesIO(f), f"f{n}.jpg") for n, f in enumerate(frames)],
        },
    )


def _reencoded(data: bytes, quality: int, scale: float = 1.0) -> bytes:
    rgb = cv2.cvtColor(cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)
    if scale != 1.0:
        rgb = cv2.resize(rgb, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    return jpeg(rgb, quality)


def _end_sitting(db, sitting_id: int) -> None:
    from exam_server.models import Sitting, SittingStatus

    db.session.get(Sitting, sitting_id).status = SittingStatus.VOIDED
    db.session.commit()


def test_the_same_jpeg_bytes_of_a_burst_replayed_at_a_later_check_in_are_refused(
    db, enrolled, kiosk, turn_only, faces_dir
):
    recorded = turn_left(faces_dir)
    _, first = _check_in(kiosk, enrolled.worker, recorded)
    assert first.status_code == 200, first.get_json()
    _end_sitting(db, first.get_json()["sitting"]["id"])
    # Before: the same bytes opened sitting after sitting. Now the burst is recognised, whatever it answers.
    created, again = _check_in(kiosk, enrolled.worker, recorded)
    body = again.get_json()
    assert again.status_code == 422 and body["error"] == "replayed_frames", body
    assert "重放" in body["message"] and body["attempts_left"] == 2 and body["challenge"]
    check = db.session.scalars(select(FaceCheck).where(FaceCheck.checkin_id == created["checkin_id"])).one()
    assert check.refusal_code == "replayed_frames" and check.detail["replay"]["seen"] == [0, 1, 2, 3]
    assert db.session.get(CheckIn, created["checkin_id"]).failures == 1
    # A new filming of the same person (other frames) still gets in.
    _, fresh = _check_in(kiosk, enrolled.worker, turn_left(faces_dir, filming=2))
    assert fresh.status_code == 200, fresh.get_json()
    assert db.session.scalar(select(func.count(FrameHash.id)).where(FrameHash.kind == CheckKind.CHECKIN)) == 12


def test_the_frames_re_encoded_at_another_quality_and_size_are_refused(db, enrolled, kiosk, turn_only, faces_dir):
    recorded = turn_left(faces_dir)
    _, first = _check_in(kiosk, enrolled.worker, recorded)
    assert first.status_code == 200, first.get_json()
    _end_sitting(db, first.get_json()["sitting"]["id"])
    for copy in ([_reencoded(f, 60) for f in recorded], [_reencoded(f, 85, 0.75) for f in recorded]):
        assert all(a != b for a, b in zip(copy, recorded, strict=True))
        _, again = _check_in(kiosk, enrolled.worker, copy)
        assert again.get_json()["error"] == "replayed_frames", again.get_json()


def test_a_burst_spliced_from_earlier_recordings_is_refused(db, enrolled, kiosk, turn_only, faces_dir):
    enrolled.plan.max_attempts = 3
    db.session.commit()
    first_visit, second_visit = turn_left(faces_dir, filming=1), turn_left(faces_dir, filming=2)
    for recording in (first_visit, second_visit):
        _, passed = _check_in(kiosk, enrolled.worker, recording)
        assert passed.status_code == 200, passed.get_json()
        _end_sitting(db, passed.get_json()["sitting"]["id"])
    spliced = first_visit[:2] + second_visit[2:]
    _, again = _check_in(kiosk, enrolled.worker, spliced)
    assert again.get_json()["error"] == "replayed_frames", again.get_json()


def test_the_enrolled_photo_in_a_burst_is_refused(db, enrolled, kiosk, turn_only, faces_dir):
    # The enrolled photo (filming 0: the photo itself, resized and re-encoded) as the burst's first frame.
    frames = [frame(faces_dir, TURN_LEFT[0], filming=0), *turn_left(faces_dir)[1:]]
    _, response = _check_in(kiosk, enrolled.worker, frames)
    body = response.get_json()
    assert body["error"] == "replayed_frames" and body["reason"] == "replayed_frames", body
    check = db.session.scalars(select(FaceCheck).where(FaceCheck.kind == CheckKind.CHECKIN)).one()
    assert check.detail["replay"]["photo"] == [0]


def test_the_enrolled_photo_sent_as_an_in_exam_capture_is_refused(db, enrolled, kiosk, faces_dir):
    enrolled.plan.face_policy = IMMEDIATE
    db.session.commit()
    sitting = open_sitting(db, enrolled, kiosk.id)
    photo = (faces_dir / "single/obama/obama1.jpg").read_bytes()
    for still in (photo, _reencoded(photo, 70, 0.5)):
        _, answer = capture(kiosk, sitting.id, still)
        assert answer.get_json()["decision"] == "retry", answer.get_json()  # was "match"
        check = db.session.scalars(select(FaceCheck).order_by(FaceCheck.id.desc())).first()
        assert check.kind is CheckKind.IN_EXAM and check.refusal_code == "replayed_frames"
        assert check.detail["replay"]["photo"] == [0]
    # The worker filmed by the camera matches.
    _, live = capture(kiosk, sitting.id, frame(faces_dir, "single/obama/obama1.jpg", filming=3))
    assert live.get_json()["decision"] == "match", live.get_json()


def _head_moved(data: bytes, pixels: int) -> bytes:
    """Return the frame with only the face moved by a few pixels before the same background."""
    import face_recognition

    rgb = cv2.cvtColor(cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)
    top, right, bottom, left = face_recognition.face_locations(rgb)[0]
    head = rgb[top:bottom, left:right]
    shift = np.float32([[1, 0, pixels], [0, 1, 0]])
    rgb[top:bottom, left:right] = cv2.warpAffine(head, shift, (head.shape[1], head.shape[0]), borderMode=1)
    return jpeg(rgb, 90)


def test_a_worker_holding_still_is_not_refused_at_the_next_capture(db, enrolled, kiosk, turn_only, faces_dir):
    enrolled.plan.face_policy = IMMEDIATE
    db.session.commit()
    _, passed = _check_in(kiosk, enrolled.worker, turn_left(faces_dir))
    sitting_id = passed.get_json()["sitting"]["id"]
    live = frame(faces_dir, "single/obama/obama1.jpg", filming=3)
    # Captures minutes apart of a seated worker, before the same background: as close as a copy would be.
    for still in (live, _head_moved(live, 4), _reencoded(live, 80)):
        _, answer = capture(kiosk, sitting_id, still)
        assert answer.get_json()["decision"] == "match", answer.get_json()
    codes = db.session.scalars(select(FaceCheck.refusal_code).where(FaceCheck.kind == CheckKind.IN_EXAM)).all()
    assert codes == [None, None, None]


def _set_challenge(db, checkin_id: int, kind: str) -> None:
    db.session.get(CheckIn, checkin_id).challenge = kind  # what the server drew, made known to the test
    db.session.commit()


def test_check_ins_ask_for_three_moves_and_a_recording_for_one_fails_another(db, enrolled, kiosk, faces_dir):
    created = kiosk.post(
        "/api/v1/checkins", json={"citizen_id": enrolled.worker.citizen_id, "consent": CONSENT}
    ).get_json()
    challenge = created["challenge"]
    assert len(challenge["steps"]) == 3 and challenge["kind"] == "+".join(s["kind"] for s in challenge["steps"])
    assert challenge["prompt"].startswith("先") and "最后" in challenge["prompt"]
    assert (challenge["frames"], challenge["seconds"]) == (16, 6.5) and all(
        s["instruction"] for s in challenge["steps"]
    )
    _set_challenge(db, created["checkin_id"], "turn_left+turn_right+turn_left")
    recorded = [frame(faces_dir, path, filming=1) for path in SEQUENCE]
    passed = kiosk.post(
        f"/api/v1/checkins/{created['checkin_id']}/frames",
        content_type="multipart/form-data",
        data={"checkin_token": created["checkin_token"], "frames": [(io.BytesIO(f), "f.jpg") for f in recorded]},
    )
    assert passed.status_code == 200, passed.get_json()
    _end_sitting(db, passed.get_json()["sitting"]["id"])

    # The recording moved in the picture (so the replay hash no longer knows it) against the next check-in's challenge.
    created = kiosk.post(
        "/api/v1/checkins", json={"citizen_id": enrolled.worker.citizen_id, "consent": CONSENT}
    ).get_json()
    _set_challenge(db, created["checkin_id"], "turn_right+turn_left+turn_right")
    moved = [frame(faces_dir, path, filming=2) for path in SEQUENCE]
    refused = kiosk.post(
        f"/api/v1/checkins/{created['checkin_id']}/frames",
        content_type="multipart/form-data",
        data={"checkin_token": created["checkin_token"], "frames": [(io.BytesIO(f), "f.jpg") for f in moved]},
    ).get_json()
    assert (refused["error"], refused["reason"]) == ("liveness_failed", "liveness_movement_not_seen"), refused
    assert len(refused["challenge"]["steps"]) == 3  # a new challenge of three moves to film
