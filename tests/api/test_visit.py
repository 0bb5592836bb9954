"""A whole visit through the kiosk API with real photos: check-in, answers, re-checks, review, result."""

from __future__ import annotations

import io
from pathlib import Path
from urllib.parse import urlparse

from sqlalchemy import select

from exam_server.models import CheckKind, FaceCheck, ReviewCase, ReviewKind, ReviewStatus, Sitting, SittingStatus
from exam_server.services.exam import consent
from exam_server.services.faces import review
from tests.api.conftest import CONSENT, TURN_LEFT, correct_response, frame

# Due at once and retried at once, so the test needs no waiting.
IMMEDIATE = {"min_interval_seconds": 0, "max_interval_seconds": 0, "retry_after_seconds": 0}


def _burst(faces_dir, filming: int = 1):
    return [(io.BytesIO(frame(faces_dir, path, filming=filming)), f"f{n}.jpg") for n, path in enumerate(TURN_LEFT)]


def check_in(kiosk, worker, faces_dir):
    """Check the worker in at a kiosk and return (check-in response, frames response)."""
    created = kiosk.post("/api/v1/checkins", json={"citizen_id": worker.citizen_id, "consent": CONSENT})
    assert created.status_code == 201, created.get_json()
    body = created.get_json()
    assert body["challenge"]["kind"] == "turn_left" and body["challenge"]["prompt"]
    passed = kiosk.post(
        f"/api/v1/checkins/{body['checkin_id']}/frames",
        data={"checkin_token": body["checkin_token"], "frames": _burst(faces_dir)},
        content_type="multipart/form-data",
    )
    return body, passed


def capture(kiosk, sitting_id, image: bytes):
    clock = kiosk.get(f"/api/v1/sittings/{sitting_id}/clock").get_json()
    assert clock["capture"] is not None, clock
    nonce = clock["capture"]["nonce"]
    response = kiosk.post(
        f"/api/v1/sittings/{sitting_id}/captures",
        data={"nonce": nonce, "frame": (io.BytesIO(image), "frame.jpg")},
        content_type="multipart/form-data",
    )
    return nonce, response


def test_a_whole_visit(app, db, client, enrolled, kiosk, turn_only, faces_dir, world):
    enrolled.plan.face_policy = IMMEDIATE
    db.session.commit()
    worker = enrolled.worker

    body, passed = check_in(kiosk, worker, faces_dir)
    # Only what the kiosk's greeting shows: no enterprise, plan id or attempts (issue 14, finding 9).
    assert body["exam"] == {"name": enrolled.plan.name, "duration_minutes": 30, "question_count": 8, "resuming": False}
    assert list(body["worker"]) == ["name_masked"]
    assert body["worker"]["name_masked"].startswith(worker.name[0]) and "*" in body["worker"]["name_masked"]
    assert passed.status_code == 200, passed.get_json()
    sitting = passed.get_json()["sitting"]
    assert passed.get_json()["result"] == "passed" and sitting["status"] == "in_progress"
    assert len(sitting["questions"]) == 8 and sitting["answers"] == {}
    assert 29 * 60 < sitting["remaining_seconds"] <= 30 * 60
    assert "answer" not in str(sitting["questions"][0].keys())
    sitting_id = sitting["id"]
    # The consent given on the kiosk's notice is recorded with the visit and the sitting it opened.
    (given,) = consent.of_sitting(db.session, sitting_id)
    assert given.checkin_id == body["checkin_id"] and given.worker_id == worker.id
    assert (given.notice_version, given.retention_days) == (CONSENT["notice_version"], CONSENT["retention_days"])

    stored = db.session.get(Sitting, sitting_id)
    for item in sitting["questions"]:
        saved = kiosk.put(
            f"/api/v1/sittings/{sitting_id}/answers/{item['item_no']}",
            json={"response": correct_response(stored, item["item_no"]), "idempotency_key": f"k{item['item_no']}"},
        )
        assert saved.status_code == 200, saved.get_json()

    # 刷脸比对: a frame of the worker (the enrolled photo filmed anew, in another place of the picture) matches.
    nonce, matched = capture(
        kiosk, sitting_id, frame(faces_dir, "single/obama/obama1.jpg", side=800, quality=80, filming=3)
    )
    assert matched.status_code == 200 and matched.get_json()["decision"] == "match", matched.get_json()
    replayed = kiosk.post(
        f"/api/v1/sittings/{sitting_id}/captures",
        content_type="multipart/form-data",
        data={"nonce": nonce, "frame": (io.BytesIO(frame(faces_dir, "single/obama/obama1.jpg")), "f.jpg")},
    )
    assert replayed.status_code == 409 and replayed.get_json()["error"] == "nonce_used"

    # Someone else sits down: retry, retry, then the sitting is suspended for a reviewer.
    decisions = [
        capture(kiosk, sitting_id, frame(faces_dir, "single/biden/biden2.jpg", filming=n))[1].get_json()["decision"]
        for n in (4, 5, 6)
    ]
    assert decisions == ["retry", "retry", "suspended"]
    clock = kiosk.get(f"/api/v1/sittings/{sitting_id}/clock").get_json()
    assert clock["status"] == "suspended" and clock["capture"] is None
    refused = kiosk.put(f"/api/v1/sittings/{sitting_id}/answers/1", json={"response": "A", "idempotency_key": "x"})
    assert refused.status_code == 409 and refused.get_json()["error"] == "sitting_suspended"
    case = db.session.scalar(
        select(ReviewCase).where(ReviewCase.sitting_id == sitting_id, ReviewCase.kind == ReviewKind.IN_EXAM_MISMATCH)
    )
    checks = db.session.scalars(
        select(FaceCheck).where(FaceCheck.sitting_id == sitting_id, FaceCheck.kind == CheckKind.IN_EXAM)
    ).all()
    assert [c.decision.value for c in checks] == ["match", "mismatch", "mismatch", "mismatch"]
    data_dir = Path(app.config["DATA_DIR"])
    assert all(c.evidence_path.startswith("evidence/") and (data_dir / c.evidence_path).is_file() for c in checks)

    # The reviewer finds a false alarm: the sitting goes on.
    review.decide(db.session, case, ReviewStatus.DISMISSED, "本人，光线问题", world.reviewer)
    db.session.commit()
    clock = kiosk.get(f"/api/v1/sittings/{sitting_id}/clock").get_json()
    assert clock["status"] == "in_progress" and clock["capture"] is not None

    submitted = kiosk.post(f"/api/v1/sittings/{sitting_id}/submit", json={"idempotency_key": "submit-1"})
    result = submitted.get_json()
    assert submitted.status_code == 200, result
    assert result["status"] == "submitted" and result["passed"] is True and result["score"] == result["max_score"]
    assert result["pass_mark"] == 10 and result["remaining_seconds"] == 0
    again = kiosk.post(f"/api/v1/sittings/{sitting_id}/submit", json={"idempotency_key": "submit-2"}).get_json()
    assert again["certificate"] == result["certificate"] and again["score"] == result["score"]
    assert kiosk.get(f"/api/v1/sittings/{sitting_id}").get_json()["result"]["certificate"] == result["certificate"]

    page = client.get(urlparse(result["certificate"]["verify_url"]).path)
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert result["certificate"]["number"] in text and worker.citizen_id not in text
    assert db.session.get(Sitting, sitting_id).status is SittingStatus.SUBMITTED
