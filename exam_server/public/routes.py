"""Public certificate verification (masked data, no photo) and a health probe."""

from __future__ import annotations

from flask import current_app, redirect, render_template, request, url_for
from sqlalchemy import text
from werkzeug.exceptions import TooManyRequests

from exam_server.extensions import db, limiter
from exam_server.public.blueprint import bp
from exam_server.public.forms import VerifyForm
from exam_server.services import audit
from exam_server.services.exam import certificates


@bp.route("/")
def index():
    return redirect(url_for("console.dashboard"))


@bp.route("/healthz")
def healthz():
    db.session.execute(text("SELECT 1"))
    return {"status": "ok"}


@bp.route("/verify/<code>")
def verify_certificate(code: str):
    """Show the certificate a QR code points to; a printed number typed here goes to the number-and-name form."""
    if certificates.NUMBER.match(certificates.normalise_number(code)):
        return redirect(url_for("public.verify_by_number", number=certificates.normalise_number(code)))
    certificate = certificates.by_code(db.session, code)
    if certificate is None:
        return render_template("public/verify.html", certificate=None, form=None), 404
    return render_template("public/verify.html", certificate=certificates.public_view(db.session, certificate))


@bp.route("/verify", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["VERIFY_RATE_LIMIT"], methods=["POST"])
def verify_by_number():
    """Find a certificate by its printed number and the holder's full name (rate-limited per address)."""
    form = VerifyForm(data={"number": request.args.get("number", "")} if request.method == "GET" else None)
    if not form.validate_on_submit():
        return render_template("public/verify.html", form=form, certificate=None, asked=False)
    certificate = certificates.by_number_and_name(db.session, form.number.data, form.name.data)
    audit.record(
        db.session,
        "certificate_verified" if certificate else "certificate_verify_miss",
        target=certificate,
        ip=request.remote_addr,
        detail={"number": certificates.normalise_number(form.number.data)[:20]},
    )
    db.session.commit()
    if certificate is None:
        return render_template("public/verify.html", form=form, certificate=None, asked=True), 404
    return render_template("public/verify.html", certificate=certificates.public_view(db.session, certificate))


@bp.errorhandler(TooManyRequests)
def _too_many(_exc):
    """Say in Chinese that verification is throttled, and for how long."""
    return render_template("public/verify.html", form=None, certificate=None, throttled=True), 429
