"""Deliver the journal's outbox to the server in order, backing off while it cannot be reached."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from kiosk_client.api import KioskApi, Refusal, ServerUnreachable
from kiosk_client.journal import Entry, Journal

log = logging.getLogger(__name__)
FIRST_BACKOFF, MAX_BACKOFF = 0.5, 10.0
# Refusals about the kiosk itself: the message is fine, the kiosk is not; keep it for later.
HOLD_CODES = {"kiosk_unauthorized", "kiosk_disabled"}


class Deliverer:
    """A background thread that sends each outbox message once the previous one got an answer."""

    def __init__(
        self, journal: Journal, api: KioskApi, on_reply: Callable[[Entry, dict | None, Refusal | None], None]
    ) -> None:
        self.journal = journal
        self.api = api
        self.on_reply = on_reply
        self.online = True
        self.last_error = ""
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread = threading.Thread(target=self._run, name="delivery", daemon=True)

    def start(self) -> Deliverer:
        """Start delivering."""
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop after the message being sent."""
        self._stop.set()
        self._wake.set()
        self._thread.join(timeout=10)

    def wake(self) -> None:
        """Try now: something was queued, or the server answered another request."""
        self._wake.set()

    def _send(self, entry: Entry) -> dict:
        if entry.kind == "answer":
            assert entry.item_no is not None and entry.response is not None  # the journal writes both with an answer
            return self.api.save_answer(entry.sitting_id, entry.item_no, entry.response, entry.idempotency_key)
        if entry.kind == "capture":
            assert entry.nonce is not None and entry.frame is not None  # the journal writes both with a capture
            return self.api.capture(entry.sitting_id, entry.nonce, entry.frame)
        return self.api.submit(entry.sitting_id, entry.idempotency_key)

    def _run(self) -> None:
        backoff = FIRST_BACKOFF
        while not self._stop.is_set():
            entry = self.journal.next_pending()
            if entry is None:
                self._wake.wait(1.0)
                self._wake.clear()
                continue
            self.journal.attempted(entry.seq)
            try:
                body = self._send(entry)
            except ServerUnreachable as exc:
                self._offline(str(exc), backoff)
                backoff = min(backoff * 2, MAX_BACKOFF)
                continue
            except Refusal as refusal:
                if refusal.code in HOLD_CODES:
                    self._offline(str(refusal), backoff)
                    backoff = min(backoff * 2, MAX_BACKOFF)
                    self.on_reply(entry, None, refusal)
                    continue
                log.warning("delivery: %s #%s (%s) refused: %s", entry.kind, entry.seq, entry.item_no, refusal)
                self.journal.finish(entry.seq, refusal.code)
                self.on_reply(entry, None, refusal)
            else:
                self.journal.finish(entry.seq, "ok")
                self.on_reply(entry, body, None)
            if not self.online:
                log.info("delivery: server reachable again")
            self.online, self.last_error, backoff = True, "", FIRST_BACKOFF

    def _offline(self, error: str, backoff: float) -> None:
        if self.online:
            log.warning("delivery: server unreachable, keeping messages in the journal: %s", error)
        self.online, self.last_error = False, error
        # Wake early when another request proved the server is back.
        self._wake.wait(backoff)
        self._wake.clear()
