"""Console pages: live monitor of sittings in progress, refreshed from a JSON route."""

from __future__ import annotations

from functools import wraps

from flask import jsonify, render_template
from flask_login import current_user

from exam_server.auth.session import roles_required
from exam_server.console.blueprint import bp
from exam_server.console.nav import ADMINS
from exam_server.extensions import db
from exam_server.models import utcnow
from exam_server.services.reporting import statistics as stats

POLL_SECONDS = 5


def json_roles_required(*roles):
    """Answer 401 or 403 in JSON, never a redirect, when the caller may not use a JSON route."""

    def decorator(view):
        @wraps(view)
        def wrapped(*args, **kwargs):
            if not current_user.is_authenticated:
                return jsonify(error="unauthorized", message="请先登录 / login required"), 401
            if current_user.role not in roles:
                return jsonify(error="forbidden", message="无权访问 / not allowed"), 403
            return view(*args, **kwargs)

        return wrapped

    return decorator


@bp.route("/monitor")
@roles_required(*ADMINS)
def monitor():
    return render_template("console/monitor.html", poll_seconds=POLL_SECONDS, states=stats.FACE_STATES)


@bp.route("/monitor/live.json")
@json_roles_required(*ADMINS)
def monitor_live():
    now = utcnow()
    sittings = stats.live_sittings(db.session, current_user, now)
    response = jsonify(
        now=now.isoformat(),
        sittings=sittings,
        counties=stats.live_summary(sittings, "county"),
        enterprises=stats.live_summary(sittings, "enterprise"),
    )
    response.headers["Cache-Control"] = "private, no-store"
    return response
