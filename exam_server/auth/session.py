"""Load users into the session and enforce roles and scope."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps

from flask import abort, jsonify, redirect, request, url_for
from flask_login import current_user

from exam_server.extensions import db, login_manager
from exam_server.models import Role, User


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


def roles_required(*roles: Role) -> Callable:
    """Allow the view only to logged-in users holding one of ``roles``."""
    allowed = {Role(r) for r in roles}

    def decorator(view: Callable) -> Callable:
        @wraps(view)
        def wrapped(*args, **kwargs):
            if not current_user.is_authenticated:
                return login_manager.unauthorized()
            if current_user.role not in allowed:
                abort(403)
            return view(*args, **kwargs)

        return wrapped

    return decorator
