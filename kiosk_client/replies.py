"""Act on the server's replies to the journal's messages: capture decisions, results, closed sittings."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from kiosk_client.api import Refusal, ServerUnreachable
from kiosk_client.delivery import HOLD_CODES
from kiosk_client.journal import Entry

if TYPE_CHECKING:
    from kiosk_client.app import KioskApp

log = logging.getLogger(__name__)
HOLD_TEXT = "本机暂时连不上考试系统，您的答案已安全保存在本机，请继续答题。"


def handle_reply(app: KioskApp, entry: Entry, body: dict | None, refusal: Refusal | None) -> None:
    """Update the screen for one delivered (or refused) message of the current sitting."""
    exam = app.exam
    if exam is None or entry.sitting_id != exam.id:
        return
    if refusal is not None:
        _refused(app, entry, refusal)
        return
    assert body is not None  # a message that was not refused was answered
    exam.sync_clock(body)
    if entry.kind == "submit":
        app.show_result(body)
    elif entry.kind == "capture":
        log.info("face re-check of sitting %s: %s", exam.id, body["decision"])
        if body["decision"] == "suspended":
            end_sitting(app, "sitting_suspended", body.get("message", ""))
        elif body["decision"] in ("retry", "warning"):
            app.say(body["message"])


def _refused(app: KioskApp, entry: Entry, refusal: Refusal) -> None:
    if refusal.code in HOLD_CODES:
        app.say(HOLD_TEXT)
    elif refusal.code == "sitting_closed":
        show_outcome(app)
    elif refusal.code in ("sitting_suspended", "sitting_elsewhere", "sitting_not_found"):
        end_sitting(app, refusal.code, refusal.message)
    else:
        # A late capture nonce or a malformed message: recorded in the journal, nothing for the worker.
        log.warning("%s of sitting %s refused: %s", entry.kind, entry.sitting_id, refusal)


def end_sitting(app: KioskApp, code: str, message: str) -> None:
    """Stop following the sitting and say why."""
    with app.lock:
        if app.exam is not None:
            app.exam.finish()
            app.exam = None
        app.refuse(code, message)


def show_outcome(app: KioskApp) -> None:
    """Read a closed sitting back: show its result, or say that it ended."""
    exam = app.exam
    if exam is None:
        return
    try:
        sitting = app.api.sitting(exam.id)
    except ServerUnreachable:
        app.show("submitting")
        return
    except Refusal as refusal:
        end_sitting(app, refusal.code, refusal.message)
        return
    if sitting.get("result"):
        app.show_result(sitting["result"])
    elif sitting["status"] == "suspended":
        end_sitting(app, "sitting_suspended", "")
    elif sitting["status"] != "in_progress":
        end_sitting(app, "sitting_closed", "")
