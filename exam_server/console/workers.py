"""Console pages: the worker list, their practice, a worker's page and enrolling their photo."""

from __future__ import annotations

from pathlib import Path

from flask import abort, current_app, flash, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from exam_server.citizen_id import mask
from exam_server.console.blueprint import bp
from exam_server.console.forms import PhotoForm, PracticeSearchForm, WorkerSearchForm
from exam_server.console.helpers import PER_PAGE, page_number
from exam_server.extensions import db
from exam_server.face import FaceRefusal
from exam_server.face.quality import describe_upload
from exam_server.i18n import error_text, photo_refusal_text
from exam_server.models import County, DomainError, PhotoSource, utcnow
from exam_server.services import addresses, policy
from exam_server.services.admin import worker_directory
from exam_server.services.faces import face_service
from exam_server.services.practice import overview, sign_in_codes, sign_in_sheet


def _filters(form: WorkerSearchForm) -> tuple[dict, list]:
    """Fill the form's counties from the user's scope; return the search filters it names and those counties."""
    counties = policy.visible_counties(current_user, db.session.execute(select(County.id, County.name)).all())
    form.county.choices = [("", _("全部")), *((str(i), name) for i, name in counties)]
    county = request.args.get("county", type=int)
    filters = {
        "name": form.name.data,
        "citizen_id": form.citizen_id.data,
        "enterprise": form.enterprise.data,
        "county_id": county if county in {i for i, _ in counties} else None,
        "job_category": form.job_category.data or "",
        "photo": form.photo.data or "",
    }
    return filters, counties


@bp.route("/workers")
def workers():
    form = WorkerSearchForm(request.args)
    filters, counties = _filters(form)
    stmt = worker_directory.search(current_user, **filters)
    page = db.paginate(stmt, page=page_number(), per_page=PER_PAGE, error_out=False)
    enrolled = worker_directory.enrolled_ids(db.session, [w.id for w in page.items])
    return render_template(
        "console/workers.html",
        form=form,
        page=page,
        enrolled=enrolled,
        pick_county=len(counties) > 1,
    )


@bp.route("/workers/practice")
def workers_practice():
    form = PracticeSearchForm(request.args)
    filters, counties = _filters(form)
    stmt = overview.search(current_user, practised=form.practised.data or "", **filters)
    page = db.paginate(stmt, page=page_number(), per_page=PER_PAGE, error_out=False)
    return render_template(
        "console/workers_practice.html",
        form=form,
        page=page,
        figures=overview.figures(db.session, [w.id for w in page.items]),
        pick_county=len(counties) > 1,
    )


def _worker_or_404(worker_id: int):
    return worker_directory.find(db.session, current_user, worker_id) or abort(404)


@bp.route("/workers/<int:worker_id>")
def worker_detail(worker_id: int):
    worker = _worker_or_404(worker_id)
    record = worker_directory.worker_file(db.session, worker)
    quality = describe_upload(record.photo.quality, face_service.settings()) if record.photo else []
    may_reveal = worker_directory.may_see_citizen_id(current_user)
    full_id = None
    if may_reveal and request.args.get("full_id") == "1":  # asked for on purpose, and recorded
        full_id = worker_directory.reveal_citizen_id(db.session, current_user, worker, request.remote_addr)
        db.session.commit()
    return render_template(
        "console/workers_detail.html",
        worker=worker,
        record=record,
        practice=overview.figures(db.session, [worker.id])[worker.id],
        quality=quality,
        form=PhotoForm(),
        masked_id=mask(worker.citizen_id),
        full_id=full_id,
        may_reveal=may_reveal,
        min_face_px=face_service.settings().min_face_px_upload,
    )


@bp.route("/workers/<int:worker_id>/photo")
def worker_photo(worker_id: int):
    photo = worker_directory.worker_file(db.session, _worker_or_404(worker_id)).photo
    root = Path(current_app.config["DATA_DIR"]).resolve()
    path = (root / photo.path).resolve() if photo else None
    if path is None or root not in path.parents or not path.is_file():
        abort(404)
    response = send_file(path, mimetype="image/png" if path.suffix == ".png" else "image/jpeg", max_age=0)
    response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.route("/workers/<int:worker_id>/enrol", methods=["POST"])
def worker_enrol(worker_id: int):
    worker = _worker_or_404(worker_id)
    form = PhotoForm()
    if not form.validate_on_submit():
        flash("；".join(e for errors in form.errors.values() for e in errors), "error")
        return redirect(url_for("console.worker_detail", worker_id=worker.id))
    try:
        enrolment = face_service.enrol(
            db.session, worker, form.photo.data.read(), PhotoSource.CONSOLE, user_id=current_user.id
        )
        db.session.commit()
    except FaceRefusal as refusal:
        db.session.rollback()
        flash(_("照片未通过检测：%(reason)s", reason=photo_refusal_text(refusal)), "error")
    else:
        figures = describe_upload(enrolment.photo.quality, face_service.settings())
        flash(_("照片已登记：") + "；".join(f"{label} {text}" for label, text in figures), "success")
        if enrolment.duplicates:
            flash(_("该照片与%(n)d名已登记人员相似，已提交人脸审核", n=len(enrolment.duplicates)), "error")
    return redirect(url_for("console.worker_detail", worker_id=worker.id))


@bp.route("/workers/sign-in-codes", methods=["POST"])
def worker_sign_in_codes():
    """Issue and print one-time sign-in codes (QR codes) for the selected workers of the manager's enterprise."""
    try:
        worker_ids = [int(v) for v in request.form.getlist("worker_id")]
    except ValueError:
        abort(400)
    back = request.referrer if request.referrer and request.referrer.startswith(request.host_url) else None
    try:
        issued = sign_in_codes.issue_printed(db.session, current_user, worker_ids, utcnow())
    except LookupError:
        abort(404)
    except DomainError as exc:
        flash(error_text(exc), "error")
        return redirect(back or url_for("console.workers"))
    sheet = [
        {
            "worker": code.worker,
            "masked_id": mask(code.worker.citizen_id),
            "qr": sign_in_sheet.qr_svg(addresses.public_url("worker.sign_in_code", code=code.code) or ""),
            "expires_at": code.expires_at,
        }
        for code in issued
    ]
    db.session.commit()
    page = render_template("console/worker_sign_in_codes.html", sheet=sheet, back=back)
    # The page holds live codes: nothing may keep it (the printout is the only copy).
    return page, 200, {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"}
