"""Login, logout and password change for console users."""
from flask import Blueprint

bp = Blueprint("auth", __name__, url_prefix="/auth")

from exam_server.auth import routes  # noqa: E402,F401  (routes attach to bp)
