"""The administrators' and enterprises' web console."""
from flask import Blueprint

bp = Blueprint("console", __name__, url_prefix="/console")

# Each module attaches its routes to bp.
from exam_server.console import (  # noqa: E402,F401
    audit_log, exam_plans, exports, kiosks, monitor, nav, questions, review, routes, statistics, users,
    workers,
)
