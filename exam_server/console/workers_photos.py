"""Console pages: enrol a zip of photos in the background and follow its progress."""

from __future__ import annotations

from flask import abort, current_app, jsonify, redirect, render_template, request, url_for
from flask_login import current_user

from exam_server.auth.session import roles_required
from exam_server.console.blueprint import bp
from exam_server.console.forms import PhotoZipForm
from exam_server.console.nav import ADMINS
from exam_server.extensions import db
from exam_server.services import audit
from exam_server.services.faces import photo_jobs


@bp.route("/workers/photos", methods=["GET", "POST"])
@roles_required(*ADMINS)
def workers_photos():
    form = PhotoZipForm()
    if form.validate_on_submit():
        upload = form.archive.data
        token = photo_jobs.start(current_app._get_current_object(), upload.stream, upload.filename, current_user)
        audit.record(
            db.session,
            "photo_batch_started",
            user_id=current_user.id,
            ip=request.remote_addr,
            detail={"job": token, "filename": (upload.filename or "")[:200]},
        )
        db.session.commit()
        return redirect(url_for("console.workers_photos_job", token=token))
    return render_template("console/workers_photos.html", form=form)


def _status_or_404(token: str) -> dict:
    return photo_jobs.status(current_app.config["DATA_DIR"], token, current_user.id) or abort(404)


@bp.route("/workers/photos/<token>")
@roles_required(*ADMINS)
def workers_photos_job(token: str):
    return render_template("console/workers_photos_job.html", token=token, job=_status_or_404(token))


@bp.route("/workers/photos/<token>/status")
@roles_required(*ADMINS)
def workers_photos_status(token: str):
    job = _status_or_404(token)
    finished = job["state"] in ("done", "failed", "interrupted")
    return jsonify(
        {key: job[key] for key in ("state", "total", "done", "enrolled", "skipped", "duplicates", "error")}
        | {"refused": len(job["refused"]), "finished": finished}
    )
