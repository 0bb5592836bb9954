"""Login, logout and password change views."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user, logout_user
from werkzeug.security import check_password_hash

from exam_server.auth.blueprint import bp
from exam_server.auth.forms import LoginForm, PasswordForm
from exam_server.extensions import db
from exam_server.i18n import error_text
from exam_server.models import DomainError
from exam_server.services import audit, throttle
from exam_server.services.admin import accounts


def _safe_next(target: str | None) -> str:
    """Return a same-site path to go to after login, never an outside URL."""
    if target and urlsplit(target).netloc == "" and target.startswith("/") and not target.startswith("//"):
        return target
    return url_for("console.dashboard")


@bp.route("/login", methods=["GET", "POST"])
def login():
    form = LoginForm()
    if form.validate_on_submit():
        # The throttle is read before the password, so a throttled guess learns nothing (services/throttle.py).
        tried = throttle.attempt(
            db.session,
            form.username.data,
            request.remote_addr or "",
            lambda: accounts.authenticate(db.session, form.username.data, form.password.data),
            lambda user: audit.record(
                db.session,
                "login" if user else "login_failed",
                target=user,
                user_id=user.id if user else None,
                ip=request.remote_addr,
                detail={"username": form.username.data[:64]},
            ),
        )
        if tried.wait:
            flash(
                _(
                    "登录失败次数过多，请 %(wait)s 秒后再试 / too many failed logins, try again in %(wait)s s",
                    wait=tried.wait,
                ),
                "error",
            )
            return render_template("auth/login.html", form=form), 429, {"Retry-After": str(tried.wait)}
        if tried.found:
            login_user(tried.found)
            return redirect(_safe_next(request.args.get("next")))
        flash(_("用户名或密码错误 / wrong username or password"), "error")
    return render_template("auth/login.html", form=form)


@bp.route("/logout", methods=["POST"])
@login_required
def logout():
    audit.record(db.session, "logout", target=current_user, user_id=current_user.id, ip=request.remote_addr)
    # A copy of the cookie (another tab, a stolen one) must not outlive the logout: the version it names is gone.
    # This ends the user's sessions on every device, as a password change does.
    current_user.session_version += 1
    db.session.commit()
    logout_user()
    return redirect(url_for("auth.login"))


@bp.route("/language", methods=["POST"])
@login_required
def change_language():
    try:
        changed = accounts.set_locale(current_user, request.form.get("locale", ""))
    except DomainError as exc:
        flash(error_text(exc), "error")
    else:
        if changed:
            audit.record(
                db.session,
                "locale_changed",
                target=current_user,
                user_id=current_user.id,
                ip=request.remote_addr,
                detail={"locale": current_user.locale},
            )
            db.session.commit()
    return redirect(_safe_next(request.form.get("next")))


@bp.route("/password", methods=["GET", "POST"])
@login_required
def change_password():
    form = PasswordForm()
    if form.validate_on_submit():
        if not check_password_hash(current_user.password_hash, form.current.data):
            flash(_("当前密码不正确 / current password is wrong"), "error")
        else:
            try:
                accounts.set_password(current_user, form.new.data)
            except DomainError as exc:
                flash(error_text(exc), "error")
            else:
                audit.record(
                    db.session, "password_changed", target=current_user, user_id=current_user.id, ip=request.remote_addr
                )
                db.session.commit()
                login_user(current_user._get_current_object())  # keep this session, end all others
                flash(_("密码已修改，其他登录已失效 / password changed; other sessions ended"), "success")
                return redirect(url_for("console.dashboard"))
    return render_template("auth/password.html", form=form)
