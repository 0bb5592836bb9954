"""Small helpers shared by the console views: paging, downloads, upload limits."""

from __future__ import annotations

import io

from flask import Response, current_app, has_request_context, render_template, request, send_file, url_for
from flask_login import current_user
from sqlalchemy import event
from werkzeug.exceptions import Forbidden, RequestEntityTooLarge

from exam_server.console.blueprint import bp
from exam_server.models import AuditLog

PER_PAGE = 30
# Endpoints that accept files larger than MAX_CONTENT_LENGTH and the config key of their limit (config.py).
BIG_UPLOADS = {
    "console.workers_import": "IMPORT_MAX_BYTES",
    "console.questions_import": "IMPORT_MAX_BYTES",
    "console.workers_photos": "PHOTO_ZIP_MAX_BYTES",
}


def page_number() -> int:
    """Return the ?page= argument as a positive integer."""
    return max(request.args.get("page", 1, type=int) or 1, 1)


def download(data: bytes, filename: str, mimetype: str) -> Response:
    """Send bytes as an attachment that no cache keeps."""
    response = send_file(io.BytesIO(data), mimetype=mimetype, as_attachment=True, download_name=filename)
    response.headers["Cache-Control"] = "no-store"
    return response


XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _raise_upload_limit() -> None:
    """Let logged-in users send large files to the import endpoints (before CSRF reads the form)."""
    key = BIG_UPLOADS.get(request.endpoint or "")
    if key and request.method == "POST" and current_user.is_authenticated:
        request.max_content_length = current_app.config[key]


@bp.record_once
def _install_upload_limit(state) -> None:
    state.app.before_request_funcs.setdefault(None, []).insert(0, _raise_upload_limit)


@bp.errorhandler(RequestEntityTooLarge)
def _upload_too_large(_exc):
    """Tell the administrator in Chinese how large a file this page takes, instead of werkzeug's English page."""
    limit = request.max_content_length or 0
    size = f"{limit / 2**20:g} MB" if limit >= 2**20 else f"{limit / 2**10:.0f} KB"
    referrer = request.referrer or ""
    back = referrer if referrer.startswith(request.host_url) else url_for("console.dashboard")
    return render_template("console/upload_too_large.html", size=size, back=back), 413


@bp.errorhandler(Forbidden)
def _forbidden(_exc):
    """Say in Chinese that the page is outside the user's role, instead of werkzeug's English page."""
    return render_template("console/forbidden.html"), 403


@event.listens_for(AuditLog, "before_insert")
def _console_ip(_mapper, _connection, entry: AuditLog) -> None:
    """Record the administrator's address on audit entries written while serving a console page."""
    if entry.ip is None and has_request_context() and request.blueprint == "console":
        entry.ip = (request.remote_addr or "")[:45] or None
