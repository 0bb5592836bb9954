"""The worker blueprint and its guard: a signed-in worker, and an endpoint policy.ACCESS gives workers."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, abort, current_app, redirect, request, url_for

from exam_server import security
from exam_server.services import policy
from exam_server.worker import session

bp = Blueprint("worker", __name__, url_prefix="/worker")


@bp.before_request
def _guard():
    if request.endpoint in policy.WORKER_OPEN:
        return None
    principal = session.current()
    if principal is None:
        return redirect(url_for("worker.login"))
    if not policy.may_open(principal, request.endpoint):
        abort(403)
    return None


@bp.after_request
def _private(response):
    # A worker's answers and records are personal: no shared cache keeps them.
    response.headers.setdefault("Cache-Control", "private, no-store")
    back = session.kiosk_back()
    if back is not None:
        # The sign-out form's answer is a redirect to the kiosk UI: a form may go there, nowhere else.
        origin = "{0.scheme}://{0.netloc}".format(urlsplit(back))
        response.headers["Content-Security-Policy"] = security.CONTENT_SECURITY_POLICY.replace(
            "form-action 'self'", f"form-action 'self' {origin}"
        )
    return response


@bp.context_processor
def _kiosk():
    """Tell the worker pages whether they show the kiosk's 结束练习 button and its idle time (a cookie read)."""
    return {
        "kiosk_mode": session.kiosk_back() is not None,
        "kiosk_idle_seconds": current_app.config["KIOSK_PRACTICE_IDLE_SECONDS"],
    }
