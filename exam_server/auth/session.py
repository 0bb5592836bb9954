"""Load users into the session and enforce roles and scope."""

from __future__ import annotations

from flask import abort, jsonify, redirect, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user

from exam_server.extensions import db, login_manager
from exam_server.models import User
from exam_server.services import policy


def load_user(user_key: str) -> User | None:
    """Return the user for a session key "id:version"; a stale version logs the session out."""
    try:
        user_id, version = (int(part) for part in user_key.split(":"))
    except ValueError:
        return None
    user = db.session.get(User, user_id)
    if user is None or not user.active or user.session_version != version:
        return None
    return user


def wants_json() -> bool:
    """Tell whether the client expects JSON rather than an HTML page."""
    if request.path.startswith("/api/"):
        return True
    best = request.accept_mimetypes.best_match(["text/html", "application/json"])
    return best == "application/json"


@login_manager.unauthorized_handler
def unauthorized():
    if wants_json():
        return jsonify(error="unauthorized", message="请先登录 / login required"), 401
    return redirect(url_for("auth.login", next=request.full_path))


def enforce_access(json: bool = False) -> ResponseReturnValue | None:
    """Refuse the request unless its user's role may open its endpoint (services/policy.py ACCESS).

    A JSON route (``json``) answers 401 or 403 in JSON, never with a redirect to the login page.
    """
    if not current_user.is_authenticated:
        if json:
            return jsonify(error="unauthorized", message="请先登录 / login required"), 401
        return login_manager.unauthorized()
    if not policy.may_open(current_user, request.endpoint):
        if json:
            return jsonify(error="forbidden", message="无权访问 / not allowed"), 403
        abort(403)
    return None
