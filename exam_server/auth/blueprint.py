"""The auth blueprint, which auth/routes.py attaches its routes to."""

from flask import Blueprint

bp = Blueprint("auth", __name__, url_prefix="/auth")
