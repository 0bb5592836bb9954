"""Console pages: accounts (city: every role; county: enterprise managers and reviewers of its county)."""

from __future__ import annotations

from flask import abort, flash, make_response, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from exam_server.console.blueprint import bp
from exam_server.console.forms import UserEditForm, UserForm, options
from exam_server.console.helpers import PER_PAGE, page_number
from exam_server.extensions import db
from exam_server.i18n import error_text, translate_label
from exam_server.models import ROLE_LABELS, County, DomainError
from exam_server.services import policy
from exam_server.services.admin import enterprise_picker, user_admin


def _no_store(html: str):
    response = make_response(html)
    response.headers["Cache-Control"] = "no-store"  # the page may carry a password shown only once
    return response


@bp.route("/users")
def users():
    page = db.paginate(user_admin.manageable(current_user), page=page_number(), per_page=PER_PAGE, error_out=False)
    counties = dict(db.session.execute(select(County.id, County.name)).all())
    return render_template("console/users.html", page=page, counties=counties)


def _choices(form: UserEditForm) -> None:
    form.role.choices = options(
        (r.value, translate_label(ROLE_LABELS[r])) for r in policy.creatable_roles(current_user)
    )
    counties = policy.visible_counties(
        current_user, db.session.execute(select(County.id, County.name).order_by(County.code)).all()
    )
    form.county_id.choices = options([(0, "—")] + [(c.id, c.name) for c in counties])


@bp.route("/users/new", methods=["GET", "POST"])
def user_new():
    form = UserForm()
    _choices(form)
    if form.validate_on_submit():
        try:
            user, password = user_admin.create(
                db.session,
                current_user,
                username=form.username.data,
                display_name=form.display_name.data,
                role=form.role.data,
                county_id=form.county_id.data or None,
                enterprise_code=form.enterprise_code.data,
            )
            db.session.commit()
        except DomainError as exc:
            db.session.rollback()
            flash(error_text(exc), "error")
        else:
            return _no_store(render_template("console/users_password.html", user=user, password=password, created=True))
    return render_template("console/users_form.html", form=form, target=None)


@bp.route("/users/<int:user_id>/edit", methods=["GET", "POST"])
def user_edit(user_id: int):
    target = _managed_or_404(user_id)
    form = UserEditForm(
        data={
            "display_name": target.display_name,
            "role": target.role.value,
            "county_id": target.county_id or 0,
            "enterprise_code": enterprise_picker.label(target.enterprise) if target.enterprise else "",
        }
    )
    _choices(form)
    if form.validate_on_submit():
        try:
            changes = user_admin.update(
                db.session,
                current_user,
                target,
                display_name=form.display_name.data,
                role=form.role.data,
                county_id=form.county_id.data or None,
                enterprise_code=form.enterprise_code.data,
            )
            db.session.commit()
        except DomainError as exc:
            db.session.rollback()
            flash(error_text(exc), "error")
        else:
            flash(_("账号%(username)s已保存", username=target.username) if changes else _("没有修改"), "success")
            return redirect(url_for("console.users"))
    return render_template("console/users_form.html", form=form, target=target)


def _managed_or_404(user_id: int):
    return user_admin.find(db.session, current_user, user_id) or abort(404)


def _set_active(user_id: int, active: bool):
    target = _managed_or_404(user_id)
    try:
        user_admin.set_active(db.session, current_user, target, active)
        db.session.commit()
        flash(
            _("账号%(username)s已启用", username=target.username)
            if active
            else _("账号%(username)s已停用", username=target.username),
            "success",
        )
    except DomainError as exc:
        db.session.rollback()
        flash(error_text(exc), "error")
    return redirect(url_for("console.users"))


@bp.route("/users/<int:user_id>/deactivate", methods=["POST"])
def user_deactivate(user_id: int):
    return _set_active(user_id, False)


@bp.route("/users/<int:user_id>/activate", methods=["POST"])
def user_activate(user_id: int):
    return _set_active(user_id, True)


@bp.route("/users/<int:user_id>/password", methods=["POST"])
def user_reset_password(user_id: int):
    target = _managed_or_404(user_id)
    try:
        password = user_admin.reset_password(db.session, current_user, target)
        db.session.commit()
    except DomainError as exc:
        db.session.rollback()
        flash(error_text(exc), "error")
        return redirect(url_for("console.users"))
    return _no_store(render_template("console/users_password.html", user=target, password=password, created=False))
