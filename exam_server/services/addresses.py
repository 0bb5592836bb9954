"""The public addresses printed or shown as QR codes: EXAM_PUBLIC_BASE_URL, else the request's own host."""

from __future__ import annotations

from flask import current_app, has_request_context, request


def public_url(endpoint: str, **values: object) -> str | None:
    """Return the absolute public address of a page, or None when no public base address is known."""
    adapter = current_app.url_map.bind("localhost", script_name=current_app.config.get("APPLICATION_ROOT") or "/")
    path = adapter.build(endpoint, values)
    base = current_app.config.get("PUBLIC_BASE_URL")
    if not base and has_request_context():
        base = request.host_url.rstrip("/")
    if not base and current_app.config.get("SERVER_NAME"):
        base = f"{current_app.config.get('PREFERRED_URL_SCHEME', 'http')}://{current_app.config['SERVER_NAME']}"
    return base + path if base else None
