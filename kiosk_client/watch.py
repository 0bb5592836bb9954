"""Poll the server's clock during the exam: keep its time, follow its status, answer face re-checks."""

from __future__ import annotations

import logging
import threading
import time
from typing import TYPE_CHECKING

from kiosk_client.api import Refusal, ServerUnreachable
from kiosk_client.camera import CameraError
from kiosk_client.exam import parse_time
from kiosk_client.replies import end_sitting, show_outcome

if TYPE_CHECKING:
    from kiosk_client.app import KioskApp

log = logging.getLogger(__name__)
POLL_SECONDS = 5.0
EXAM_SCREENS = ("exam", "review", "submitting")


class ClockWatch:
    """A thread that polls /clock every few seconds while a sitting is on screen."""

    def __init__(self, app: KioskApp, poll_seconds: float = POLL_SECONDS) -> None:
        self.app = app
        self.poll_seconds = poll_seconds
        self.online = True
        self._synced: int | None = None
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="clock", daemon=True)

    def start(self) -> None:
        """Start polling."""
        self._thread.start()

    def stop(self) -> None:
        """Stop polling."""
        self._stop.set()
        self._wake.set()
        self._thread.join(timeout=10)

    def poke(self) -> None:
        """Poll now."""
        self._wake.set()

    def _sleep(self, seconds: float) -> None:
        self._wake.wait(max(0.0, seconds))
        self._wake.clear()

    def _run(self) -> None:
        while not self._stop.is_set():
            exam = self.app.exam
            if exam is None or self.app.screen not in EXAM_SCREENS:
                self._sleep(0.5)
                continue
            try:
                delay = self._tick(exam)
            except ServerUnreachable as exc:
                if self.online:
                    log.warning("clock: server unreachable, the exam goes on locally: %s", exc)
                    self.online = False
                    self.app.touch()
                self._deadline(exam)
                delay = self.poll_seconds
            except Refusal as refusal:
                log.warning("clock of sitting %s refused: %s", exam.id, refusal)
                end_sitting(self.app, refusal.code, refusal.message)
                delay = self.poll_seconds
            self._sleep(delay)

    def _tick(self, exam) -> float:
        """Poll once; return how long to wait before the next poll."""
        if self._synced != exam.id:
            # After a restart or a check-in, adopt what the server already holds before going on.
            reading = time.time()
            sitting = self.app.api.sitting(exam.id)
            exam.adopt_server_answers(sitting.get("answers", {}), read_since=reading)
            self._synced = exam.id
        body = self.app.api.clock(exam.id)
        if not self.online:
            log.info("clock: server reachable again")
            self.online = True
            self.app.deliverer.wake()
            self.app.touch()
        exam.sync_clock(body)
        exam.save()
        if body["status"] != "in_progress":
            show_outcome(self.app)
            return self.poll_seconds
        self._deadline(exam)
        capture = body.get("capture")
        if capture and capture["nonce"] not in exam.handled_nonces:
            wait = parse_time(capture["due_at"]) - exam.server_now()
            if wait > self.poll_seconds:
                return self.poll_seconds
            self._sleep(wait)
            self._capture(exam, capture["nonce"])
        return self.poll_seconds

    def _capture(self, exam, nonce: str) -> None:
        exam.handled_nonces.add(nonce)
        self.app.capture_started()
        try:
            frame = self.app.filming.still()
        except CameraError as exc:
            log.error("face re-check of sitting %s: no camera frame: %s", exam.id, exc)
            self.app.capture_taken()
            return
        self.app.capture_taken()
        self.app.journal.record_capture(exam.id, nonce, frame)
        log.info("face re-check of sitting %s: frame of %d bytes queued", exam.id, len(frame))
        self.app.deliverer.wake()

    def _deadline(self, exam) -> None:
        """Submit when the (server's) time is up, even while the server cannot be reached."""
        if exam.remaining_seconds() <= 0 and not exam.state["submitting"]:
            log.info("sitting %s: time is up, submitting", exam.id)
            exam.submit()
            self.app.show("submitting")
            self.app.deliverer.wake()
