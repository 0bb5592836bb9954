"""Console views: the dashboard with the figures of the user's scope."""

from __future__ import annotations

from flask import render_template
from flask_login import current_user

from exam_server.console.blueprint import bp
from exam_server.extensions import db
from exam_server.services.reporting import dashboard as dashboard_service


@bp.route("/")
def dashboard():
    figures = dashboard_service.figures(db.session, current_user)
    return render_template("console/dashboard.html", counts=figures if "workers" in figures else None, figures=figures)
