"""One sitting on this kiosk: the paper, local answers, the server's clock and scheduled face captures."""

from __future__ import annotations

import logging
import time
from datetime import datetime

from kiosk_client.journal import Journal

log = logging.getLogger(__name__)


def parse_time(value: str) -> float:
    """Return a POSIX timestamp from the server's ISO 8601 time."""
    return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()


class ExamSession:
    """The sitting as this kiosk knows it; persisted in the journal so a restart resumes it."""

    def __init__(self, journal: Journal, state: dict) -> None:
        self.journal = journal
        self.state = state
        self.id: int = state["id"]
        self.questions: list[dict] = state["questions"]
        self.answers: dict[int, str] = journal.answers(self.id)
        self.handled_nonces: set[str] = set()

    @classmethod
    def open(cls, journal: Journal, sitting: dict, worker: dict, exam: dict) -> ExamSession:
        """Start following a sitting the server has just opened (or resumed) for this kiosk."""
        state = {
            "id": sitting["id"],
            "questions": sitting["questions"],
            "worker": worker,
            "exam": exam,
            "current": 0,
            "deadline": parse_time(sitting["deadline_at"]),
            "offset": 0.0,
            "submitting": False,
        }
        session = cls(journal, state)
        session.sync_clock(sitting)
        journal.adopt_answers(
            session.id,
            {**{int(k): v for k, v in sitting.get("answers", {}).items()}, **journal.pending_answers(session.id)},
        )
        session.answers = journal.answers(session.id)
        session.save()
        return session

    @classmethod
    def resume(cls, journal: Journal) -> ExamSession | None:
        """Return the sitting the journal was following when the kiosk stopped, if any."""
        state = journal.get("sitting")
        return cls(journal, state) if state else None

    def save(self) -> None:
        """Write the sitting's state to the journal."""
        self.journal.put("sitting", self.state)

    def sync_clock(self, body: dict) -> None:
        """Adopt the server's clock from any response that carries server_time."""
        if body.get("server_time"):
            self.state["offset"] = parse_time(body["server_time"]) - time.time()
        if body.get("deadline_at"):
            self.state["deadline"] = parse_time(body["deadline_at"])
        elif body.get("remaining_seconds") is not None and body.get("server_time"):
            self.state["deadline"] = parse_time(body["server_time"]) + float(body["remaining_seconds"])

    def server_now(self) -> float:
        """Return the server's time now, from the last offset seen."""
        return time.time() + self.state["offset"]

    def remaining_seconds(self) -> int:
        """Return the seconds left by the server's clock."""
        return max(0, int(self.state["deadline"] - self.server_now()))

    def adopt_server_answers(self, server_answers: dict, read_since: float | None = None) -> None:
        """Take the server's saved answers, keeping any newer local answer still on its way.

        ``read_since`` is when the server's copy began to be read: answers delivered since then are kept too.
        """
        pending = self.journal.pending_answers(self.id, since=read_since)
        merged = {**{int(k): v for k, v in server_answers.items()}, **pending}
        self.journal.adopt_answers(self.id, merged)
        self.answers = self.journal.answers(self.id)

    def answer(self, item_no: int, response: str) -> None:
        """Record an answer locally (fsynced) and queue it for the server."""
        if not any(q["item_no"] == item_no for q in self.questions):
            raise ValueError(f"no item {item_no} on this paper")
        response = "".join(sorted(set(response.upper())))
        self.journal.record_answer(self.id, item_no, response)
        self.answers[item_no] = response
        log.info("sitting %s: item %s answered %r", self.id, item_no, response)

    def go(self, index: int) -> None:
        """Move to the question at index."""
        self.state["current"] = max(0, min(len(self.questions) - 1, index))
        self.save()

    def submit(self) -> None:
        """Queue the submission after the answers."""
        self.state["submitting"] = True
        self.journal.record_submit(self.id)
        self.save()
        log.info("sitting %s: submission queued", self.id)

    def finish(self) -> None:
        """Forget the sitting: it is graded, closed or gone elsewhere."""
        self.journal.forget("sitting")

    def view(self) -> dict:
        """Return what the screen shows of the sitting."""
        return {
            "sitting_id": self.id,
            "current": self.state["current"],
            "total": len(self.questions),
            "answers": {str(k): v for k, v in self.answers.items()},
            "remaining_seconds": self.remaining_seconds(),
            "answered": sum(1 for v in self.answers.values() if v),
            "worker": self.state.get("worker"),
            "exam": self.state.get("exam"),
            "submitting": self.state["submitting"],
            "pending": self.journal.pending_count(self.id),
        }
