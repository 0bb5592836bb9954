"""Admit face analyses in arrival order and turn away, at once, any that would wait longer than a kiosk should."""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager

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
    """A first-come-first-served gate for this process's face work, with an estimate of the wait ahead.

    Face analysis is CPU-bound and dlib holds the GIL while it encodes, so threads of one process
    gain nothing by analysing at once; interleaved, they all finish late together, and under a
    check-in storm every kiosk times out. In order, the oldest request finishes first, and a
    request that would wait longer than ``max_wait`` seconds is refused before any work is done.
    """

    def __init__(self, max_wait: float, concurrency: int = 1, seconds_per_frame: float = 0.3) -> None:
        if concurrency < 1:
            raise ValueError("concurrency must be at least 1")
        self.max_wait = max_wait
        self.concurrency = concurrency
        self.seconds_per_frame = seconds_per_frame  # updated from what each admitted request took
        self._cond = threading.Condition()
        self._waiting: deque[tuple[object, int]] = deque()
        self._running_frames = 0
        self._running = 0

    def estimated_wait(self) -> float:
        """Return the seconds a request arriving now would wait before its analysis starts."""
        with self._cond:
            return self._wait_locked()

    def _wait_locked(self) -> float:
        frames = self._running_frames + sum(n for _, n in self._waiting)
        return frames * self.seconds_per_frame / self.concurrency

    def admit(self) -> None:
        """Raise FaceBusy if a request arriving now would wait longer than max_wait; cheap, so call it first."""
        wait = self.estimated_wait()
        if wait > self.max_wait:
            raise FaceBusy(max(MIN_RETRY_SECONDS, math.ceil(wait - self.max_wait)), wait)

    @contextmanager
    def turn(self, frames: int = 1) -> Iterator[None]:
        """Wait for this request's turn to analyse `frames` frames, behind every request that came before it."""
        ticket = object()
        with self._cond:
            self._waiting.append((ticket, frames))
            while self._running >= self.concurrency or self._waiting[0][0] is not ticket:
                self._cond.wait()
            self._waiting.popleft()
            self._running += 1
            self._running_frames += frames
            self._cond.notify_all()  # the next in line may start too when concurrency allows
        started = time.monotonic()
        try:
            yield
        finally:
            elapsed = time.monotonic() - started
            with self._cond:
                self._running -= 1
                self._running_frames -= frames
                # A moving average follows the machine's speed and the models in use without a setting.
                self.seconds_per_frame = 0.8 * self.seconds_per_frame + 0.2 * elapsed / max(frames, 1)
                self._cond.notify_all()
