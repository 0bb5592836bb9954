"""Refuse a console or public request whose query, form or path text holds a control character."""

from __future__ import annotations

from flask import Flask, request
from werkzeug.exceptions import BadRequest

from exam_server.plaintext import control_character, refusal

# Form fields typed in a <textarea>: tab and line breaks are part of their text.
MULTILINE_FIELDS = frozenset({"stem", "explanation", "reason"})


def _first_fault() -> tuple[str, str] | None:
    """Return (field, character) of the first control character in the request's text, else None."""
    sources = [(request.view_args or {}).items(), request.args.items(multi=True)]
    if request.method in ("POST", "PUT", "PATCH", "DELETE"):
        sources.append(request.form.items(multi=True))
    for index, items in enumerate(sources):
        for key, value in items:
            if not isinstance(value, str):
                continue  # converted path values (int)
            if found := control_character(str(key)):
                return repr(key)[1:-1], found
            if found := control_character(value, multiline=index == 2 and key in MULTILINE_FIELDS):
                return key, found
    return None


def _refuse_control_characters() -> None:
    # The kiosk API answers in JSON and checks its own fields (api/openapi.py, api/schemas.py).
    if request.blueprint == "api" or request.path.startswith("/api/"):
        return
    fault = _first_fault()
    if fault is not None:
        raise BadRequest(refusal(*fault))


def install(app: Flask) -> None:
    """Check every request before its view (and so before any query) runs."""
    app.before_request(_refuse_control_characters)
