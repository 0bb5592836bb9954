"""Check-in with an ID-card chip photo: analysed once at begin(); its kept copy only for a check-in without that analysis."""

from __future__ import annotations

import base64

import cv2
import numpy as np
import pytest
from sqlalchemy import select

from exam_server.face import FaceRefusal
from exam_server.face.evidence import save_evidence
from exam_server.models import CheckIn, CheckInStatus, CheckKind, Decision, FaceCheck, ReviewCase, ReviewKind
from exam_server.services.faces import face_service
from tests.api.conftest import CONSENT
from tests.api.test_visit import _burst


def chip_photo(faces_dir, path: str, width: int, sigma: float = 0.0) -> bytes:
    """Return a low-resolution chip photo of a real photo as a reader sends it (JPEG, `width` px wide)."""
    cut = face_service.engine().id_card_photo((faces_dir / path).read_bytes(), quality=100)
    bgr = cv2.imdecode(np.frombuffer(cut, np.uint8), cv2.IMREAD_COLOR)
    bgr = cv2.resize(bgr, (width, round(width * 126 / 102)), interpolation=cv2.INTER_AREA)
    if sigma:
        bgr = cv2.GaussianBlur(bgr, (0, 0), sigma)
    ok, data = cv2.imencode(".jpg", bgr, [cv2.IMWRITE_JPEG_QUALITY, 95])
    assert ok
    return data.tobytes()


def kept_copy_refusal(chip: bytes, tmp_path) -> str:
    """Return the refusal code of a full analysis of the copy the server keeps (as begin() saves it)."""
    engine = face_service.engine()
    engine.enrol_sample(chip, "id_card")  # what begin() does with the reader's bytes: accepted
    kept = (tmp_path / save_evidence(chip, tmp_path, settings=engine.settings)).read_bytes()
    with pytest.raises(FaceRefusal) as refused:
        engine.enrol_sample(kept, "id_card")
    return refused.value.code


def start(kiosk, worker, chip: bytes) -> dict:
    created = kiosk.post(
        "/api/v1/checkins",
        json={"citizen_id": worker.citizen_id, "chip_photo": base64.b64encode(chip).decode(), "consent": CONSENT},
    )
    assert created.status_code == 201, created.get_json()
    return created.get_json()


def kept_chip(db, created: dict):
    """Return the path of the chip photo the server kept for this check-in."""
    return face_service.data_dir() / db.session.get(CheckIn, created["checkin_id"]).chip_photo_path


def forget_chip_analysis(db, created: dict) -> None:
    """Remove the analysis begin() kept beside the chip photo."""
    path = kept_chip(db, created)
    analysis = path.with_name(path.name + face_service.CHIP_ANALYSIS_SUFFIX)
    assert analysis.is_file()
    analysis.unlink()


def send_burst(kiosk, created: dict, faces_dir, filming: int = 1):
    return kiosk.post(
        f"/api/v1/checkins/{created['checkin_id']}/frames",
        content_type="multipart/form-data",
        data={"checkin_token": created["checkin_token"], "frames": _burst(faces_dir, filming)},
    )


def test_a_chip_photo_accepted_at_check_in_is_not_refused_by_its_kept_copy(
    db, enrolled, kiosk, turn_only, faces_dir, tmp_path
):
    # A real 71 px wide chip of the enrolled worker: its face measures 53 px (the minimum is 40), but in
    # the JPEG copy the server keeps, the detector's box is 37 px wide.
    chip = chip_photo(faces_dir, "single/obama/obama4.jpg", 71)
    assert kept_copy_refusal(chip, tmp_path) == "face_too_small"
    created = start(kiosk, enrolled.worker, chip)
    passed = send_burst(kiosk, created, faces_dir)
    assert passed.status_code == 200, passed.get_json()  # was a 500: the second analysis's refusal escaped
    entry = db.session.scalars(select(FaceCheck).where(FaceCheck.kind == CheckKind.CHECKIN)).one()
    assert entry.decision in (Decision.MATCH, Decision.REVIEW)
    assert entry.sitting_id == passed.get_json()["sitting"]["id"]
    # One decision: the burst against the registry photo and the chip photo together (a template of each model each).
    assert entry.detail["chip"] == {"templates": 2} and entry.detail["identity"]["templates"] == 4
    assert entry.detail["identity"]["template_kind"] == "id_card"
    assert db.session.get(CheckIn, created["checkin_id"]).status is CheckInStatus.PASSED


def test_a_chip_photo_whose_kept_copy_shows_no_face_counts_as_a_failed_attempt(
    app, db, enrolled, kiosk, turn_only, faces_dir, tmp_path, monkeypatch
):
    monkeypatch.setitem(app.config, "CHECKIN_MAX_FAILURES", 2)
    # A real soft 70 px chip: accepted at check-in, yet the detector finds no face in the JPEG copy.
    chip = chip_photo(faces_dir, "single/clapton/clapton1.jpg", 70, sigma=0.8)
    assert kept_copy_refusal(chip, tmp_path) == "no_face"
    created = start(kiosk, enrolled.worker, chip)
    # A check-in begun before begin() kept its analysis: the kept copy is analysed at /frames.
    forget_chip_analysis(db, created)

    first = send_burst(kiosk, created, faces_dir)
    body = first.get_json()
    assert first.status_code == 422, body  # was a 500
    assert (body["error"], body["field"], body["reason"], body["attempts_left"]) == (
        "no_face",
        "chip_photo",
        "no_face",
        1,
    )
    assert "身份证" in body["message"] and body["challenge"]["kind"] == "turn_left"
    checkin = db.session.get(CheckIn, created["checkin_id"])
    assert (checkin.status, checkin.failures) == (CheckInStatus.AWAITING_FACE, 1)

    second = send_burst(kiosk, created, faces_dir, filming=2)
    assert second.status_code == 403 and second.get_json()["error"] == "checkin_refused", second.get_json()
    db.session.expire_all()
    checkin = db.session.get(CheckIn, created["checkin_id"])
    assert (checkin.status, checkin.failures, checkin.sitting_id) == (CheckInStatus.REFUSED, 2, None)
    checks = db.session.scalars(select(FaceCheck).where(FaceCheck.checkin_id == checkin.id)).all()
    assert [(c.decision, c.refusal_code) for c in checks] == [(Decision.REFUSED, "no_face")] * 2
    assert all(c.detail["chip"]["error"] == "no_face" for c in checks)
    case = db.session.scalar(select(ReviewCase).where(ReviewCase.checkin_id == checkin.id))
    assert case.kind is ReviewKind.CHECKIN_REFUSED and "（最后一次：身份证照片未检测到人脸）" in case.summary


def test_the_chip_photo_is_analysed_once_at_begin(db, enrolled, kiosk, turn_only, faces_dir):
    """The burst is judged against the chip photo as begin() analysed it: the kept copy is not read again."""
    created = start(kiosk, enrolled.worker, chip_photo(faces_dir, "single/obama/obama4.jpg", 102))
    kept_chip(db, created).write_bytes(b"not a photo any more")  # a second analysis would refuse this
    passed = send_burst(kiosk, created, faces_dir)
    assert passed.status_code == 200, passed.get_json()
    entry = db.session.scalars(select(FaceCheck).where(FaceCheck.kind == CheckKind.CHECKIN)).one()
    assert entry.detail["chip"] == {"templates": 2} and entry.detail["identity"]["templates"] == 4
    assert entry.detail["identity"]["template_kind"] == "id_card"


@pytest.mark.parametrize("sent", ["not base64!", "QUJD", "QUJDRA", "QU=JD"])
def test_a_chip_photo_that_is_not_base64_is_refused_before_anything_is_kept(db, enrolled, kiosk, sent):
    created = kiosk.post(
        "/api/v1/checkins", json={"citizen_id": enrolled.worker.citizen_id, "chip_photo": sent, "consent": CONSENT}
    )
    if sent == "QUJD":  # valid base64 ("ABC"), not a picture: refused as an image, not as the request's syntax
        assert created.status_code == 422 and created.get_json()["field"] == "chip_photo", created.get_json()
        return
    assert created.status_code == 400, created.get_json()
    body = created.get_json()
    assert body["error"] == "invalid_request" and body["field"] == "chip_photo" and "base64" in body["message"]
    assert db.session.scalar(select(CheckIn.id)) is None
