"""Console views."""
from __future__ import annotations

from flask import render_template
from flask_login import current_user, login_required
from sqlalchemy import func, select

from exam_server.console import bp
from exam_server.extensions import db
from exam_server.models import Enterprise, Role, Worker
from exam_server.services.scope import enterprise_filter


@bp.route("/")
@login_required
def dashboard():
    if current_user.role is Role.REVIEWER:
        counts = None
    else:
        enterprises = enterprise_filter(current_user, select(func.count(Enterprise.id)), Enterprise.id)
        workers = enterprise_filter(
            current_user,
            select(func.count(Worker.id)).join(Enterprise, Worker.enterprise_id == Enterprise.id),
            Worker.enterprise_id,
        )
        counts = {"enterprises": db.session.scalar(enterprises), "workers": db.session.scalar(workers)}
    return render_template("console/dashboard.html", counts=counts)

