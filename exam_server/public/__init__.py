"""Pages anyone may open: certificate verification and health."""
from flask import Blueprint

bp = Blueprint("public", __name__)

from exam_server.public import routes  # noqa: E402,F401  (routes attach to bp)
