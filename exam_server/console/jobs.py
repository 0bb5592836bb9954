"""Console pages: a queued job's real progress, its outcome, its file, and cancelling it (the owner only)."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import select

from exam_server.console.blueprint import bp
from exam_server.console.helpers import download
from exam_server.extensions import db
from exam_server.models import ItemState, Job, JobItem
from exam_server.services import audit, job_state, policy

STATES = {
    "queued": _l("排队中，等待处理"),
    "running": _l("处理中"),
    "done": _l("已完成"),
    "failed": _l("失败"),
    "cancelled": _l("已取消"),
}


def _own_job(job_id: int) -> Job:
    job = db.session.get(Job, job_id)
    if job is None or not policy.may_see_job(current_user, job):
        abort(404)
    return job


@bp.route("/jobs/<int:job_id>")
def job_page(job_id: int):
    job = _own_job(job_id)
    outcomes = db.session.execute(
        select(JobItem.name, JobItem.state, JobItem.message)
        .where(JobItem.job_id == job.id, JobItem.state != ItemState.PENDING)
        .order_by(JobItem.id)
        .limit(20)
    ).all()
    progress = job_state.progress(db.session, job)
    return render_template("console/job.html", job=job, p=progress, states=STATES, outcomes=outcomes)


@bp.route("/jobs/<int:job_id>/status")
def job_status(job_id: int):
    return job_state.progress(db.session, _own_job(job_id)).to_dict()


@bp.route("/jobs/<int:job_id>/file")
def job_file(job_id: int):
    job = _own_job(job_id)
    if job.result_name is None or job.result is None:
        abort(404)
    audit.record(
        db.session, "export_downloaded", user_id=current_user.id, ip=request.remote_addr, detail={"job": job.id}
    )
    db.session.commit()
    return download(job.result, job.result_name, job.result_type or "application/octet-stream")


@bp.route("/jobs/<int:job_id>/cancel", methods=["POST"])
def job_cancel(job_id: int):
    job = _own_job(job_id)
    if job_state.cancel(db.session, job):
        audit.record(
            db.session, "job_cancelled", user_id=current_user.id, ip=request.remote_addr, detail={"job": job.id}
        )
        db.session.commit()
        flash(_("已取消。"), "success")
    return redirect(url_for("console.job_page", job_id=job.id))
