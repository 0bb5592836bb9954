"""Console pages: exam kiosks (register with a token shown once, disable, enable, last seen)."""

from __future__ import annotations

from flask import abort, flash, make_response, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from exam_server.console.blueprint import bp
from exam_server.console.forms import KioskForm, options
from exam_server.extensions import db
from exam_server.i18n import error_text
from exam_server.models import County, DomainError, Kiosk
from exam_server.services import policy
from exam_server.services.exam import kiosks as kiosk_service


def _scoped():
    return policy.kiosk_filter(current_user, select(Kiosk).order_by(Kiosk.name))


def _form() -> KioskForm:
    form = KioskForm()
    counties = policy.visible_counties(
        current_user, db.session.execute(select(County.id, County.name).order_by(County.code)).all()
    )
    city = [(0, _("市级（不属于区县）"))] if policy.can_see_city(current_user) else []
    form.county_id.choices = options(city + [(c.id, c.name) for c in counties])
    return form


@bp.route("/kiosks", methods=["GET", "POST"])
def kiosks():
    form = _form()
    token = kiosk = None
    if form.validate_on_submit():
        county_id = policy.assigned_county(current_user, form.county_id.data or None)
        try:
            kiosk, token = kiosk_service.register(
                db.session,
                form.name.data,
                location=form.location.data or "",
                county_id=county_id,
                user_id=current_user.id,
            )
            db.session.commit()
        except DomainError as exc:
            db.session.rollback()
            flash(error_text(exc), "error")
        else:
            form = _form()
            form.name.data = form.location.data = ""
    counties = dict(db.session.execute(select(County.id, County.name)).all())
    page = render_template(
        "console/kiosks.html",
        form=form,
        kiosks=db.session.scalars(_scoped()).all(),
        counties=counties,
        token=token,
        new_kiosk=kiosk,
    )
    response = make_response(page)
    response.headers["Cache-Control"] = "no-store"  # the page may carry a token that is never shown again
    return response


def _toggle(kiosk_id: int, enabled: bool):
    kiosk = db.session.scalar(_scoped().where(Kiosk.id == kiosk_id)) or abort(404)
    kiosk_service.set_enabled(db.session, kiosk, enabled, user_id=current_user.id)
    db.session.commit()
    flash(
        _("终端“%(name)s”已启用", name=kiosk.name) if enabled else _("终端“%(name)s”已停用", name=kiosk.name), "success"
    )
    return redirect(url_for("console.kiosks"))


@bp.route("/kiosks/<int:kiosk_id>/disable", methods=["POST"])
def kiosk_disable(kiosk_id: int):
    return _toggle(kiosk_id, False)


@bp.route("/kiosks/<int:kiosk_id>/enable", methods=["POST"])
def kiosk_enable(kiosk_id: int):
    return _toggle(kiosk_id, True)
