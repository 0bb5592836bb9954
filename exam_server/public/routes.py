"""Public certificate verification (masked data, no photo) and a health probe."""

from __future__ import annotations

from flask import redirect, render_template, url_for
from sqlalchemy import select, text

from exam_server import localday
from exam_server.citizen_id import mask
from exam_server.extensions import db
from exam_server.models import Certificate, ExamPlan
from exam_server.public.blueprint import bp


@bp.route("/")
def index():
    return redirect(url_for("console.dashboard"))


@bp.route("/healthz")
def healthz():
    db.session.execute(text("SELECT 1"))
    return {"status": "ok"}


@bp.route("/verify/<code>")
def verify_certificate(code: str):
    certificate = db.session.scalar(select(Certificate).where(Certificate.verify_code == code[:32]))
    if certificate is None:
        return render_template("public/verify.html", certificate=None), 404
    plan = db.session.get(ExamPlan, certificate.plan_id)
    worker = certificate.worker
    view = {
        "number": certificate.number,
        "name": worker.name[0] + "*" * (len(worker.name) - 1),
        "citizen_id": mask(worker.citizen_id),
        "enterprise": worker.enterprise.name,
        "exam": plan.name,
        "issued_on": certificate.issued_on,
        "valid_until": certificate.valid_until,
        "revoked": certificate.revoked_at is not None,
        "expired": certificate.valid_until < localday.today(),
    }
    return render_template("public/verify.html", certificate=view)
