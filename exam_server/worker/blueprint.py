"""The worker blueprint and its guard: a signed-in worker, and an endpoint policy.ACCESS gives workers."""

from __future__ import annotations

from flask import Blueprint, abort, redirect, request, url_for

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
    return response
