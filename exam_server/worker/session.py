"""A worker's session, kept apart from the console's: its own key in the signed cookie, its own version."""

from __future__ import annotations

import re
from dataclasses import dataclass

from flask import g
from flask import session as cookie

from exam_server.extensions import db
from exam_server.models import Worker, WorkerCredential
from exam_server.services.policy import WorkerRole
from exam_server.services.practice import pins
from exam_server.services.practice.drills import Learner

KEY = "worker"
KIOSK_KEY = "worker_kiosk"  # the kiosk UI's address while the browser is a kiosk's practice visit (/worker/kiosk)
# The kiosk UI runs on the kiosk itself: only a loopback address with an explicit port, nothing after its "/".
_KIOSK_BACK = re.compile(r"http://(?:127\.0\.0\.1|localhost):([0-9]{1,5})/")


@dataclass(frozen=True)
class SignedInWorker:
    """The worker a request runs for (policy.Principal): role ``worker``, never a console user."""

    learner: Learner
    is_authenticated: bool = True

    @property
    def role(self) -> WorkerRole:
        return WorkerRole.WORKER


def sign_in(worker: Worker, credential: WorkerCredential) -> None:
    """Start the worker's session; a PIN set later ends it."""
    cookie[KEY] = f"{worker.id}:{credential.session_version}"
    g.pop("signed_in_worker", None)
    g.pop("signed_in_worker_row", None)


def sign_out() -> None:
    """End the worker's session (a console login in the same browser is left alone)."""
    cookie.pop(KEY, None)
    g.pop("signed_in_worker", None)
    g.pop("signed_in_worker_row", None)


def current() -> SignedInWorker | None:
    """Return the signed-in worker of this request, or None (no session, a stale PIN, an inactive worker)."""
    if "signed_in_worker" in g:
        return g.signed_in_worker
    found = None
    try:
        worker_id, version = (int(part) for part in str(cookie.get(KEY, "")).split(":"))
    except ValueError:
        worker_id = version = 0
    if worker_id:
        learner = pins.session_learner(db.session, worker_id, version)
        found = SignedInWorker(learner) if learner is not None else None
    g.signed_in_worker = found
    return found


def learner() -> Learner:
    """Return who practises: the signed-in worker's id, industry and job (the blueprint's guard made sure of one)."""
    principal = current()
    assert principal is not None
    return principal.learner


def worker() -> Worker:
    """Return the signed-in worker's row, read once per request for the pages that show more than practice."""
    if "signed_in_worker_row" not in g:
        g.signed_in_worker_row = pins.worker_row(db.session, learner().id)
    return g.signed_in_worker_row


def kiosk_back_checked(back: str) -> str | None:
    """Return ``back`` when it is a kiosk UI's loopback address (http://127.0.0.1:PORT/ or localhost), else None."""
    found = _KIOSK_BACK.fullmatch(back)
    return back if found and 0 < int(found.group(1)) < 65536 else None


def enter_kiosk(back: str) -> None:
    """Start a kiosk's practice visit: nobody signed in before it, the kiosk UI's address kept to go back to."""
    sign_out()
    cookie[KIOSK_KEY] = back


def kiosk_back() -> str | None:
    """Return the kiosk UI's address when this browser is on a kiosk's practice visit (the cookie only: no SQL)."""
    return cookie.get(KIOSK_KEY)


def end_kiosk() -> str | None:
    """End the kiosk's visit: worker signed out, whole session cleared; return the kiosk UI's address (None: no visit)."""
    back = kiosk_back()
    sign_out()
    if back is not None:
        cookie.clear()  # the next person at the kiosk inherits nothing: no flag, no flashed message, no CSRF secret
    return back
