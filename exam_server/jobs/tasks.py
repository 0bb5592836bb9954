"""What the job workers run: a chunk of any kind of job, and the periodic jobs (one run per slot across hosts)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from flask import current_app
from sqlalchemy import select

from exam_server.database import DbSession
from exam_server.extensions import db, job_queue
from exam_server.jobs.queue import AppQueue, Periodic
from exam_server.models import Job
from exam_server.services import job_state
from exam_server.services.admin import import_jobs, notifications, renewals
from exam_server.services.exam import sittings
from exam_server.services.faces import face_service, index_sync, photo_jobs, reenrol_jobs
from exam_server.services.reporting import export_jobs

log = logging.getLogger(__name__)

# kind of job: function(session, job id, chunk number, lease seconds) doing that chunk's pending items.
CHUNK_RUNNERS: dict[str, Callable[[DbSession, int, int, float], dict[str, Any]]] = {
    photo_jobs.KIND: photo_jobs.run_chunk,
    reenrol_jobs.KIND: reenrol_jobs.run_chunk,
    import_jobs.KIND: import_jobs.run_chunk,
    export_jobs.KIND: export_jobs.run_chunk,
}


def run_chunk(job_id: int, number: int) -> dict[str, Any] | None:
    """Do one chunk of a job, whatever its kind; an error leaves the lease to run out and the chunk is retried."""
    kind = db.session.scalar(select(Job.kind).where(Job.id == job_id))
    runner = CHUNK_RUNNERS.get(kind or "")
    if runner is None:
        log.warning("job %s: no such job or unknown kind %r; message dropped", job_id, kind)
        return None
    result = runner(db.session, job_id, number, float(current_app.config["JOB_LEASE_SECONDS"]))
    log.info("job %s chunk %s: %s", job_id, number, result)
    return result


def start(job_id: int) -> None:
    """Queue every chunk of a committed job that is not done."""
    for number in job_state.chunk_numbers(db.session, job_id):
        job_queue.current.enqueue("job_chunk", job_id, number)


def sweep(session: DbSession) -> dict[str, Any]:
    """Auto-submit overdue sittings, expire check-ins and record missed captures."""
    return sittings.sweep(session)


def recover_chunks(session: DbSession) -> dict[str, Any]:
    """Queue again the chunks whose worker died (lease ran out); fail a job whose chunk keeps dying."""
    config = current_app.config
    queue = job_queue.current
    stale = job_state.stale_chunks(
        session,
        queue_empty=queue.pending() == 0,
        requeue_after=float(config["JOB_REQUEUE_SECONDS"]),
        max_attempts=int(config["JOB_MAX_ATTEMPTS"]),
    )
    for job_id, number in stale:
        queue.enqueue("job_chunk", job_id, number)
    return {"requeued": len(stale)}


def purge_evidence(session: DbSession) -> dict[str, Any]:
    """Delete evidence frames past the retention period (face_service.purge_evidence)."""
    return {"files": face_service.purge_evidence(session, int(current_app.config["EVIDENCE_RETENTION_DAYS"]))}


def housekeeping(session: DbSession) -> dict[str, Any]:
    """Drop finished jobs after a month, periodic runs after two days and index changes every host applied."""
    pruned = job_state.prune(session, runs_older_than=timedelta(days=2), jobs_older_than=timedelta(days=30))
    return pruned | {"index_changes": index_sync.prune_changes(session)}


# The periodic jobs: name, seconds between runs (a number, or the app-config key holding it; 0 turns
# a job off), and function(session) -> dict stored with the run. Adding one is one line here.
PERIODIC = (
    Periodic("sweep", "SWEEP_SECONDS", sweep),
    Periodic("job_recovery", "JOB_RECOVER_SECONDS", recover_chunks),
    Periodic("evidence_purge", "EVIDENCE_PURGE_SECONDS", purge_evidence),
    Periodic("housekeeping", 3600, housekeeping),
    # Expiry shows in the statistics once this has run past the bureau's midnight (docs/certificates.md).
    Periodic("certificate_renewals", 3600, renewals.run),
    Periodic("notifications_queue", 300, notifications.queue_due),
    Periodic("notifications_dispatch", 60, notifications.dispatch),
)


def register(queue: AppQueue) -> None:
    """Give an app's queue its tasks and periodic jobs (create_app calls this)."""
    queue.task("job_chunk")(run_chunk)
    for periodic in PERIODIC:
        queue.periodic(periodic)
