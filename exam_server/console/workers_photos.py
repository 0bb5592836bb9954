"""Console pages: enrol a zip of photos as a queued job, follow its real progress, cancel it."""

from __future__ import annotations

import csv
import io

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from exam_server.console.blueprint import bp
from exam_server.console.forms import PhotoZipForm
from exam_server.console.helpers import download
from exam_server.extensions import db
from exam_server.i18n import error_text
from exam_server.jobs import tasks
from exam_server.models import DomainError, Job
from exam_server.services import audit, job_state
from exam_server.services.faces import photo_jobs
from exam_server.services.reporting import exports


@bp.route("/workers/photos", methods=["GET", "POST"])
def workers_photos():
    form = PhotoZipForm()
    if form.validate_on_submit():
        upload = form.archive.data
        try:
            job = photo_jobs.create(
                db.session, upload.stream, upload.filename, current_user, current_app.config["JOB_CHUNK_PHOTOS"]
            )
        except DomainError as exc:
            db.session.rollback()
            form.archive.errors = [error_text(exc)]
            return render_template("console/workers_photos.html", form=form), 400
        audit.record(
            db.session,
            "photo_batch_started",
            user_id=current_user.id,
            ip=request.remote_addr,
            detail={"job": job.id, "filename": (upload.filename or "")[:200], "photos": job.total},
        )
        db.session.commit()
        tasks.start(job.id)
        return redirect(url_for("console.workers_photos_job", job_id=job.id))
    return render_template("console/workers_photos.html", form=form)


def _own_job(job_id: int) -> Job:
    return photo_jobs.find(db.session, job_id, current_user) or abort(404)


@bp.route("/workers/photos/<int:job_id>")
def workers_photos_job(job_id: int):
    job = _own_job(job_id)
    return render_template("console/workers_photos_job.html", job=job, progress=job_state.progress(db.session, job))


@bp.route("/workers/photos/<int:job_id>/status")
def workers_photos_status(job_id: int):
    return job_state.progress(db.session, _own_job(job_id)).to_dict()


@bp.route("/workers/photos/<int:job_id>/cancel", methods=["POST"])
def workers_photos_cancel(job_id: int):
    job = _own_job(job_id)
    if job_state.cancel(db.session, job):
        audit.record(
            db.session, "photo_batch_cancelled", user_id=current_user.id, ip=request.remote_addr, detail={"job": job.id}
        )
        db.session.commit()
        flash(_("已取消：已登记的照片保留，其余照片不再处理。"), "success")
    return redirect(url_for("console.workers_photos_job", job_id=job.id))


@bp.route("/workers/photos/<int:job_id>/refused.csv")
def workers_photos_refused(job_id: int):
    job = _own_job(job_id)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([_("文件"), _("身份证号"), _("原因")])
    writer.writerows([exports.cell_text(cell) for cell in row] for row in job_state.refusals(db.session, job.id))
    return download(("\ufeff" + out.getvalue()).encode("utf-8"), _("照片未通过-%(job)d.csv", job=job.id), "text/csv")
