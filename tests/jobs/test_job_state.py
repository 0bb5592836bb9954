"""Job state without worker processes: leases, exactly-once items, progress, cancelling, periodic slots."""

from __future__ import annotations

import io
from datetime import timedelta

from sqlalchemy import select, update

from exam_server.jobs import tasks
from exam_server.models import ChunkState, ItemState, Job, JobChunk, JobItem, JobState, PeriodicJob, utcnow
from exam_server.services import job_state
from exam_server.services.faces import photo_jobs
from tests.jobs.conftest import photo_zip


def _job(db, items: int, chunk_size: int = 2) -> Job:
    job = job_state.create(
        db.session, "test", (job_state.NewItem(f"f{n}.jpg", str(n), b"x") for n in range(items)), chunk_size=chunk_size
    )
    db.session.commit()
    return job


def test_items_are_split_into_chunks_and_refusals_before_work_count_as_done(db):
    items = [job_state.NewItem("a.jpg", "1", b"a"), job_state.NewItem("bad.jpg", "bad", refused="not an ID")]
    items += [job_state.NewItem(f"{n}.jpg", str(n), b"p") for n in range(4)]
    job = job_state.create(db.session, "test", items, chunk_size=2)
    db.session.commit()
    assert job.total == 6 and job_state.chunk_numbers(db.session, job.id) == [0, 1, 2]
    progress = job_state.progress(db.session, job)
    assert (progress.done, progress.refused, progress.remaining) == (1, 1, 5)
    assert progress.refusals == [{"file": "bad.jpg", "citizen_id": "bad", "message": "not an ID"}]


def test_a_chunk_is_leased_to_one_worker_and_each_item_is_finished_once(db):
    job = _job(db, 4)
    assert job_state.claim_chunk(db.session, job.id, 0, 60, "host-a:1")
    assert not job_state.claim_chunk(db.session, job.id, 0, 60, "host-b:2")  # held
    first = job_state.pending_items(db.session, job.id, 0)[0]
    assert job_state.finish_item(db.session, first, ItemState.DONE)
    db.session.commit()
    assert not job_state.finish_item(db.session, first, ItemState.DONE)  # a second worker must roll back
    db.session.rollback()
    assert db.session.get(JobItem, first).payload is None  # the input is dropped once done
    # The holder dies: once its lease ran out another worker takes the chunk, and the holder's renewals fail.
    db.session.execute(
        update(JobChunk).where(JobChunk.job_id == job.id).values(lease_until=utcnow() - timedelta(seconds=1))
    )
    db.session.commit()
    assert job_state.claim_chunk(db.session, job.id, 0, 60, "host-b:2")
    assert not job_state.renew(db.session, job.id, 0, 60, "host-a:1")
    assert job_state.pending_items(db.session, job.id, 0) == [first + 1]


def test_a_dead_workers_chunk_is_queued_again_and_one_that_keeps_dying_fails_its_job(db):
    job = _job(db, 4)
    assert job_state.claim_chunk(db.session, job.id, 1, 60, "host-a:1")
    common = {"queue_empty": False, "requeue_after": 600, "max_attempts": 3}
    assert job_state.stale_chunks(db.session, **common) == []  # the lease still runs
    expire = update(JobChunk).where(JobChunk.job_id == job.id, JobChunk.number == 1)
    db.session.execute(expire.values(lease_until=utcnow() - timedelta(seconds=1)))
    db.session.commit()
    assert job_state.stale_chunks(db.session, **common) == [(job.id, 1)]
    assert (
        db.session.scalar(select(JobChunk.state).where(JobChunk.job_id == job.id, JobChunk.number == 1))
        is ChunkState.QUEUED
    )
    # A queued chunk is only sent again when the queue is empty: otherwise it is just waiting its turn.
    db.session.execute(
        update(JobChunk).where(JobChunk.job_id == job.id).values(queued_at=utcnow() - timedelta(hours=1))
    )
    db.session.commit()
    assert job_state.stale_chunks(db.session, **common) == []
    assert len(job_state.stale_chunks(db.session, **(common | {"queue_empty": True}))) == 2
    db.session.execute(expire.values(state=ChunkState.RUNNING, attempts=3, lease_until=utcnow() - timedelta(seconds=1)))
    db.session.commit()
    assert job_state.stale_chunks(db.session, **common) == []
    db.session.refresh(job)
    assert job.state is JobState.FAILED and "中断" in job.error
    assert db.session.scalar(select(JobItem.payload).where(JobItem.job_id == job.id).limit(1)) is None


def test_progress_gives_the_rate_over_the_last_minute_and_the_time_left(db):
    job = _job(db, 10, chunk_size=10)
    now = utcnow()
    job.state, job.started_at = JobState.RUNNING, now - timedelta(seconds=120)
    ids = job_state.pending_items(db.session, job.id, 0)
    for item_id in ids[:2]:  # two done long ago, three in the last minute
        db.session.execute(
            update(JobItem)
            .where(JobItem.id == item_id)
            .values(state=ItemState.DONE, finished_at=now - timedelta(seconds=100))
        )
    for item_id in ids[2:5]:
        db.session.execute(
            update(JobItem)
            .where(JobItem.id == item_id)
            .values(state=ItemState.DONE, finished_at=now - timedelta(seconds=10))
        )
    db.session.execute(update(JobItem).where(JobItem.id == ids[5]).values(state=ItemState.REFUSED, message="no face"))
    db.session.commit()
    progress = job_state.progress(db.session, job, now=now).to_dict()
    assert (progress["done"], progress["enrolled"], progress["refused"], progress["remaining"]) == (6, 5, 1, 4)
    assert progress["rate_per_second"] == round(3 / 60, 3)
    assert progress["eta_seconds"] == round(4 / (3 / 60))


def test_a_photo_job_can_be_cancelled_and_its_workers_then_do_nothing(db, world, login, faces_dir):
    manager = login(world.enterprise_admin_a)
    job = photo_jobs.create(
        db.session, io.BytesIO(photo_zip(faces_dir, world.workers_a)), "p.zip", world.enterprise_admin_a, 1
    )
    db.session.commit()
    assert manager.post(f"/console/workers/photos/{job.id}/cancel").status_code == 302
    assert login(world.city).post(f"/console/workers/photos/{job.id}/cancel").status_code == 404  # not theirs
    tasks.start(job.id)  # a message still in the queue finds the job cancelled
    status = manager.get(f"/console/workers/photos/{job.id}/status").get_json()
    assert (status["state"], status["done"], status["remaining"], status["finished"]) == ("cancelled", 0, 3, True)
    page = manager.get(f"/console/workers/photos/{job.id}").get_data(as_text=True)
    assert "已取消" in page and "取消任务" not in page
    assert db.session.scalar(select(JobItem.id).where(JobItem.job_id == job.id, JobItem.payload.is_not(None))) is None


def test_a_periodic_slot_runs_once_and_never_while_another_run_holds_the_lease(db):
    run = job_state.claim_slot(db.session, "sweep", 100, 60, "host-a:1")
    assert run is not None
    assert job_state.claim_slot(db.session, "sweep", 100, 60, "host-b:2") is None  # the same slot
    assert job_state.claim_slot(db.session, "sweep", 115, 60, "host-b:2") is None  # the next, while the first runs
    job_state.finish_slot(db.session, run.id, "host-a:1", {"submitted": 0})
    assert job_state.claim_slot(db.session, "sweep", 99, 60, "host-b:2") is None  # an older slot never runs late
    later = job_state.claim_slot(db.session, "sweep", 115, 60, "host-b:2")
    assert later is not None and db.session.get(PeriodicJob, "sweep").owner == "host-b:2"
    # A holder that died keeps the lease until it runs out, then the next slot runs elsewhere.
    db.session.execute(update(PeriodicJob).values(lease_until=utcnow() - timedelta(seconds=1)))
    db.session.commit()
    assert job_state.claim_slot(db.session, "sweep", 130, 60, "host-c:3") is not None


def test_certificate_renewals_and_reminders_run_as_periodic_jobs(db, app):
    """Renewals, queueing reminders and sending them are periodic jobs whose slots run and record a result."""
    from exam_server.extensions import job_queue
    from exam_server.models import PeriodicRun

    periods = {p.name: p for p in tasks.PERIODIC}
    assert {"certificate_renewals", "notifications_queue", "notifications_dispatch"} <= set(periods)
    queue = job_queue.current
    for slot, name in enumerate(("certificate_renewals", "notifications_queue", "notifications_dispatch"), 1):
        result = queue._run_periodic(name, 1_000_000 + slot)
        assert isinstance(result, dict), (name, result)
        stored = db.session.scalar(select(PeriodicRun).where(PeriodicRun.name == name))
        assert stored is not None and stored.result == result and stored.error is None
