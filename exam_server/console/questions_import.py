"""Console pages: question import with preview and error report, export and the template."""

from __future__ import annotations

import csv
import io

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

import question_bank as qb
from exam_server.console.blueprint import bp
from exam_server.console.forms import ImportConfirmForm, QuestionImportForm
from exam_server.console.helpers import XLSX, download
from exam_server.console.questions import search_filters, search_form
from exam_server.extensions import db
from exam_server.i18n import bilingual, error_text
from exam_server.models import DomainError
from exam_server.services.admin import question_admin, staging

KIND = "imports"
MIMETYPES = {"xlsx": XLSX, "csv": "text/csv", "json": "application/json"}


@bp.route("/questions/template.xlsx")
def questions_template():
    return download(qb.build_template(), "题库导入模板.xlsx", XLSX)


@bp.route("/questions/export")
def questions_export():
    fmt = request.args.get("fmt", "xlsx")
    if fmt not in MIMETYPES:
        abort(400)
    stmt = question_admin.filtered(**search_filters(search_form()))
    return download(question_admin.export(db.session, stmt, fmt), f"题库导出.{fmt}", MIMETYPES[fmt])


@bp.route("/questions/import", methods=["GET", "POST"])
def questions_import():
    form = QuestionImportForm()
    if form.validate_on_submit():
        upload = form.file.data
        staged = staging.stage(
            current_app.config["DATA_DIR"],
            KIND,
            upload.stream,
            upload.filename,
            {"user_id": current_user.id, "import": "questions"},
        )
        return redirect(url_for("console.questions_import_preview", token=staged.token))
    return render_template("console/questions_import.html", form=form)


def _checked(token: str, accept_valid_rows: bool = False):
    staged = staging.load(current_app.config["DATA_DIR"], KIND, token, current_user.id)
    if staged is None or staged.meta.get("import") != "questions":
        abort(404)
    try:
        result = question_admin.check_import(
            db.session, staged.upload.read_bytes(), staged.meta["filename"], accept_valid_rows=accept_valid_rows
        )
    except DomainError as exc:
        result = qb.ImportResult([], [qb.Problem(None, _("文件"), error_text(exc))], 0, 0)
    return staged, result


@bp.route("/questions/import/<token>")
def questions_import_preview(token: str):
    staged, result = _checked(token)
    return render_template(
        "console/questions_import_preview.html",
        staged=staged,
        result=result,
        valid=result.valid_rows,
        form=ImportConfirmForm(),
    )


@bp.route("/questions/import/<token>/report.csv")
def questions_import_report(token: str):
    result = _checked(token)[1]
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([_("行号"), _("列"), _("问题")])
    writer.writerows([p.row or "", p.column, bilingual(p.message)] for p in result.problems)
    return download(out.getvalue().encode("utf-8-sig"), _("题库导入错误报告.csv"), "text/csv")


@bp.route("/questions/import/<token>", methods=["POST"])
def questions_import_confirm(token: str):
    form = ImportConfirmForm()
    if not form.validate_on_submit():
        abort(400)
    staged, result = _checked(token, accept_valid_rows=bool(form.import_valid.data))
    try:
        added = question_admin.write_import(db.session, result, current_user, staged.meta["filename"])
        db.session.commit()
    except DomainError as exc:
        db.session.rollback()
        flash(error_text(exc), "error")
        return redirect(url_for("console.questions_import_preview", token=token))
    staging.discard(staged)
    flash(
        _("已导入%(added)d道题目", added=added)
        + (_("，跳过%(rows)d行有错误的数据", rows=len(result.rejected_rows)) if result.problems else ""),
        "success",
    )
    return redirect(url_for("console.questions"))
