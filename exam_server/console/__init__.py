"""The administrators' and enterprises' web console."""
from flask import Blueprint

bp = Blueprint("console", __name__, url_prefix="/console")

from exam_server.console import routes  # noqa: E402,F401  (routes attach to bp)
