"""Several models per photo on the server: a template per model, never compared across models, re-enrolment."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

from exam_server.face import FaceEngine, FaceSettings
from exam_server.face.reembed import ReembedResult
from exam_server.models import FaceTemplate, PhotoSource
from exam_server.services.faces import face_reenrol, face_service, face_verify

DLIB, SFACE = "dlib_resnet_v1", "sface_2021dec_int8bq"
PHOTOS = {
    "obama1": ("single/obama/obama1.jpg", "console"),
    "obama2": ("single/obama/obama2.jpg", "console"),
    "lennon1": ("single/lennon/lennon1.jpg", "batch"),
    "biden1": ("single/biden/biden1.jpg", "id_card"),
    "kit1": ("single/kit_harington/kit1.jpg", "console"),
}


@pytest.fixture(scope="module")
def samples(faces_dir):
    """Each photo's bytes and its analysis by dlib and SFace, made once for the module."""
    engine = FaceEngine(FaceSettings(extra_models=(SFACE,)))
    found = {}
    for name, (path, source) in PHOTOS.items():
        data = (faces_dir / path).read_bytes()
        found[name] = (data, source, engine.enrol_sample(data, source))
    return found


def enrol(db, worker, samples, name):
    data, source, sample = samples[name]
    return face_service.enrol(db.session, worker, data, PhotoSource(source), sample=sample)


def sface_rows(db):
    return db.session.scalars(
        select(FaceTemplate).where(FaceTemplate.model_name == SFACE).order_by(FaceTemplate.id)
    ).all()


def test_enrolment_stores_one_template_per_model_of_the_same_photo(db, world, samples):
    worker = world.workers_a[0]
    enrolment = enrol(db, worker, samples, "obama1")
    db.session.commit()
    rows = db.session.scalars(
        select(FaceTemplate).where(FaceTemplate.worker_id == worker.id).order_by(FaceTemplate.id)
    ).all()
    engine = face_service.engine()
    assert [(r.model_name, r.model_version) for r in rows] == [(m.name, m.version) for m in engine.models]
    assert [r.model_name for r in rows] == [DLIB, SFACE] and all(r.active for r in rows)
    assert {r.photo_id for r in rows} == {enrolment.photo.id} and enrolment.template.model_name == DLIB
    for row in rows:
        model = engine.model_for(row.model_name)
        assert row.vector == samples["obama1"][2].embedding_for(model.key).to_bytes()
        assert worker.id in face_service.index(model)  # one 1:N index per model
    # A template taken out of use takes every model's template of its photo with it.
    face_service.deactivate_template(db.session, enrolment.template.id)
    db.session.commit()
    assert face_service.active_templates(db.session, worker.id) == []
    assert all(worker.id not in face_service.index(m) for m in engine.models)


def test_verification_pairs_each_model_with_its_own_template(app, db, world, samples, monkeypatch):
    worker = world.workers_a[0]
    enrolment = enrol(db, worker, samples, "obama1")
    # Newer active rows of weights the engine does not hold (another SFace build, ArcFace) must never be used.
    impostor = samples["biden1"][2]
    db.session.add_all(
        [
            FaceTemplate(
                worker_id=worker.id,
                photo_id=enrolment.photo.id,
                model_name=SFACE,
                model_version="opencv_zoo-000000000000",
                vector=impostor.embedding_for(face_service.engine().models[1].key).to_bytes(),
            ),
            FaceTemplate(
                worker_id=worker.id,
                photo_id=enrolment.photo.id,
                model_name="arcface_w600k_mbf",
                model_version="insightface-9cc6e4a75f0e",
                vector=np.ones(512, "<f4").tobytes(),
            ),
        ]
    )
    db.session.commit()
    engine = face_service.engine()
    templates = face_service.active_templates(db.session, worker.id)
    assert [t.embedding.model_key for t in templates] == [m.key for m in engine.models]
    probe = samples["obama2"][2]
    enrolled = samples["obama1"][2]
    # SFace, asked first, settles this pair; asking every model (FACE_FUSED_LEAD_FIRST off) reports dlib too.
    settled = face_verify.judge(engine, [probe], templates)
    assert [v["model_name"] for v in settled.detail["per_model"]] == [SFACE]
    monkeypatch.setitem(app.config, "FACE_FUSED_LEAD_FIRST", False)
    every_model = face_service.engine()
    verdict = face_verify.judge(every_model, [probe], templates)
    assert verdict.model_name == face_verify.FUSED and verdict.decision in ("match", "review")
    assert settled.decision == verdict.decision
    assert [v["model_name"] for v in verdict.detail["per_model"]] == [m.name for m in engine.models]
    for model, reported in zip(engine.models, verdict.detail["per_model"], strict=True):
        assert (reported["model_name"], reported["model_version"]) == (model.name, model.version)
        own = model.distance(probe.embedding_for(model.key).vector, enrolled.embedding_for(model.key).vector)
        assert reported["distance"] == pytest.approx(own, abs=1e-5)
    assert settled.detail["per_model"][0] == verdict.detail["per_model"][1]


def test_reenrol_adds_the_missing_model_and_a_second_run_does_nothing(app, db, world, samples, monkeypatch):
    one, two, three = world.workers_a
    monkeypatch.setitem(app.config, "FACE_EXTRA_MODELS", ())  # a deployment from before the second model
    first = enrol(db, one, samples, "obama1")
    superseded = enrol(db, two, samples, "lennon1")
    current = enrol(db, two, samples, "biden1")
    broken = enrol(db, three, samples, "kit1")
    db.session.commit()
    monkeypatch.delitem(app.config, "FACE_EXTRA_MODELS")
    assert sface_rows(db) == [] and face_service.engine().settings.fused
    (Path(app.config["DATA_DIR"]) / broken.photo.path).write_bytes(b"\xff\xd8 no longer a photo")

    result = CliRunner().invoke(app.cli, ["face", "reenrol", "--model", SFACE, "--processes", "1"])
    assert result.exit_code == 0, result.output
    assert "3 photos to re-embed with sface_2021dec_int8bq/" in result.output, result.output
    assert "stored 2, skipped 0, refused 1" in result.output and "not_an_image" in result.output
    with open(Path(app.config["DATA_DIR"]) / "face" / f"reenrol-{SFACE}-report.csv", encoding="utf-8-sig") as handle:
        assert [(int(r["worker_id"]), r["error"]) for r in csv.DictReader(handle)] == [(three.id, "not_an_image")]
    db.session.expire_all()
    rows = sface_rows(db)
    key = face_service.engine().models[1].key
    assert [(r.worker_id, r.photo_id, r.active) for r in rows] == [
        (one.id, first.photo.id, True),
        (two.id, current.photo.id, True),
    ]
    assert superseded.photo.id not in {r.photo_id for r in rows}
    # The same photo, detected the same way, gives the vector enrolment would have stored.
    assert np.allclose(np.frombuffer(rows[0].vector, "<f4"), samples["obama1"][2].embedding_for(key).vector, atol=1e-5)
    assert [t.embedding.model_name for t in face_service.active_templates(db.session, two.id)] == [DLIB, SFACE]
    assert one.id in face_service.index(face_service.engine().models[1])

    again = CliRunner().invoke(app.cli, ["face", "reenrol", "--model", SFACE, "--processes", "1"])
    assert again.exit_code == 0, again.output
    assert "1 photos to re-embed" in again.output and "2 already have a template of it" in again.output
    assert "stored 0, skipped 0, refused 1" in again.output
    assert db.session.scalar(select(func.count(FaceTemplate.id)).where(FaceTemplate.model_name == SFACE)) == 2


def test_reenrol_never_stores_a_vector_under_another_model_or_on_a_superseded_photo(
    app, db, world, samples, monkeypatch
):
    worker = world.workers_a[0]
    monkeypatch.setitem(app.config, "FACE_EXTRA_MODELS", ())
    old = enrol(db, worker, samples, "obama1")
    db.session.commit()
    monkeypatch.delitem(app.config, "FACE_EXTRA_MODELS")
    sface = face_service.engine().models[1]
    work = face_reenrol.plan(db.session, sface.name, sface.version)
    assert [photo_id for photo_id, _, _ in work.todo] == [old.photo.id] and work.done == 0
    with pytest.raises(ValueError, match="expected sface"):
        face_reenrol.store(db.session, work, ReembedResult(old.photo.id, "p", samples["obama1"][2].embedding))
    new = enrol(db, worker, samples, "obama2")  # a new photo arrives while the command runs
    stale = ReembedResult(old.photo.id, "p", samples["obama1"][2].embedding_for(sface.key))
    assert face_reenrol.store(db.session, work, stale) is None
    assert [r.photo_id for r in sface_rows(db)] == [new.photo.id]
