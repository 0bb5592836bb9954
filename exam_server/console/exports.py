"""Console pages: download figures and worker-level results as streamed CSV or XLSX."""
from __future__ import annotations

from flask import Response, abort, render_template, request, stream_with_context
from flask_login import current_user

from exam_server.auth.session import roles_required
from exam_server.console import bp
from exam_server.console.nav import ADMINS
from exam_server.console.statistics import breadcrumbs, place_and_filters
from exam_server.extensions import db
from exam_server.models import RequirementStatus, utcnow
from exam_server.services import audit
from exam_server.services import exports as ex

KINDS = {  # kind: (file name part, sheet title, columns)
    "figures": ("参考率合格率统计", "参考率合格率", ex.FIGURE_COLUMNS),
    "results": ("考试成绩明细", "成绩明细", ex.RESULT_COLUMNS),
    "pending": ("未参考人员名单", "未参考人员", ex.RESULT_COLUMNS),
}
MIMETYPES = {"csv": "text/csv; charset=utf-8",
             "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}


@bp.route("/exports")
@roles_required(*ADMINS)
def exports():
    place, filters = place_and_filters()
    return render_template("console/exports.html", place=place, filters=filters, kinds=KINDS,
                           crumbs=breadcrumbs(place))


@bp.route("/exports/<kind>.<fmt>")
@roles_required(*ADMINS)
def export_file(kind: str, fmt: str):
    if kind not in KINDS or fmt not in MIMETYPES:
        abort(404)
    place, filters = place_and_filters()
    what, title, columns = KINDS[kind]
    audit.record(db.session, "export", user_id=current_user.id, ip=request.remote_addr,
                 detail={"kind": kind, "format": fmt, "place": place.args(), "filters": filters.args()})
    db.session.commit()
    if kind == "figures":
        rows = ex.figure_rows(db.session, current_user, place, filters)
    else:
        status = RequirementStatus.PENDING if kind == "pending" else None
        rows = ex.result_rows(db.session, current_user, place, filters, status)
    if fmt == "csv":
        body = stream_with_context(ex.csv_chunks(columns, rows))
    else:
        body = ex.file_chunks(ex.xlsx_file([(title, columns, rows)]))
    response = Response(body, mimetype=MIMETYPES[fmt], direct_passthrough=True)
    response.headers["Content-Disposition"] = ex.content_disposition(
        ex.filename(place, what, fmt, utcnow()), f"{kind}.{fmt}")
    response.headers["Cache-Control"] = "private, no-store"
    return response
