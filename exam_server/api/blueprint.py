"""The kiosk API's blueprint: every request is size-checked, rate-limited and its kiosk identified before a view runs."""

import hashlib
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
    limits = current_app.extensions["api_limits"]
    if op is not None and op.public:
        _limit(limits["anonymous"], "api-address", request.remote_addr or "")
        return
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    token = token.strip() if scheme.lower() == "bearer" else ""
    if token:
        # Counted per token before the kiosk is read: on SQLite a counter written on another connection
        # after this request's first read would end the snapshot its later writes need.
        _limit(limits["kiosk"], "api-kiosk", hashlib.sha256(b"rate-limit:" + token.encode()).hexdigest()[:32])
    try:
        g.kiosk = kiosks.authenticate(db.session, token or None)
    except kiosks.KioskAuthError as exc:
        # Guessed or missing tokens are held per address, or a flood of made-up tokens would each get a fresh limit.
        _limit(limits["anonymous"], "api-address", request.remote_addr or "")
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


def _limit(items, name: str, key: str) -> None:
    """Count this request; refuse it with 429 and Retry-After once the limit is spent."""
    wait = current_app.extensions["throttle"].hit(items, name, key)
    if wait:
        raise Refusal("rate_limited", retry_after=wait)
