"""Fused dlib + SFace decisions at check-in (the whole burst) and in the exam, with real photos."""

from __future__ import annotations

import io

import pytest
from sqlalchemy import select

from exam_server.models import CheckKind, Decision, FaceCheck, ReviewCase, ReviewKind, Sitting
from exam_server.services.faces import face_service
from tests.api.conftest import CONSENT, frame, open_sitting
from tests.api.test_visit import IMMEDIATE, capture, check_in

DLIB, SFACE = "dlib_resnet_v1", "sface_2021dec_int8bq"


def checks(db, kind):
    return db.session.scalars(select(FaceCheck).where(FaceCheck.kind == kind).order_by(FaceCheck.id)).all()


@pytest.fixture()
def dlib_only_enrolled(app, db, exam, faces_dir, monkeypatch):
    """obama1 enrolled before the second model was added: a dlib template only."""
    monkeypatch.setitem(app.config, "FACE_EXTRA_MODELS", ())
    face_service.enrol(db.session, exam.worker, (faces_dir / "single/obama/obama1.jpg").read_bytes(), "console")
    db.session.commit()
    monkeypatch.delitem(app.config, "FACE_EXTRA_MODELS")
    exam.plan.face_policy = IMMEDIATE
    db.session.commit()
    return exam


def test_fused_check_in_decides_on_the_burst_and_captures_on_both_models(db, enrolled, kiosk, turn_only, faces_dir):
    enrolled.plan.face_policy = IMMEDIATE
    db.session.commit()
    _, passed = check_in(kiosk, enrolled.worker, faces_dir)
    assert passed.status_code == 200, passed.get_json()
    entry = checks(db, CheckKind.CHECKIN)[-1]
    assert entry.model_name == "fused" and entry.model_version == f"{DLIB}+{SFACE}"
    assert entry.decision in (Decision.MATCH, Decision.REVIEW)
    identity = entry.detail["identity"]
    # The frame liveness embedded for identity (the most frontal), against both templates.
    chosen = entry.detail["liveness"]["identity_frames"]
    assert identity["frames"] == len(chosen) == 1 and identity["templates"] == 2
    # SFace, asked first, settles this genuine burst: dlib embeds neither the frames nor asks for a template.
    assert [v["model_name"] for v in identity["per_model"]] == [SFACE]
    assert identity["model_distances"][0] is None and any(f"{DLIB} not asked" in r for r in identity["reasons"])
    assert entry.distance == pytest.approx(identity["distance"], abs=1e-5) and entry.threshold == identity["threshold"]
    # Every frame the tracking model embedded is judged alone in the same decision.
    assert identity["tracked"]["frames"] == entry.detail["liveness"]["tracked_frames"]
    assert "mismatch" not in identity["tracked"]["decisions"]
    assert sorted(k.split("/")[0] for k in entry.detail["probes"]) == [SFACE]  # the entry reference kept
    sitting_id = passed.get_json()["sitting"]["id"]

    _, genuine = capture(kiosk, sitting_id, frame(faces_dir, "single/obama/obama2.jpg"))
    assert genuine.get_json()["decision"] in ("match", "retry"), genuine.get_json()
    _, impostor = capture(kiosk, sitting_id, frame(faces_dir, "single/biden/biden2.jpg"))
    assert impostor.get_json()["decision"] == "retry", impostor.get_json()
    same, other = checks(db, CheckKind.IN_EXAM)
    assert same.model_name == other.model_name == "fused"
    assert same.decision in (Decision.MATCH, Decision.REVIEW) and other.decision is Decision.MISMATCH
    # One decision against the enrolled templates and the face seen at entry together (its SFace vector):
    # the genuine frame settled by SFace, the impostor decided by both models.
    for check in (same, other):
        identity = check.detail["identity"]
        assert (
            identity["model_name"] == "fused" and identity["templates"] == 3 and check.detail["checkin_templates"] == 1
        )
    assert other.detail["identity"]["decision"] == "mismatch"
    assert [v["model_name"] for v in other.detail["identity"]["per_model"]] == [DLIB, SFACE]


def test_an_impostor_burst_is_refused_by_the_fused_score(db, enrolled, kiosk, turn_only, faces_dir):
    biden = [
        frame(faces_dir, "single/biden/biden1.jpg"),
        frame(faces_dir, "single/biden/biden2.jpg"),
        frame(faces_dir, "single/biden/biden1.jpg", 500),
        frame(faces_dir, "single/biden/biden2.jpg", 500),
    ]
    created = kiosk.post(
        "/api/v1/checkins", json={"citizen_id": enrolled.worker.citizen_id, "consent": CONSENT}
    ).get_json()
    refused = kiosk.post(
        f"/api/v1/checkins/{created['checkin_id']}/frames",
        content_type="multipart/form-data",
        data={
            "checkin_token": created["checkin_token"],
            "frames": [(io.BytesIO(f), f"{n}.jpg") for n, f in enumerate(biden)],
        },
    )
    assert refused.status_code == 422 and refused.get_json()["error"] == "face_mismatch", refused.get_json()
    check = checks(db, CheckKind.CHECKIN)[-1]
    assert check.model_name == "fused" and check.decision is Decision.MISMATCH
    # Liveness judges no identity (here it saw no turn either); the one decision refused the face.
    assert check.detail["liveness"]["code"] != "face_mismatch" and check.detail["identity"]["decision"] == "mismatch"
    assert db.session.scalar(select(Sitting.id)) is None


def test_a_worker_without_the_second_models_template_goes_to_review_not_match(
    app, db, dlib_only_enrolled, kiosk, turn_only, faces_dir, monkeypatch
):
    # A dlib threshold every frame of this burst passes: dlib alone would say "match".
    monkeypatch.setitem(app.config, "FACE_LIVE_THRESHOLD", 0.45)
    worker = dlib_only_enrolled.worker
    assert [t.embedding.model_name for t in face_service.active_templates(db.session, worker.id)] == [DLIB]
    _, passed = check_in(kiosk, worker, faces_dir)
    assert passed.status_code == 200, passed.get_json()  # allowed to sit, but a person must look
    entry = checks(db, CheckKind.CHECKIN)[-1]
    assert entry.decision is Decision.REVIEW and entry.model_name == DLIB
    assert entry.detail["identity"]["model_decision"] == "match" and entry.detail["identity"]["decision"] == "review"
    assert "reenrol --model sface" in entry.detail["identity"]["fusion_unavailable"]
    case = db.session.scalar(select(ReviewCase).where(ReviewCase.checkin_id == entry.checkin_id))
    assert case.kind is ReviewKind.BORDERLINE and "模板" in case.summary


def test_in_exam_without_the_second_models_template_is_never_a_match(
    app, db, dlib_only_enrolled, kiosk, faces_dir, monkeypatch
):
    sitting = open_sitting(db, dlib_only_enrolled, kiosk.id)  # no entry frame kept: only the enrolled template
    # The enrolled photo filmed anew: a dlib "match" on its own (each capture films it elsewhere in the picture).
    same_photo = frame(faces_dir, "single/obama/obama1.jpg", side=800, quality=80)
    _, answer = capture(kiosk, sitting.id, same_photo)
    assert answer.get_json()["decision"] == "retry", answer.get_json()
    check = checks(db, CheckKind.IN_EXAM)[-1]
    assert check.decision is Decision.REVIEW and check.detail["identity"]["decision"] == "review"
    assert check.detail["identity"]["distance"] < check.detail["identity"]["threshold"]
    # With fusion turned off the same frame is decided by dlib alone, as before fusion existed.
    monkeypatch.setitem(app.config, "FACE_FUSED", False)
    _, answer = capture(kiosk, sitting.id, frame(faces_dir, "single/obama/obama1.jpg", side=800, quality=80, filming=2))
    assert answer.get_json()["decision"] == "match", answer.get_json()
    assert checks(db, CheckKind.IN_EXAM)[-1].model_name == DLIB
