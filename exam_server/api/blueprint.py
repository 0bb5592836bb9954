"""The kiosk API's blueprint: every request is size-checked and its kiosk identified before a view runs."""

import io

from flask import Blueprint, current_app, g, request
from werkzeug.exceptions import RequestEntityTooLarge

from exam_server.extensions import db
from exam_server.services.exam import kiosks
from exam_server.services.exam.refusals import Refusal

bp = Blueprint("api", __name__, url_prefix="/api/v1")
# Largest id a path accepts: ids are 32-bit integers on PostgreSQL.
MAX_ID = 2**31 - 1


@bp.before_request
def _guard() -> None:
    """Refuse oversized bodies before anything reads them, then identify the kiosk by its bearer token."""
    limit = current_app.config.get("MAX_CONTENT_LENGTH")
    if limit and (request.content_length or 0) > limit:
        raise RequestEntityTooLarge()
    # Werkzeug cuts a chunked body (no Content-Length) at the limit without a word, and the truncated JSON or
    # form then failed as a 400. Only a server that decodes chunks itself (gunicorn) says wsgi.input_terminated.
    chunked = "chunked" in request.headers.get("Transfer-Encoding", "").lower()
    if limit and chunked and request.environ.get("wsgi.input_terminated"):
        _buffer_chunked_body(limit)
    from exam_server.api.openapi import operation_of

    op = operation_of(current_app, request.endpoint)
    if op is not None and op.public:
        return
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    try:
        g.kiosk = kiosks.authenticate(db.session, token.strip() if scheme.lower() == "bearer" else None)
    except kiosks.KioskAuthError as exc:
        raise Refusal(exc.code) from None
    if kiosks.touch(db.session, g.kiosk):
        db.session.commit()  # never hold the kiosk row's write lock through the request's face work


def _buffer_chunked_body(limit: int) -> None:
    """Read a chunked body whole into memory, as if it had come with its length; refuse one over the limit."""
    source = request.environ["wsgi.input"]
    parts, size = [], 0
    while size <= limit:
        part = source.read(min(65536, limit + 1 - size))
        if not part:
            break
        parts.append(part)
        size += len(part)
    if size > limit:
        raise RequestEntityTooLarge()
    request.environ.update({"wsgi.input": io.BytesIO(b"".join(parts)), "CONTENT_LENGTH": str(size)})
    request.environ.pop("HTTP_TRANSFER_ENCODING", None)  # werkzeug ignores a length beside "chunked"
    request.__dict__.pop("stream", None)  # a stream werkzeug already wrapped would still read the old input
