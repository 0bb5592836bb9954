"""Console page: the audit log, filterable by action, user and date."""

from __future__ import annotations

from flask import render_template, request
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from exam_server import localday
from exam_server.console.blueprint import bp
from exam_server.console.forms import AuditSearchForm, options
from exam_server.console.helpers import page_number
from exam_server.extensions import db
from exam_server.models import AuditLog, User
from exam_server.services.admin import audit_view, user_admin

PER_PAGE = 50


@bp.route("/audit")
def audit_log():
    form = AuditSearchForm(request.args)
    form.action.choices = options(
        [("", _("全部操作"))]
        + [
            (a, audit_view.action_label(a))
            for a in db.session.scalars(select(AuditLog.action).distinct().order_by(AuditLog.action))
        ]
    )
    stmt = user_admin.audit_entries(current_user).order_by(AuditLog.at.desc(), AuditLog.id.desc())
    if form.validate():
        if form.action.data:
            stmt = stmt.where(AuditLog.action == form.action.data)
        if form.username.data:
            stmt = stmt.where(User.username == form.username.data.strip())
        if form.date_from.data:
            stmt = stmt.where(AuditLog.at >= localday.day_start(form.date_from.data))
        if form.date_to.data:
            stmt = stmt.where(AuditLog.at < localday.day_bounds(form.date_to.data)[1])
    page = page_number()
    rows = db.session.execute(stmt.limit(PER_PAGE + 1).offset((page - 1) * PER_PAGE)).all()
    return render_template(
        "console/audit_log.html",
        form=form,
        lines=audit_view.describe(db.session, [entry for entry, _ in rows[:PER_PAGE]]),
        page=page,
        has_next=len(rows) > PER_PAGE,
    )
