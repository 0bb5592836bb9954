"""The job queue of an app: Huey, embedded on a SQLite file or on Redis, plus periodic jobs run once per slot.

Huey carries the messages, schedules them and runs the worker processes. It does not acknowledge
messages, so what a killed worker was doing is not redelivered by Huey: the work's own state in
the database (services/job_state.py) is the record, and the periodic `job_recovery` queues a chunk
again once its holder's lease runs out. Periodic jobs: every worker's scheduler queues a `tick`
each minute, which schedules the coming minute's slots of every periodic job; the first worker
to claim a slot in the database runs it, and no slot starts while another run holds the lease.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask import Flask, current_app
from huey import MemoryHuey, RedisExpireHuey, SqliteHuey, crontab
from huey.api import Huey
from huey.consumer import Consumer
from sqlalchemy.orm import Session

from exam_server.config import QUEUE_SCHEMES
from exam_server.services import job_state

log = logging.getLogger(__name__)
TICK_WINDOW_SECONDS = 75.0  # a tick schedules this far ahead; ticks come every 60 s, duplicates are refused


@dataclass(frozen=True)
class Periodic:
    """A job run every `every` seconds (a number, or the app-config key holding it; 0 turns it off)."""

    name: str
    every: float | str
    run: Callable[[Session], dict[str, Any] | None]


def build_huey(url: str, name: str) -> Huey:
    """Return the Huey for a queue URL: sqlite:///FILE (embedded), redis://HOST:PORT/DB, or immediate (tests)."""
    if url == "immediate":
        return MemoryHuey(name, immediate=True, results=False)
    if url.startswith("sqlite:///"):
        return SqliteHuey(name, filename=url[len("sqlite:///") :], results=False)
    if url.startswith(("redis://", "rediss://", "unix://")):
        return RedisExpireHuey(name, url=url, results=False)
    raise ValueError(f"queue URL must start with one of {', '.join(QUEUE_SCHEMES)}: {url!r}")


class AppQueue:
    """One app's queue: its named tasks, its periodic jobs and the Huey built for them on first use."""

    def __init__(self, app: Flask) -> None:
        self.app = app
        self.tasks: dict[str, Callable[..., Any]] = {}
        self.periodic_jobs: dict[str, Periodic] = {}
        self._huey: Huey | None = None
        self._wrappers: dict[str, Any] = {}
        self._build_lock = threading.Lock()

    # Registration (exam_server/jobs/tasks.py).

    def task(self, name: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        """Register a function as the task `name`; it runs inside an app context of this app."""

        def register(func: Callable[..., Any]) -> Callable[..., Any]:
            if self._huey is not None:
                raise RuntimeError("tasks must be registered before the queue is first used")
            self.tasks[name] = func
            return func

        return register

    def periodic(self, job: Periodic) -> None:
        """Add a periodic job (see docs/scaling.md, "Adding a periodic job")."""
        self.periodic_jobs[job.name] = job

    # Use.

    @property
    def huey(self) -> Huey:
        with self._build_lock:
            if self._huey is None:
                self._huey = self._build()
            return self._huey

    def _wrapper(self, name: str) -> Any:
        if self._huey is None:
            self.huey  # noqa: B018 - builds the Huey and the task wrappers
        return self._wrappers[name]

    def _build(self) -> Huey:
        huey = build_huey(self.app.config["QUEUE_URL"], self.app.config["QUEUE_NAME"])
        for name, func in self.tasks.items():
            self._wrappers[name] = huey.task(name=name)(self._in_app(func))
        self._wrappers["periodic_run"] = huey.task(name="periodic_run")(self._in_app(self._run_periodic))
        huey.periodic_task(crontab(), name="periodic_tick")(self._tick)
        return huey

    def _in_app(self, func: Callable[..., Any]) -> Callable[..., Any]:
        def run(*args: Any) -> Any:
            with self.app.app_context():  # the session is removed when the context ends
                return func(*args)

        return run

    def enqueue(self, name: str, *args: Any, delay: float | None = None) -> None:
        """Queue the task `name` with these arguments (after `delay` seconds)."""
        wrapper = self._wrapper(name)
        if delay:
            wrapper.schedule(args=args, delay=delay)
        else:
            wrapper(*args)

    def pending(self) -> int:
        """Return the number of messages waiting in the queue."""
        return int(self.huey.pending_count())

    def consumer(self, processes: int, periodic: bool = True) -> Consumer:
        """Return a Huey consumer with `processes` worker processes (and the periodic scheduler)."""
        return self.huey.create_consumer(
            workers=processes,
            worker_type="process",
            periodic=periodic,
            scheduler_interval=1,
            initial_delay=0.1,
            max_delay=1.0,
            check_worker_health=True,
            health_check_interval=5,
        )

    # Periodic jobs.

    def every(self, job: Periodic) -> float:
        value = self.app.config.get(job.every, 0) if isinstance(job.every, str) else job.every
        return float(value or 0)

    def _tick(self) -> None:
        """Schedule the slots of every periodic job falling in the next TICK_WINDOW_SECONDS."""
        now = time.time()
        for job in self.periodic_jobs.values():
            every = self.every(job)
            if every <= 0:
                continue
            every = max(every, 1.0)
            slot = math.ceil(now / every) * every
            while slot < now + TICK_WINDOW_SECONDS:
                self.enqueue("periodic_run", job.name, int(slot), delay=max(0.0, slot - now))
                slot += every

    def _run_periodic(self, name: str, slot: int) -> dict[str, Any] | None:
        """Run one slot of a periodic job, unless another worker claimed it or a run still holds the lease."""
        job = self.periodic_jobs.get(name)
        if job is None:
            return None
        sqla = self.app.extensions["sqlalchemy"]
        lease = float(self.app.config["JOB_LEASE_SECONDS"])
        owner = job_state.owner_name()
        run = job_state.claim_slot(sqla.session, name, slot, lease, owner)
        if run is None:
            log.debug("periodic %s slot %s: taken by another worker or still running", name, slot)
            return None
        run_id = run.id
        stop = threading.Event()
        beat = threading.Thread(
            target=_heartbeat, args=(sqla.engine, name, lease, owner, stop), name=f"lease-{name}", daemon=True
        )
        beat.start()
        try:
            result = job.run(sqla.session)
            sqla.session.commit()
        except Exception as exc:  # a failed run is recorded and the next slot runs as usual
            sqla.session.rollback()
            log.exception("periodic %s slot %s failed", name, slot)
            job_state.finish_slot(sqla.session, run_id, owner, None, f"{exc.__class__.__name__}: {exc}")
            return None
        finally:
            stop.set()
            beat.join()
        job_state.finish_slot(sqla.session, run_id, owner, result)
        log.info("periodic %s slot %s: %s", name, slot, result)
        return result


def _heartbeat(engine: Any, name: str, lease: float, owner: str, stop: threading.Event) -> None:
    """Renew a periodic run's lease every third of it until the run ends."""
    while not stop.wait(lease / 3):
        try:
            with Session(engine) as session:
                job_state.renew_slot(session, name, lease, owner)
        except Exception:  # the database is away: the lease may run out, and another host takes over
            log.exception("could not renew the lease of periodic %s", name)


class JobQueue:
    """The queue extension: `init_app` gives each app its AppQueue; `current` is the current app's."""

    def init_app(self, app: Flask) -> None:
        app.extensions["job_queue"] = AppQueue(app)

    @property
    def current(self) -> AppQueue:
        return current_app.extensions["job_queue"]
