"""Console pages: download figures and worker-level results as streamed CSV or XLSX."""

from __future__ import annotations

from flask import Response, abort, flash, redirect, render_template, request, stream_with_context, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user

from exam_server.console.blueprint import bp
from exam_server.console.statistics import breadcrumbs, place_and_filters
from exam_server.extensions import db
from exam_server.jobs import tasks
from exam_server.models import ExamPlan, RequirementStatus, User, utcnow
from exam_server.services import audit
from exam_server.services.reporting import export_jobs, practice_effect
from exam_server.services.reporting import exports as ex
from exam_server.services.reporting import statistics as stats

KINDS = export_jobs.KINDS
XLSX_ROW_LIMIT = 100_000
CONTENT_TYPES = {
    "csv": ex.CSV_CONTENT_TYPE,
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


def _rows(
    kind: str, filters: stats.Filters, user_id: int, place_ids: dict, locale: str, place: stats.Place | None = None
):
    """Yield the export's rows in ``locale``; without ``place`` (a streamed body) reload user and place first.

    The request's session is closed when the view returns, before a streamed body is read, so the
    generator works in the session of the context that stream_with_context pushes again.
    """
    user = current_user if place is not None else db.session.get_one(User, user_id)
    place = place or stats.resolve_place(db.session, user, **place_ids)
    yield from export_jobs.rows(db.session, kind, user, place, filters, locale)


@bp.route("/exports")
def exports():
    place, filters = place_and_filters()
    plan = db.session.get(ExamPlan, filters.plan_id) if filters.plan_id else None
    return render_template(
        "console/exports.html",
        place=place,
        filters=filters,
        kinds=KINDS,
        crumbs=breadcrumbs(place),
        plan_name=plan.name if plan else None,
        practice_min=practice_effect.PRACTISED_MIN_ANSWERS,
        weak_min=practice_effect.WEAK_MIN_ANSWERS,
    )


@bp.route("/exports/<kind>.<fmt>")
def export_file(kind: str, fmt: str):
    if kind not in KINDS or fmt not in CONTENT_TYPES:
        abort(404)
    place, filters = place_and_filters()
    what, title, columns = KINDS[kind]
    if fmt == "xlsx" and kind not in export_jobs.SUMMARIES:
        status = RequirementStatus.PENDING if kind == "pending" else None
        rows = stats.worker_page(db.session, current_user, place, filters, per_page=1, status=status).total
        if rows > XLSX_ROW_LIMIT:  # a workbook is written whole before its first byte leaves: a job worker writes it
            place_args = {key: int(value) for key, value in place.args().items()}
            job = export_jobs.create(db.session, kind, place_args, filters, current_user, str(get_locale()))
            audit.record(
                db.session,
                "export",
                user_id=current_user.id,
                ip=request.remote_addr,
                detail={"kind": kind, "format": fmt, "place": place.args(), "filters": filters.args(), "job": job.id},
            )
            db.session.commit()
            tasks.start(job.id)
            flash(_("共 %(rows)d 行，正在后台生成 XLSX 文件，完成后可在本页下载。", rows=rows), "success")
            return redirect(url_for("console.job_page", job_id=job.id))
    place_ids = {key: int(value) for key, value in place.args().items()}
    scope = (kind, filters, current_user.id, place_ids, str(get_locale()))
    audit.record(
        db.session,
        "export",
        user_id=current_user.id,
        ip=request.remote_addr,
        detail={"kind": kind, "format": fmt, "place": place.args(), "filters": filters.args()},
    )
    db.session.commit()
    columns = ex.translated(columns, _)
    if fmt == "csv":
        body = stream_with_context(ex.csv_chunks(columns, _rows(*scope)))
    else:
        heading = ex.heading(db.session, what, place, filters, utcnow(), _)
        body = ex.file_chunks(ex.xlsx_file([(_(title), columns, _rows(*scope, place=place))], heading))
    response = Response(body, content_type=CONTENT_TYPES[fmt], direct_passthrough=True)
    response.headers["Content-Disposition"] = ex.content_disposition(
        ex.filename(place, what, fmt, utcnow(), _), f"{kind}.{fmt}"
    )
    response.headers["Cache-Control"] = "private, no-store"
    return response
