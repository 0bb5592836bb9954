"""The console's blueprint, which every console view module attaches its routes to."""

from flask import Blueprint, request

from exam_server.auth.session import enforce_access

bp = Blueprint("console", __name__, url_prefix="/console")

# Routes a script polls: refused in JSON rather than sent to the login page.
JSON_ENDPOINTS = frozenset({"console.monitor_live"})


@bp.before_request
def _guard():
    """Open a console page only to the roles services/policy.py lists for it; deny the rest."""
    return enforce_access(json=request.endpoint in JSON_ENDPOINTS)
