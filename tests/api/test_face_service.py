"""Enrolment, re-enrolment, duplicate search, evidence retention and batch enrolment with real photos."""

from __future__ import annotations

import csv
import shutil
from datetime import timedelta
from pathlib import Path

from click.testing import CliRunner
from sqlalchemy import func, select

from exam_server.models import (
    AuditLog,
    CheckKind,
    FaceCheck,
    FacePhoto,
    FaceTemplate,
    FrameHash,
    PhotoSource,
    ReviewCase,
    ReviewKind,
    ReviewStatus,
    utcnow,
)
from exam_server.services.faces import face_service, review


def test_enrol_and_re_enrol_keep_history(app, db, world, faces_dir):
    worker = world.workers_a[0]
    first = face_service.enrol(
        db.session,
        worker,
        (faces_dir / "single/obama/obama1.jpg").read_bytes(),
        PhotoSource.CONSOLE,
        user_id=world.city.id,
    )
    db.session.commit()
    data_dir = Path(app.config["DATA_DIR"])
    assert (data_dir / first.photo.path).read_bytes() == (faces_dir / "single/obama/obama1.jpg").read_bytes()
    assert first.photo.path.startswith(f"photos/{worker.id}/") and "static" not in first.photo.path
    assert first.template.model_name == "dlib_resnet_v1" and first.template.model_version
    assert len(first.template.vector) == 512 and first.duplicates == []
    assert worker.id in face_service.index()
    second = face_service.enrol(
        db.session, worker, (faces_dir / "single/obama/obama2.jpg").read_bytes(), PhotoSource.ID_CARD
    )
    db.session.commit()
    templates = db.session.scalars(
        select(FaceTemplate)
        .where(FaceTemplate.worker_id == worker.id, FaceTemplate.model_name == "dlib_resnet_v1")
        .order_by(FaceTemplate.id)
    ).all()
    assert [t.active for t in templates] == [False, True] and templates[0].superseded_at is not None
    # Every other model's template of the old photo is superseded with it (one row per model and photo).
    others = db.session.scalars(
        select(FaceTemplate)
        .where(FaceTemplate.worker_id == worker.id, FaceTemplate.model_name != "dlib_resnet_v1")
        .order_by(FaceTemplate.id)
    ).all()
    assert [(t.photo_id, t.active) for t in others] == [(first.photo.id, False), (second.photo.id, True)]
    assert face_service.active_template(db.session, worker.id).template_id == second.template.id
    assert face_service.active_template(db.session, worker.id).kind == "id_card"
    assert db.session.scalar(select(func.count(FacePhoto.id))) == 2
    assert db.session.scalar(select(func.count(AuditLog.id)).where(AuditLog.action == "face_enrolled")) == 2


def test_the_same_face_enrolled_for_two_workers_opens_a_review(db, world, faces_dir):
    one, two = world.workers_a[0], world.workers_a[1]
    face_service.enrol(db.session, one, (faces_dir / "resolutions/obama-720p.jpg").read_bytes(), PhotoSource.BATCH)
    face_service.enrol(
        db.session, world.workers_a[2], (faces_dir / "single/biden/biden1.jpg").read_bytes(), PhotoSource.BATCH
    )
    dup = face_service.enrol(
        db.session, two, (faces_dir / "resolutions/obama-480p.jpg").read_bytes(), PhotoSource.BATCH
    )
    db.session.commit()
    assert [c.other_worker_id for c in dup.duplicates] == [one.id]
    case = dup.duplicates[0]
    assert case.kind is ReviewKind.DUPLICATE_ENROLMENT and case.distance < face_service.settings().search_threshold
    assert f"与从业人员{one.name}的人脸相似" in case.summary and str(one.id) not in case.summary.split("（")[0]
    # Searched with SFace, the model that separates East-Asian faces, not dlib.
    assert db.session.get(FaceCheck, case.face_check_id).model_name == "sface_2021dec_int8bq"
    review.decide(db.session, case, ReviewStatus.CONFIRMED, "同一人冒名登记", world.reviewer)
    db.session.commit()
    assert face_service.active_template(db.session, two.id) is None  # the suspicious template is out of use
    assert two.id not in face_service.index() and one.id in face_service.index()
    assert face_service.rebuild_index(db.session) == 2


def test_evidence_is_purged_after_retention_except_for_open_cases(app, db, world, faces_dir):
    worker = world.workers_a[0]
    frame = (faces_dir / "single/obama/obama1.jpg").read_bytes()
    old = utcnow() - timedelta(days=200)
    checks = []
    for n in range(3):
        path = face_service.save_evidence(frame, old)
        check = FaceCheck(
            kind="in_exam",
            worker_id=worker.id,
            model_name="m",
            model_version="v",
            decision="mismatch",
            evidence_path=path,
            created_at=old if n < 2 else utcnow(),
        )
        db.session.add(check)
        db.session.flush()
        checks.append(check)
    db.session.add(ReviewCase(kind=ReviewKind.IN_EXAM_MISMATCH, worker_id=worker.id, face_check_id=checks[1].id))
    for when in (old, utcnow()):
        db.session.add(FrameHash(worker_id=worker.id, kind=CheckKind.CHECKIN, phash=b"\x01" * 32, created_at=when))
    db.session.commit()
    result = CliRunner().invoke(app.cli, ["face", "purge-evidence"])
    assert result.exit_code == 0 and "removed 1" in result.output, result.output
    data_dir = Path(app.config["DATA_DIR"])
    kept = [(data_dir / c.evidence_path).exists() for c in checks]
    assert kept == [False, True, True]
    db.session.expire_all()
    assert db.session.get(FaceCheck, checks[0].id).evidence_purged_at is not None
    detail = db.session.scalar(select(AuditLog.detail).where(AuditLog.action == "evidence_purged"))
    assert detail["files"] == 1 and detail["frame_hashes"] == 1
    # The frames' hashes follow the frames: the old one is gone, the recent one kept for the replay check.
    remaining = db.session.scalars(select(FrameHash.created_at)).all()
    assert len(remaining) == 1 and remaining[0] > old + timedelta(days=100)


def test_enroll_batch_is_resumable_and_reports_refusals(app, db, world, faces_dir, tmp_path):
    folder = tmp_path / "photos"
    folder.mkdir()
    one, two, three = world.workers_a
    shutil.copy(faces_dir / "single/obama/obama1.jpg", folder / f"{one.citizen_id}.jpg")
    shutil.copy(faces_dir / "single/lennon/lennon1.jpg", folder / f"{two.citizen_id}.jpg")
    shutil.copy(faces_dir / "multi/two_people.jpg", folder / f"{three.citizen_id}.jpg")
    shutil.copy(faces_dir / "single/adams/adams1.jpg", folder / "not-an-id.jpg")
    db.session.commit()
    result = CliRunner().invoke(app.cli, ["face", "enroll-batch", str(folder), "--processes", "2"])
    assert result.exit_code == 0, result.output
    assert "enrolled 2, skipped 0, refused 2" in result.output
    with open(folder / "enroll-report.csv", encoding="utf-8-sig") as handle:
        rows = {row["file"]: row for row in csv.DictReader(handle)}
    assert rows[f"{three.citizen_id}.jpg"]["error"] == "multiple_faces" and rows[f"{three.citizen_id}.jpg"]["message"]
    assert rows["not-an-id.jpg"]["error"] == "invalid_citizen_id"
    again = CliRunner().invoke(app.cli, ["face", "enroll-batch", str(folder), "--processes", "1"])
    assert "enrolled 0, skipped 2, refused 2" in again.output, again.output
    db.session.expire_all()
    assert face_service.is_enrolled(db.session, one.id) and face_service.is_enrolled(db.session, two.id)
    assert not face_service.is_enrolled(db.session, three.id)
