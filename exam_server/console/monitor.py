"""Console pages: live monitor of sittings in progress, refreshed from a JSON route."""

from __future__ import annotations

from flask import jsonify, render_template
from flask_login import current_user

from exam_server.console.blueprint import bp
from exam_server.extensions import db
from exam_server.i18n import translate_label
from exam_server.models import utcnow
from exam_server.services.reporting import statistics as stats

POLL_SECONDS = 5


@bp.route("/monitor")
def monitor():
    states = {key: translate_label(label) for key, label in stats.FACE_STATES.items()}
    return render_template("console/monitor.html", poll_seconds=POLL_SECONDS, states=states)


@bp.route("/monitor/live.json")
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
