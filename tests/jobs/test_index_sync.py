"""The 1:N index across hosts: each host's own index files replay the others' enrolments from the database."""

from __future__ import annotations

import time

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

from exam_server import create_app
from exam_server.extensions import db as sqla
from exam_server.face import FaceEngine, FaceSettings
from exam_server.models import FaceTemplate, PhotoSource
from exam_server.services.faces import face_service, index_sync

SYNC_SECONDS = 1.0


@pytest.fixture(scope="module")
def photos(faces_dir):
    engine = FaceEngine(FaceSettings(extra_models=("sface_2021dec_int8bq",)))
    found = {}
    for name in ("single/obama/obama1.jpg", "single/lennon/lennon1.jpg", "single/obama/obama2.jpg"):
        data = (faces_dir / name).read_bytes()
        found[name.split("/")[-1]] = (data, engine.enrol_sample(data, "batch"))
    return found


@pytest.fixture()
def other_host(app, db, tmp_path):
    """Return an app standing for a second host: the same database, its own data folder and index files."""
    return create_app(dict(app.config) | {"DATA_DIR": str(tmp_path / "host-b"), "INDEX_SYNC_SECONDS": SYNC_SECONDS})


def _search(host, sample, model_key: str):
    with host.app_context():
        model = next(m for m in face_service.engine().models if m.key == model_key)
        return face_service.index(model).search(sample.embedding_for(model_key).vector, k=1)


def test_a_worker_enrolled_on_one_host_is_found_on_another_within_the_sync_interval(db, world, photos, other_host):
    worker = world.workers_a[0]
    data, sample = photos["obama1.jpg"]
    keys = [m.key for m in face_service.engine().models]
    assert len(keys) == 2  # dlib and SFace: the mechanism knows no model, every index follows
    for key in keys:
        assert _search(other_host, sample, key) == []  # host B has looked once: its next sync is due in 1 s
    face_service.enrol(db.session, worker, data, PhotoSource.BATCH, sample=sample)
    db.session.commit()
    committed = time.monotonic()
    for key in keys:
        while not (hits := _search(other_host, sample, key)):
            assert time.monotonic() - committed < SYNC_SECONDS + 1.0, f"{key}: not found on host B"
            time.sleep(0.02)
        assert hits[0].worker_id == worker.id and hits[0].distance < 1e-4
    assert time.monotonic() - committed <= SYNC_SECONDS + 0.5
    # A re-enrolment replaces the vector everywhere; a deactivated template disappears everywhere.
    new_data, new_sample = photos["lennon1.jpg"]
    enrolment = face_service.enrol(db.session, worker, new_data, PhotoSource.BATCH, sample=new_sample)
    db.session.commit()
    time.sleep(SYNC_SECONDS)
    assert _search(other_host, new_sample, keys[0])[0].distance < 1e-4
    face_service.deactivate_template(db.session, enrolment.template.id)
    db.session.commit()
    time.sleep(SYNC_SECONDS)
    for key in keys:
        assert _search(other_host, new_sample, key) == []


def test_a_new_host_builds_its_index_from_the_database_and_a_broken_one_recovers(db, world, photos, tmp_path, app):
    for worker, name in zip(world.workers_a, ("obama1.jpg", "lennon1.jpg"), strict=False):
        data, sample = photos[name]
        face_service.enrol(db.session, worker, data, PhotoSource.BATCH, sample=sample)
    db.session.commit()
    fresh = create_app(dict(app.config) | {"DATA_DIR": str(tmp_path / "fresh")})
    with fresh.app_context():
        index = face_service.index()
        assert sorted(index.ids()) == sorted(w.id for w in world.workers_a[:2])
        # An index written by other means (a copied file) is trusted only once its sync state is gone.
        index_sync.forget(index)
        index.remove(world.workers_a[0].id)
        assert sorted(face_service.index().ids()) == sorted(w.id for w in world.workers_a[:2])
        assert index_sync.catch_up(index, face_service.engine().models[0], sqla.engine) == {"rebuilt": 0, "workers": 0}


def test_a_queued_reenrolment_adds_the_missing_model_once(app, db, world, photos, monkeypatch):
    one, two = world.workers_a[:2]
    monkeypatch.setitem(app.config, "FACE_EXTRA_MODELS", ())  # a deployment from before the second model
    for worker, name in ((one, "obama1.jpg"), (two, "lennon1.jpg")):
        face_service.enrol(db.session, worker, photos[name][0], PhotoSource.BATCH)
    db.session.commit()
    monkeypatch.delitem(app.config, "FACE_EXTRA_MODELS")
    result = CliRunner().invoke(app.cli, ["face", "reenrol", "--model", "sface_2021dec_int8bq", "--queue"])
    assert result.exit_code == 0, result.output
    assert "2 photos to re-embed" in result.output  # queued, and run at once by the test's immediate queue
    job_id = int(result.output.split()[1].rstrip(":"))
    shown = CliRunner().invoke(app.cli, ["jobs", "show", str(job_id)])
    assert ": done" in shown.output and "done 2/2: 2 done, 0 skipped, 0 refused; 0 left" in shown.output, shown.output
    db.session.expire_all()
    count = select(func.count(FaceTemplate.id)).where(FaceTemplate.model_name == "sface_2021dec_int8bq")
    assert db.session.scalar(count) == 2
    again = CliRunner().invoke(app.cli, ["face", "reenrol", "--model", "sface_2021dec_int8bq", "--queue"])
    assert "0 photos to re-embed" in again.output and db.session.scalar(count) == 2
