"""Client address behind proxies, cookie flags, security headers and the shared rate-limit counters."""

from __future__ import annotations

from flask import Flask, Response, current_app, request
from werkzeug.middleware.proxy_fix import ProxyFix

# Everything the console loads is its own (static/*.js, *.css); no inline script runs. The progress bars of
# job pages set their width in a style attribute, the only inline style, hence style-src-attr.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; style-src-attr 'unsafe-inline'; "
    "img-src 'self' data:; object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
)
HSTS = "max-age=31536000; includeSubDomains"


def init_app(app: Flask) -> None:
    """Trust the configured proxies, flag the cookies, add headers to every answer, open the counters."""
    hops = app.config.get("PROXY_HOPS", 0)
    if hops:
        # The address and scheme the client used come from X-Forwarded-For/-Proto, trusting only the
        # last `hops` entries (the ones our own proxies appended); the Host header is passed through.
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops)  # type: ignore[method-assign]
    secure = app.config.get("SECURE_COOKIES")
    if secure is None:
        secure = app.config.get("ENV_NAME") == "production"
    app.config["SECURE_COOKIES"] = secure
    for cookie in ("SESSION_COOKIE", "REMEMBER_COOKIE"):
        app.config.update({f"{cookie}_SECURE": secure, f"{cookie}_HTTPONLY": True, f"{cookie}_SAMESITE": "Lax"})
    app.after_request(_security_headers)
    _init_throttles(app)


def _security_headers(response: Response) -> Response:
    headers = response.headers
    headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
    headers.setdefault("X-Frame-Options", "DENY")
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("Referrer-Policy", "same-origin")
    # Browsers ignore HSTS over plain HTTP; sent over HTTPS it keeps them from ever trying HTTP again.
    if current_app.config["SECURE_COOKIES"] and request.is_secure:
        headers.setdefault("Strict-Transport-Security", HSTS)
    return response


def _init_throttles(app: Flask) -> None:
    from exam_server.services.throttle import LoginThrottle, Throttle, open_storage, parse_limits

    # flask-limiter (certificate verification) reads the same RATELIMIT_STORAGE_URI and counts in the same place.
    throttle = Throttle(
        open_storage(app.config["RATELIMIT_STORAGE_URI"]), prefix=app.config.get("RATELIMIT_KEY_PREFIX") or "exam"
    )
    app.extensions["throttle"] = throttle
    app.extensions["login_throttle"] = LoginThrottle(
        throttle,
        parse_limits(app.config["LOGIN_RATE_LIMIT"]),
        parse_limits(app.config["LOGIN_ACCOUNT_RATE_LIMIT"]),
        parse_limits(app.config["LOGIN_ACCOUNT_CEILING"]),
    )
    app.extensions["api_limits"] = {
        "kiosk": parse_limits(app.config["API_RATE_LIMIT"]),
        "anonymous": parse_limits(app.config["API_ANONYMOUS_RATE_LIMIT"]),
    }
