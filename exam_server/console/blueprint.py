"""The console's blueprint, which every console view module attaches its routes to."""

from flask import Blueprint

bp = Blueprint("console", __name__, url_prefix="/console")
