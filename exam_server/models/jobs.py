"""Long work run by the job queue: a job, its chunks (what one task takes) and items (one photo, one file...)."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Index, LargeBinary, String, UniqueConstraint
from sqlalchemy.orm import Mapped, deferred, mapped_column

from exam_server.models.base import Base, enum_column, utcnow


class JobState(str, enum.Enum):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"
    CANCELLED = "cancelled"


FINISHED_JOB_STATES = (JobState.DONE, JobState.FAILED, JobState.CANCELLED)


class ChunkState(str, enum.Enum):
    QUEUED = "queued"
    RUNNING = "running"  # held by one worker until lease_until; a dead worker's chunk is taken again after it
    DONE = "done"


class ItemState(str, enum.Enum):
    PENDING = "pending"
    DONE = "done"
    SKIPPED = "skipped"  # nothing to do (the same photo is already enrolled)
    REFUSED = "refused"  # with the reason in message


class Job(Base):
    """One piece of long work started by a user or the system; its items carry the real progress."""

    __tablename__ = "job"
    __table_args__ = (Index("ix_job_owner_created", "created_by_id", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    title: Mapped[str] = mapped_column(String(200), default="")
    state: Mapped[JobState] = mapped_column(enum_column(JobState), default=JobState.QUEUED)
    params: Mapped[dict] = mapped_column(default=dict)
    total: Mapped[int] = mapped_column(default=0)
    error: Mapped[str | None] = mapped_column(String(500))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("console_user.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    cancelled_at: Mapped[datetime | None]
    # A file the job produced (an export), kept in the database so that any web host can serve it.
    result: Mapped[bytes | None] = deferred(mapped_column(LargeBinary))
    result_name: Mapped[str | None] = mapped_column(String(200))
    result_type: Mapped[str | None] = mapped_column(String(100))


class JobChunk(Base):
    """The unit one queued task works on; leased to one worker at a time."""

    __tablename__ = "job_chunk"
    __table_args__ = (
        UniqueConstraint("job_id", "number"),
        Index("ix_job_chunk_state_lease", "state", "lease_until"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    job_id: Mapped[int] = mapped_column(ForeignKey("job.id", ondelete="CASCADE"))
    number: Mapped[int]
    state: Mapped[ChunkState] = mapped_column(enum_column(ChunkState), default=ChunkState.QUEUED)
    owner: Mapped[str | None] = mapped_column(String(80))  # host:pid of the worker holding the lease
    lease_until: Mapped[datetime | None]
    attempts: Mapped[int] = mapped_column(default=0)
    queued_at: Mapped[datetime] = mapped_column(default=utcnow)


class JobItem(Base):
    """One thing to do (a photo of a ZIP, a stored photo to re-embed, an uploaded file); done exactly once."""

    __tablename__ = "job_item"
    __table_args__ = (
        Index("ix_job_item_chunk", "job_id", "chunk", "state"),
        Index("ix_job_item_finished", "job_id", "state", "finished_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    job_id: Mapped[int] = mapped_column(ForeignKey("job.id", ondelete="CASCADE"))
    chunk: Mapped[int]
    name: Mapped[str] = mapped_column(String(255), default="")  # the file's name in the upload
    key: Mapped[str] = mapped_column(String(64), default="")  # citizen ID, photo id...
    state: Mapped[ItemState] = mapped_column(enum_column(ItemState), default=ItemState.PENDING)
    message: Mapped[str | None] = mapped_column(String(255))
    flags: Mapped[int] = mapped_column(default=0)  # review cases this item opened (duplicate faces)
    # The input itself while it waits (so any worker host can take it); emptied once the item is done.
    payload: Mapped[bytes | None] = deferred(mapped_column(LargeBinary))
    finished_at: Mapped[datetime | None]


class PeriodicJob(Base):
    """The lease on a periodic job: which time slot ran last and who holds it now, across every host."""

    __tablename__ = "periodic_job"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    slot: Mapped[int] = mapped_column(BigInteger, default=0)  # epoch second of the last slot claimed
    owner: Mapped[str | None] = mapped_column(String(80))
    lease_until: Mapped[datetime | None]


class PeriodicRun(Base):
    """One run of a periodic job (kept two days): when, where and what it did."""

    __tablename__ = "periodic_run"
    __table_args__ = (UniqueConstraint("name", "slot"), Index("ix_periodic_run_started", "started_at"))

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(64))
    slot: Mapped[int] = mapped_column(BigInteger)
    owner: Mapped[str] = mapped_column(String(80))
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None]
    result: Mapped[dict | None]
    error: Mapped[str | None] = mapped_column(String(500))
