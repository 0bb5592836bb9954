"""Console pages: the user's inbox and where reminders reach them, the outbox record, a worker's SMS opt-out.

Access is decided once per page: the inbox shows only the user's own messages (outbox.inbox); the outbox
record is limited by ``policy.enterprise_filter`` in ``_outbox``; the opt-out goes through the worker
directory's scoped lookup.
"""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import BooleanField, StringField
from wtforms.validators import Length, Optional

from exam_server.console.blueprint import bp
from exam_server.console.helpers import PER_PAGE, page_number
from exam_server.extensions import db
from exam_server.i18n import error_text
from exam_server.models import (
    CHANNEL_LABELS,
    DELIVERY_LABELS,
    DeliveryStatus,
    DomainError,
    Notification,
    WorkerOptOut,
    utcnow,
)
from exam_server.services import policy
from exam_server.services.admin import worker_directory
from exam_server.services.admin.notifications import contacts, outbox
from exam_server.services.admin.notifications.rules import RULE_LABELS


class ContactForm(FlaskForm):
    email = StringField(_l("电子邮箱"), validators=[Optional(), Length(max=254)])
    phone = StringField(_l("手机号"), validators=[Optional(), Length(max=20)])
    email_enabled = BooleanField(_l("接收邮件提醒"))
    sms_enabled = BooleanField(_l("接收短信提醒"))


class OptOutForm(FlaskForm):
    refuse = BooleanField(_l("不再接收提醒短信"))


@bp.route("/inbox")
def inbox():
    page = db.paginate(outbox.inbox(current_user), page=page_number(), per_page=PER_PAGE, error_out=False)
    found = contacts.settings_of(db.session, current_user)
    form = ContactForm(
        data={
            "email": found.email or "",
            "phone": found.phone or "",
            "email_enabled": found.email_enabled,
            "sms_enabled": found.sms_enabled,
        }
    )
    return render_template(
        "console/inbox.html", page=page, form=form, rules=RULE_LABELS, unread=outbox.unread(db.session, current_user)
    )


@bp.route("/inbox/read", methods=["POST"])
def inbox_read():
    notification_id = request.form.get("id", type=int)
    outbox.mark_read(db.session, current_user, utcnow(), notification_id)
    db.session.commit()
    return redirect(url_for("console.inbox", page=request.form.get("page", 1, type=int)))


@bp.route("/inbox/settings", methods=["POST"])
def contact_settings():
    form = ContactForm()
    if not form.validate_on_submit():
        flash("；".join(e for errors in form.errors.values() for e in errors), "error")
        return redirect(url_for("console.inbox"))
    try:
        contacts.save(
            db.session,
            current_user,
            form.email.data,
            form.phone.data,
            form.email_enabled.data,
            form.sms_enabled.data,
            utcnow(),
        )
        db.session.commit()
    except DomainError as exc:
        db.session.rollback()
        flash(error_text(exc), "error")
    else:
        flash(_("提醒接收方式已保存"), "success")
    return redirect(url_for("console.inbox"))


def _outbox(status: str | None):
    """Return the notifications the user may see in the record: the city all, a county its own."""
    stmt = policy.enterprise_filter(
        current_user, db.select(Notification), Notification.enterprise_id, Notification.county_id
    )
    if status:
        stmt = stmt.where(Notification.status == DeliveryStatus(status))
    return stmt.order_by(Notification.created_at.desc(), Notification.id.desc())


@bp.route("/outbox")
def outbox_page():
    status = request.args.get("status") or None
    if status and status not in {s.value for s in DeliveryStatus}:
        abort(404)
    page = db.paginate(_outbox(status), page=page_number(), per_page=PER_PAGE, error_out=False)
    return render_template(
        "console/outbox.html",
        page=page,
        status=status,
        rules=RULE_LABELS,
        channels=CHANNEL_LABELS,
        statuses=DELIVERY_LABELS,
        masked=_masked,
    )


def _masked(address: str | None) -> str:
    """Show an address enough to recognise, not to copy: 138****1234, zh***@example.cn."""
    if not address:
        return "—"
    if "@" in address:
        name, _, domain = address.partition("@")
        return f"{name[:2]}***@{domain}"
    return address[:3] + "****" + address[-4:] if len(address) >= 8 else address


@bp.route("/workers/<int:worker_id>/sms-opt-out", methods=["POST"])
def worker_sms_opt_out(worker_id: int):
    worker = worker_directory.find(db.session, current_user, worker_id) or abort(404)
    form = OptOutForm()
    refuse = bool(form.refuse.data) if form.validate_on_submit() else abort(400)
    if contacts.set_worker_opt_out(db.session, worker, refuse, utcnow(), user=current_user):
        db.session.commit()
        flash(_("已记录：该人员不再接收提醒短信") if refuse else _("已恢复该人员的提醒短信"), "success")
    return redirect(url_for("console.worker_detail", worker_id=worker.id))


@bp.app_template_global("worker_sms_opted_out")
def worker_opted_out(worker_id: int) -> bool:
    """Tell the worker page whether the worker refused reminder SMS."""
    return db.session.get(WorkerOptOut, worker_id) is not None
