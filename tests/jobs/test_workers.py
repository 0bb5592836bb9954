"""Done-when of the job queue, with real `exam-server worker` processes on the embedded queue and on Redis."""

from __future__ import annotations

import io
import re

import pytest
from sqlalchemy import func, select

from exam_server.extensions import db as sqla
from exam_server.jobs import tasks
from exam_server.models import AuditLog, FacePhoto, ItemState, Job, JobChunk, JobItem, PeriodicRun
from exam_server.services import job_state
from exam_server.services.faces import face_service, photo_jobs
from tests import factories
from tests.jobs.conftest import PHOTOS, photo_zip, wait_until

pytestmark = pytest.mark.slow


def _workers(db, world, count: int):
    extra = [factories.worker(db.session, world.enterprise_a) for _ in range(count - len(world.workers_a))]
    db.session.commit()
    return world.workers_a + extra


def _queue_zip(host, db, world, faces_dir, workers, chunk_size: int) -> int:
    """Create the ZIP job from the web side of `host` and queue its chunks; return the job id."""
    web = host.app()
    with web.app_context():
        user = sqla.session.get(type(world.city), world.city.id)
        job = photo_jobs.create(sqla.session, io.BytesIO(photo_zip(faces_dir, workers)), "t.zip", user, chunk_size)
        sqla.session.commit()
        job_id = job.id
        tasks.start(job_id)
    return job_id


def _counts(db, job_id: int) -> dict:
    db.session.rollback()  # see the workers' commits
    return dict(
        db.session.execute(
            select(JobItem.state, func.count(JobItem.id)).where(JobItem.job_id == job_id).group_by(JobItem.state)
        ).all()
    )


def _job(db, job_id: int) -> Job:
    db.session.rollback()
    return db.session.get(Job, job_id)


def test_a_zip_enrolment_survives_killing_its_worker_midway(db, world, make_host, faces_dir):
    workers = _workers(db, world, len(PHOTOS))
    first, second = make_host("host-a"), make_host("host-b")
    first.start_worker()
    job_id = _queue_zip(first, db, world, faces_dir, workers, chunk_size=4)
    # Kill the worker while it is inside the first chunk: some photos done, the chunk not finished.
    wait_until(lambda: 0 < _counts(db, job_id).get(ItemState.DONE, 0) < 3, 120, "no photo was enrolled")
    first.kill()
    midway = _counts(db, job_id)
    assert midway.get(ItemState.PENDING, 0) > 0
    # A worker started afterwards (on another host) takes the dead worker's chunk once its lease runs out.
    second.start_worker()
    wait_until(lambda: _job(db, job_id).state.value == "done", 120, f"job did not finish: {_counts(db, job_id)}")

    counts = _counts(db, job_id)
    assert counts.get(ItemState.PENDING, 0) == 0 and sum(counts.values()) == len(PHOTOS)
    enrolled = counts.get(ItemState.DONE, 0)
    assert enrolled >= 6, counts  # the real photos pass (a refused one would carry its reason)
    photos_per_worker = dict(
        db.session.execute(
            select(FacePhoto.worker_id, func.count(FacePhoto.id))
            .where(FacePhoto.worker_id.in_([w.id for w in workers]))
            .group_by(FacePhoto.worker_id)
        ).all()
    )
    assert set(photos_per_worker.values()) == {1} and len(photos_per_worker) == enrolled  # each photo once
    assert db.session.scalar(select(func.count(AuditLog.id)).where(AuditLog.action == "face_enrolled")) == enrolled
    progress = job_state.progress(db.session, _job(db, job_id)).to_dict()
    assert progress["done"] == progress["total"] == len(PHOTOS) and progress["remaining"] == 0
    assert progress["enrolled"] == enrolled and progress["state"] == "done"
    attempts = db.session.scalars(select(JobChunk.attempts).where(JobChunk.job_id == job_id)).all()
    assert max(attempts) == 2  # the chunk the killed worker held was taken once more, no chunk more than that
    assert "job_recovery" in second.output()


def test_two_workers_share_one_job_and_each_host_finds_the_others_enrolments(db, world, make_host, faces_dir):
    workers = _workers(db, world, len(PHOTOS))
    one, two, web = make_host("host-1"), make_host("host-2"), make_host("web")
    one.start_worker()
    two.start_worker()
    job_id = _queue_zip(web, db, world, faces_dir, workers, chunk_size=1)
    wait_until(lambda: _job(db, job_id).state.value == "done", 120, f"job did not finish: {_counts(db, job_id)}")
    owners = set(db.session.scalars(select(JobChunk.owner).where(JobChunk.job_id == job_id)))
    assert len(owners) == 2, owners  # both workers took chunks of the one job
    # Each worker host wrote the photos it enrolled into its own data folder...
    assert all(any((host.data_dir / "photos").rglob("*.jpg")) for host in (one, two))
    # ...and the web host, which enrolled nothing, finds every one of them in its own index files.
    enrolled = db.session.scalars(select(FacePhoto).where(FacePhoto.worker_id.in_([w.id for w in workers]))).all()
    with web.app().app_context():
        for photo in enrolled[:3]:
            image = ((one.data_dir if (one.data_dir / photo.path).exists() else two.data_dir) / photo.path).read_bytes()
            sample = face_service.engine().enrol_sample(image, "batch")
            for model in face_service.engine().models:
                hits = face_service.index(model).search(sample.embedding_for(model.key).vector, k=1)
                assert hits and hits[0].worker_id == photo.worker_id, (model.key, hits)


def test_the_periodic_sweep_runs_once_per_slot_across_two_workers(db, make_host):
    settings = {"EXAM_SWEEP_SECONDS": "1"}
    one, two = make_host("host-1", **settings), make_host("host-2", **settings)
    one.start_worker()
    two.start_worker()

    def runs():
        db.session.rollback()
        return db.session.scalars(
            select(PeriodicRun).where(PeriodicRun.name == "sweep", PeriodicRun.finished_at.is_not(None))
        ).all()

    wait_until(lambda: len(runs()) >= 5, 60, "the sweep did not run five times")
    one.stop()
    two.stop()
    done = sorted(runs(), key=lambda r: r.started_at)
    assert len({r.slot for r in done}) == len(done)  # one run per slot (the database also refuses a second)
    assert all(set(r.result) == {"submitted", "checkins_expired", "captures_missed"} for r in done)
    assert all(a.finished_at <= b.started_at for a, b in zip(done, done[1:], strict=False))  # never two at once
    # Both schedulers queued every slot, so each slot was offered twice: half the offers were refused.
    executed = sum(len(re.findall(r"Executing exam_server\.jobs\.queue\.periodic_run", h.output())) for h in (one, two))
    assert executed >= 2 * len(done) - 2, (executed, len(done))
