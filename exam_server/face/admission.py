"""Admit face analyses oldest first and turn away, at once, any that would wait longer than a kiosk should."""

from __future__ import annotations

import itertools
import math
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

# Kiosks turned away come back no sooner than this: a queue just over its limit would otherwise be asked
# again every second by every kiosk it turned away (measured: 2,577 busy replies in a 150 s storm).
MIN_RETRY_SECONDS = 5


class FaceBusy(Exception):
    """Raise when the queue ahead would take longer than the allowed wait; come back after retry_after seconds."""

    def __init__(self, retry_after: int, waiting_seconds: float) -> None:
        super().__init__(f"face analyses queued for about {waiting_seconds:.0f} s; retry after {retry_after} s")
        self.retry_after = retry_after
        self.waiting_seconds = waiting_seconds


class FaceQueue:
    """A gate for this process's face work, oldest request first, with an estimate of the wait ahead.

    Face analysis is CPU-bound and dlib holds the GIL while it encodes, so threads of one process
    gain nothing by analysing at once; interleaved, they all finish late together, and under a
    check-in storm every kiosk times out. In order, the oldest request finishes first, and a
    request that would wait longer than ``max_wait`` seconds is refused before any work is done.

    "Oldest" is the request's `since` (default: when it arrived): a check-in burst sent again after a
    face_busy reply gives the check-in's age, so it keeps its place ahead of bursts that began later
    instead of queueing behind them (measured: a storm's last kiosks were turned away again and again,
    the longest waiting 84 s). What a request costs is learnt per kind (a 16-frame burst, a capture):
    a burst's frames are not alike in cost, so counting frames misjudged one kind by the other.
    """

    def __init__(self, max_wait: float, concurrency: int = 1, seconds_per_frame: float = 0.3) -> None:
        if concurrency < 1:
            raise ValueError("concurrency must be at least 1")
        self.max_wait = max_wait
        self.concurrency = concurrency
        self.seconds_per_frame = seconds_per_frame  # updated from what each admitted request took
        self.seconds_by_kind: dict[str, float] = {}  # each kind's moving average, once one has run
        self._cond = threading.Condition()
        self._waiting: list[_Request] = []
        self._running: list[_Request] = []
        self._arrivals = itertools.count()

    def _cost(self, request: _Request) -> float:
        known = self.seconds_by_kind.get(request.kind) if request.kind else None
        return known if known is not None else request.frames * self.seconds_per_frame

    def estimated_wait(self, since: float | None = None) -> float:
        """Return the seconds a request arriving now (as old as `since`, if given) would wait before its turn."""
        with self._cond:
            return self._wait_locked(since)

    def _wait_locked(self, since: float | None = None) -> float:
        ahead = [r for r in self._waiting if since is None or r.since <= since]
        return sum(self._cost(r) for r in [*self._running, *ahead]) / self.concurrency

    def admit(self, since: float | None = None) -> None:
        """Raise FaceBusy if a request arriving now would wait longer than max_wait; cheap, so call it first."""
        wait = self.estimated_wait(since)
        if wait > self.max_wait:
            raise FaceBusy(max(MIN_RETRY_SECONDS, math.ceil(wait - self.max_wait)), wait)

    @contextmanager
    def turn(self, frames: int = 1, kind: str = "", since: float | None = None) -> Iterator[None]:
        """Wait for this request's turn to analyse `frames` frames, behind every older request.

        kind: what the request is (its cost is learnt per kind); since: how old it is (time.time()),
        default now.
        """
        request = _Request(time.time() if since is None else since, next(self._arrivals), frames, kind)
        with self._cond:
            self._waiting.append(request)
            while len(self._running) >= self.concurrency or min(self._waiting) is not request:
                self._cond.wait()
            self._waiting.remove(request)
            self._running.append(request)
            self._cond.notify_all()  # the next in line may start too when concurrency allows
        started = time.monotonic()
        try:
            yield
        finally:
            elapsed = time.monotonic() - started
            with self._cond:
                self._running.remove(request)
                # Moving averages follow the machine's speed and the models in use without a setting.
                self.seconds_per_frame = 0.8 * self.seconds_per_frame + 0.2 * elapsed / max(frames, 1)
                if kind:
                    before = self.seconds_by_kind.get(kind, elapsed)
                    self.seconds_by_kind[kind] = 0.8 * before + 0.2 * elapsed
                self._cond.notify_all()


@dataclass(frozen=True, order=True)
class _Request:
    """A request in the queue, ordered by age, then by arrival."""

    since: float
    arrival: int
    frames: int = field(compare=False)
    kind: str = field(compare=False)
