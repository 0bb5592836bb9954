"""The durable state of queued work: jobs, chunks leased to one worker, items done exactly once, periodic slots.

The queue (exam_server/jobs) only carries messages; what has been done lives here, in the database
every host shares. A chunk is leased to one worker and the lease is renewed after every item, so a
worker killed mid-chunk leaves a lease that runs out and the chunk is queued again. Each item is
marked done by a conditional UPDATE in the same transaction as its work: a second worker on the
same chunk finds the item done and rolls its own work back, so nothing is done twice.
"""

from __future__ import annotations

import os
import socket
import threading
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Connection, Engine, and_, case, delete, exists, func, insert, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from exam_server.database import DbSession, rows_touched
from exam_server.models import (
    FINISHED_JOB_STATES,
    ChunkState,
    ItemState,
    Job,
    JobChunk,
    JobItem,
    JobState,
    PeriodicJob,
    PeriodicRun,
    User,
    utcnow,
)

RATE_WINDOW_SECONDS = 60.0
SHOWN_REFUSALS = 200


def owner_name() -> str:
    """Name this process as a lease holder: host and process id."""
    return f"{socket.gethostname()[:60]}:{os.getpid()}"


@dataclass(frozen=True)
class NewItem:
    """One item of a job being created: its file name, its key (citizen ID...) and its input bytes."""

    name: str
    key: str = ""
    payload: bytes | None = None
    refused: str | None = None  # refused before any work (a file name that is no citizen ID...)


def create(
    session: DbSession,
    kind: str,
    items: Iterable[NewItem],
    *,
    chunk_size: int,
    title: str = "",
    user_id: int | None = None,
    params: dict | None = None,
) -> Job:
    """Store a job with its items, chunk_size to a chunk; items refused up front are finished already."""
    now = utcnow()
    job = Job(kind=kind, title=title[:200], created_by_id=user_id, params=params or {}, created_at=now)
    session.add(job)
    session.flush()
    rows, chunk, in_chunk = [], 0, 0
    for item in items:
        refused = item.refused is not None
        rows.append(
            {
                "job_id": job.id,
                "chunk": -1 if refused else chunk,
                "name": item.name[:255],
                "key": item.key[:64],
                "state": ItemState.REFUSED if refused else ItemState.PENDING,
                "message": (item.refused or None) and item.refused[:255],
                "flags": 0,
                "payload": None if refused else item.payload,
                "finished_at": now if refused else None,
            }
        )
        if not refused:
            in_chunk += 1
            if in_chunk == chunk_size:
                chunk, in_chunk = chunk + 1, 0
        if len(rows) >= 500:
            session.execute(insert(JobItem), rows)
            rows = []
    if rows:
        session.execute(insert(JobItem), rows)
    chunks = chunk + (1 if in_chunk else 0)
    if chunks:
        session.execute(insert(JobChunk), [{"job_id": job.id, "number": n, "queued_at": now} for n in range(chunks)])
    job.total = session.scalar(select(func.count(JobItem.id)).where(JobItem.job_id == job.id)) or 0
    if not chunks:
        job.state, job.started_at, job.finished_at = JobState.DONE, now, now
    session.flush()
    return job


def chunk_numbers(session: DbSession, job_id: int) -> list[int]:
    """Return the numbers of the job's chunks not done yet."""
    return list(
        session.scalars(
            select(JobChunk.number)
            .where(JobChunk.job_id == job_id, JobChunk.state != ChunkState.DONE)
            .order_by(JobChunk.number)
        )
    )


def claim_chunk(session: DbSession, job_id: int, number: int, lease_seconds: float, owner: str) -> bool:
    """Lease a chunk to this worker if it is free (queued, or its holder's lease ran out); commit."""
    now = utcnow()
    open_job = exists().where(Job.id == job_id, Job.state.not_in(FINISHED_JOB_STATES))
    claimed = rows_touched(
        session.execute(
            update(JobChunk)
            .where(
                JobChunk.job_id == job_id,
                JobChunk.number == number,
                or_(
                    JobChunk.state == ChunkState.QUEUED,
                    and_(JobChunk.state == ChunkState.RUNNING, JobChunk.lease_until < now),
                ),
                open_job,
            )
            .values(
                state=ChunkState.RUNNING,
                owner=owner,
                lease_until=now + timedelta(seconds=lease_seconds),
                attempts=JobChunk.attempts + 1,
            )
            .execution_options(synchronize_session=False)
        )
    )
    if claimed:
        session.execute(
            update(Job)
            .where(Job.id == job_id, Job.state == JobState.QUEUED)
            .values(state=JobState.RUNNING, started_at=now)
            .execution_options(synchronize_session=False)
        )
    session.commit()
    return bool(claimed)


def renew(session: DbSession, job_id: int, number: int, lease_seconds: float, owner: str) -> bool:
    """Extend this worker's lease on a chunk; False if another worker took it meanwhile."""
    renewed = rows_touched(
        session.execute(
            update(JobChunk)
            .where(JobChunk.job_id == job_id, JobChunk.number == number, JobChunk.owner == owner)
            .values(lease_until=utcnow() + timedelta(seconds=lease_seconds))
            .execution_options(synchronize_session=False)
        )
    )
    session.commit()
    return bool(renewed)


@contextmanager
def keep_lease(
    engine: Engine | Connection, job_id: int, number: int, lease_seconds: float, owner: str
) -> Iterator[None]:
    """Renew this worker's lease on a chunk every third of it while one long item (an import) runs."""
    stop = threading.Event()

    def beat() -> None:
        while not stop.wait(lease_seconds / 3):
            with Session(engine) as session:
                renew(session, job_id, number, lease_seconds, owner)

    thread = threading.Thread(target=beat, name=f"lease-{job_id}-{number}", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()


@dataclass(frozen=True)
class Lease:
    """A chunk this worker holds: its job, its number and the lease's terms."""

    job: Job
    number: int
    seconds: float
    owner: str


def take_chunk(session: DbSession, job_id: int, number: int, lease_seconds: float) -> Lease | None:
    """Lease a chunk to this process and load its job; None when another worker holds it or the job is over."""
    owner = owner_name()
    if not claim_chunk(session, job_id, number, lease_seconds, owner):
        return None
    return Lease(job(session, job_id), number, lease_seconds, owner)


def each_item(session: DbSession, lease: Lease, *, long_items: bool = False) -> Iterator[int]:
    """Yield the chunk's pending items while the job runs and the lease holds; finish the chunk after the last.

    Between items the lease is renewed, and the chunk is left (not finished) when the job was cancelled or
    another worker took the lease over. A long item (a whole import or export) is covered by keep_lease too.
    """
    job_id = lease.job.id
    for item_id in pending_items(session, job_id, lease.number):
        if is_cancelled(session, job_id) or not renew(session, job_id, lease.number, lease.seconds, lease.owner):
            return
        if long_items:
            with keep_lease(session.get_bind(), job_id, lease.number, lease.seconds, lease.owner):
                yield item_id
        else:
            yield item_id
    finish_chunk(session, job_id, lease.number, lease.owner)


def active_starter(session: DbSession, job: Job) -> User | None:
    """Return the account that started the job, None if it is gone or deactivated since."""
    user = session.get(User, job.created_by_id) if job.created_by_id else None
    return user if user is not None and user.active else None


def job(session: DbSession, job_id: int) -> Job:
    """Return a job that must exist (a worker holding one of its chunks)."""
    found = session.get(Job, job_id)
    if found is None:
        raise LookupError(f"no job {job_id}")
    return found


def pending_items(session: DbSession, job_id: int, number: int) -> list[int]:
    """Return the ids of the chunk's items still to do, in upload order."""
    return list(
        session.scalars(
            select(JobItem.id)
            .where(JobItem.job_id == job_id, JobItem.chunk == number, JobItem.state == ItemState.PENDING)
            .order_by(JobItem.id)
        )
    )


def item_payload(session: DbSession, item_id: int) -> bytes | None:
    """Return an item's stored input."""
    return session.scalar(select(JobItem.payload).where(JobItem.id == item_id))


def finish_item(session: DbSession, item_id: int, state: ItemState, message: str | None = None, flags: int = 0) -> bool:
    """Mark a pending item finished, in the caller's transaction; False if another worker already did it.

    The caller commits this together with the item's work, or rolls its work back on False.
    """
    done = rows_touched(
        session.execute(
            update(JobItem)
            .where(JobItem.id == item_id, JobItem.state == ItemState.PENDING)
            .values(state=state, message=message and message[:255], flags=flags, payload=None, finished_at=utcnow())
            .execution_options(synchronize_session=False)
        )
    )
    return bool(done)


def is_cancelled(session: DbSession, job_id: int) -> bool:
    """Tell whether the job was cancelled (or otherwise finished) while a worker holds one of its chunks."""
    return session.scalar(select(Job.state).where(Job.id == job_id)) in FINISHED_JOB_STATES


def finish_chunk(session: DbSession, job_id: int, number: int, owner: str) -> None:
    """Mark this worker's chunk done and the job done once no chunk is left; commit."""
    now = utcnow()
    session.execute(
        update(JobChunk)
        .where(JobChunk.job_id == job_id, JobChunk.number == number, JobChunk.owner == owner)
        .values(state=ChunkState.DONE, lease_until=None)
        .execution_options(synchronize_session=False)
    )
    left = exists().where(JobChunk.job_id == job_id, JobChunk.state != ChunkState.DONE)
    session.execute(
        update(Job)
        .where(Job.id == job_id, Job.state == JobState.RUNNING, ~left)
        .values(state=JobState.DONE, finished_at=now)
        .execution_options(synchronize_session=False)
    )
    session.commit()


def fail(session: DbSession, job_id: int, error: str) -> None:
    """Stop a job for good with a reason the page shows; commit."""
    session.execute(
        update(Job)
        .where(Job.id == job_id, Job.state.not_in(FINISHED_JOB_STATES))
        .values(state=JobState.FAILED, error=error[:500], finished_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    session.execute(
        update(JobItem)
        .where(JobItem.job_id == job_id, JobItem.state == ItemState.PENDING)
        .values(payload=None)
        .execution_options(synchronize_session=False)
    )
    session.commit()


def cancel(session: DbSession, job: Job) -> bool:
    """Cancel a job that is not finished: workers stop before their next item; inputs left are dropped."""
    if job.state in FINISHED_JOB_STATES:
        return False
    now = utcnow()
    job.state, job.cancelled_at, job.finished_at = JobState.CANCELLED, now, now
    session.execute(
        update(JobItem)
        .where(JobItem.job_id == job.id, JobItem.state == ItemState.PENDING)
        .values(payload=None)
        .execution_options(synchronize_session=False)
    )
    session.flush()
    return True


def complete(session: DbSession, job_id: int, result: bytes, name: str, mimetype: str) -> None:
    """Store the file a one-step job produced and mark the job done (caller commits)."""
    session.execute(
        update(Job)
        .where(Job.id == job_id)
        .values(state=JobState.DONE, finished_at=utcnow(), result=result, result_name=name[:200], result_type=mimetype)
        .execution_options(synchronize_session=False)
    )


def stale_chunks(
    session: DbSession, *, queue_empty: bool, requeue_after: float, max_attempts: int
) -> list[tuple[int, int]]:
    """Release chunks whose holder's lease ran out (and, on an empty queue, long-queued ones); commit.

    Return (job id, chunk number) of each, to be queued again. A chunk still queued while the
    queue holds messages is just waiting its turn and is left alone. A chunk whose workers died
    max_attempts times (a photo that kills the analysis...) fails its job instead.
    """
    now = utcnow()
    open_job = Job.state.not_in(FINISHED_JOB_STATES)
    expired = and_(JobChunk.state == ChunkState.RUNNING, JobChunk.lease_until < now)
    lost = and_(JobChunk.state == ChunkState.QUEUED, JobChunk.queued_at < now - timedelta(seconds=requeue_after))
    rows = session.execute(
        select(JobChunk.id, JobChunk.job_id, JobChunk.number, JobChunk.attempts)
        .join(Job, Job.id == JobChunk.job_id)
        .where(open_job, or_(expired, lost) if queue_empty else expired)
        .order_by(JobChunk.job_id, JobChunk.number)
    ).all()
    for dead in [r for r in rows if r.attempts >= max_attempts]:
        fail(session, dead.job_id, f"第{dead.number + 1}组照片处理了{dead.attempts}次都中断了，任务已停止")
    failed = {r.job_id for r in rows if r.attempts >= max_attempts}
    rows = [r for r in rows if r.job_id not in failed]
    if rows:
        session.execute(
            update(JobChunk)
            .where(JobChunk.id.in_([r.id for r in rows]), or_(expired, lost))
            .values(state=ChunkState.QUEUED, owner=None, lease_until=None, queued_at=now)
            .execution_options(synchronize_session=False)
        )
    session.commit()
    return [(r.job_id, r.number) for r in rows]


@dataclass(frozen=True)
class Progress:
    """What a job's page shows, read from its items."""

    job_id: int
    kind: str
    state: str
    total: int
    done: int
    enrolled: int
    skipped: int
    refused: int
    flagged: int
    remaining: int
    rate: float | None  # items per second over the last minute (or since the start)
    eta_seconds: float | None
    error: str | None
    refusals: list[dict]
    has_result: bool

    @property
    def finished(self) -> bool:
        return self.state in {s.value for s in FINISHED_JOB_STATES}

    def to_dict(self) -> dict:
        return {
            "job_id": self.job_id,
            "kind": self.kind,
            "state": self.state,
            "finished": self.finished,
            "total": self.total,
            "done": self.done,
            "enrolled": self.enrolled,
            "skipped": self.skipped,
            "refused": self.refused,
            "duplicates": self.flagged,
            "remaining": self.remaining,
            "rate_per_second": None if self.rate is None else round(self.rate, 3),
            "eta_seconds": None if self.eta_seconds is None else round(self.eta_seconds),
            "error": self.error,
            "refusals": self.refusals,
            "has_result": self.has_result,
        }


def progress(session: DbSession, job: Job, now: datetime | None = None) -> Progress:
    """Count the job's items by state, its rate over the last minute and the time left at that rate."""
    now = now or utcnow()
    counts = dict(
        session.execute(
            select(JobItem.state, func.count(JobItem.id)).where(JobItem.job_id == job.id).group_by(JobItem.state)
        ).all()
    )
    flagged = session.scalar(select(func.coalesce(func.sum(JobItem.flags), 0)).where(JobItem.job_id == job.id)) or 0
    finished = sum(counts.get(s, 0) for s in (ItemState.DONE, ItemState.SKIPPED, ItemState.REFUSED))
    remaining = counts.get(ItemState.PENDING, 0)
    rate = eta = None
    if job.started_at is not None:
        window_start = max(job.started_at, now - timedelta(seconds=RATE_WINDOW_SECONDS))
        window = (now - window_start).total_seconds()
        worked = case((JobItem.finished_at >= window_start, 1), else_=0)
        recent = session.scalar(
            select(func.coalesce(func.sum(worked), 0)).where(JobItem.job_id == job.id, JobItem.chunk >= 0)
        )
        if window > 0:
            rate = (recent or 0) / window
            eta = remaining / rate if rate and job.state not in FINISHED_JOB_STATES else None
    refusals = [
        {"file": name, "citizen_id": key, "message": message}
        for name, key, message in session.execute(
            select(JobItem.name, JobItem.key, JobItem.message)
            .where(JobItem.job_id == job.id, JobItem.state == ItemState.REFUSED)
            .order_by(JobItem.id)
            .limit(SHOWN_REFUSALS)
        )
    ]
    return Progress(
        job_id=job.id,
        kind=job.kind,
        state=JobState(job.state).value,
        total=job.total,
        done=finished,
        enrolled=counts.get(ItemState.DONE, 0),
        skipped=counts.get(ItemState.SKIPPED, 0),
        refused=counts.get(ItemState.REFUSED, 0),
        flagged=int(flagged),
        remaining=remaining,
        rate=rate,
        eta_seconds=eta,
        error=job.error,
        refusals=refusals,
        has_result=job.result_name is not None,
    )


def refusals(session: DbSession, job_id: int) -> Sequence[tuple[str, str, str | None]]:
    """Return every refused item of a job: (file, key, reason)."""
    return session.execute(
        select(JobItem.name, JobItem.key, JobItem.message)
        .where(JobItem.job_id == job_id, JobItem.state == ItemState.REFUSED)
        .order_by(JobItem.id)
    ).all()


# Periodic jobs: one run per time slot across every host, never two at once.


def claim_slot(session: DbSession, name: str, slot: int, lease_seconds: float, owner: str) -> PeriodicRun | None:
    """Take a periodic job's time slot if no host took it or a later one and no run holds the lease; commit."""
    now = utcnow()
    if session.get(PeriodicJob, name) is None:
        try:
            session.add(PeriodicJob(name=name, slot=0))
            session.commit()
        except IntegrityError:
            session.rollback()  # another host created the row first
    claimed = rows_touched(
        session.execute(
            update(PeriodicJob)
            .where(
                PeriodicJob.name == name,
                PeriodicJob.slot < slot,
                or_(PeriodicJob.lease_until.is_(None), PeriodicJob.lease_until < now),
            )
            .values(slot=slot, owner=owner, lease_until=now + timedelta(seconds=lease_seconds))
            .execution_options(synchronize_session=False)
        )
    )
    if not claimed:
        session.rollback()
        return None
    run = PeriodicRun(name=name, slot=slot, owner=owner, started_at=now)
    session.add(run)
    session.commit()
    return run


def renew_slot(session: DbSession, name: str, lease_seconds: float, owner: str) -> None:
    """Extend the lease of the periodic run this worker holds; commit."""
    session.execute(
        update(PeriodicJob)
        .where(PeriodicJob.name == name, PeriodicJob.owner == owner)
        .values(lease_until=utcnow() + timedelta(seconds=lease_seconds))
        .execution_options(synchronize_session=False)
    )
    session.commit()


def finish_slot(session: DbSession, run_id: int, owner: str, result: dict | None, error: str | None = None) -> None:
    """Record a periodic run's outcome and free its lease; commit."""
    now = utcnow()
    run = session.get(PeriodicRun, run_id)
    if run is not None:
        run.finished_at, run.result, run.error = now, result, error and error[:500]
        session.execute(
            update(PeriodicJob)
            .where(PeriodicJob.name == run.name, PeriodicJob.owner == owner)
            .values(lease_until=None)
            .execution_options(synchronize_session=False)
        )
    session.commit()


def prune(session: DbSession, *, runs_older_than: timedelta, jobs_older_than: timedelta) -> dict[str, int]:
    """Delete old periodic runs and finished jobs (their items and files with them); commit."""
    now = utcnow()
    runs = rows_touched(session.execute(delete(PeriodicRun).where(PeriodicRun.started_at < now - runs_older_than)))
    old_jobs = select(Job.id).where(Job.state.in_(FINISHED_JOB_STATES), Job.finished_at < now - jobs_older_than)
    ids = list(session.scalars(old_jobs))
    for start in range(0, len(ids), 500):
        part = ids[start : start + 500]
        session.execute(delete(JobItem).where(JobItem.job_id.in_(part)))
        session.execute(delete(JobChunk).where(JobChunk.job_id.in_(part)))
        session.execute(delete(Job).where(Job.id.in_(part)))
    session.commit()
    return {"periodic_runs": runs, "jobs": len(ids)}
