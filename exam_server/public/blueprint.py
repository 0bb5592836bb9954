"""The public blueprint, which public/routes.py attaches its routes to."""

from flask import Blueprint

bp = Blueprint("public", __name__)
