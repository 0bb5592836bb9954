"""Console pages: import workers from a spreadsheet with a preview and an error report."""

from __future__ import annotations

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy.exc import IntegrityError

from exam_server.console.blueprint import bp
from exam_server.console.forms import ImportConfirmForm, WorkerImportForm
from exam_server.console.helpers import XLSX, download
from exam_server.extensions import db
from exam_server.i18n import error_text
from exam_server.jobs import tasks
from exam_server.models import N_, DomainError, Enterprise
from exam_server.services.admin import import_jobs, staging, worker_import, worker_template

KIND = "imports"
SHOWN_PROBLEMS = 300


@bp.route("/workers/import/template.xlsx")
def workers_import_template():
    return download(worker_template.template_xlsx(), "从业人员导入模板.xlsx", XLSX)


@bp.route("/workers/import", methods=["GET", "POST"])
def workers_import():
    form = WorkerImportForm()
    wanted = request.args.get("enterprise_id", type=int)
    try:
        preset = worker_import.target_enterprise(db.session, current_user, enterprise_id=wanted)
        if form.validate_on_submit():
            target = worker_import.target_enterprise(
                db.session, current_user, enterprise_id=wanted, credit_code=form.enterprise_code.data
            )
            upload = form.file.data
            staged = staging.stage(
                current_app.config["DATA_DIR"],
                KIND,
                upload.stream,
                upload.filename,
                {"user_id": current_user.id, "import": "workers", "enterprise_id": target.id if target else None},
            )
            return redirect(url_for("console.workers_import_preview", token=staged.token))
    except LookupError:
        form.enterprise_code.errors = [_("未找到该企业，或该企业不在您的管理范围内")]
        return render_template("console/workers_import.html", form=form, preset=None), 404
    except DomainError as exc:
        flash(error_text(exc), "error")
        preset = None
    return render_template("console/workers_import.html", form=form, preset=preset)


def _checked(token: str):
    """Return the staged upload, its enterprise and a fresh check of every row, or 404."""
    staged = staging.load(current_app.config["DATA_DIR"], KIND, token, current_user.id)
    if staged is None or staged.meta.get("import") != "workers":
        abort(404)
    enterprise = db.session.get(Enterprise, staged.meta["enterprise_id"]) if staged.meta["enterprise_id"] else None
    try:
        result = worker_import.check_table(
            db.session, worker_import.read_staged(staged.upload), current_user, enterprise
        )
    except DomainError as exc:
        problem = worker_import.RowProblem(
            None, N_("文件"), getattr(exc, "msgid", str(exc)), getattr(exc, "params", {})
        )
        result = worker_import.ImportCheck(problems=[problem])
    return staged, enterprise, result


def problem_text(problem: worker_import.RowProblem) -> str:
    """Return an import problem (row, column and message msgids, the message's values) in the user's language."""
    column, message = _(problem.column), _(problem.message, **problem.params)
    if problem.row:
        return _("第%(row)s行 %(column)s: %(message)s", row=problem.row, column=column, message=message)
    return f"{column}: {message}"


@bp.route("/workers/import/<token>")
def workers_import_preview(token: str):
    staged, enterprise, result = _checked(token)
    return render_template(
        "console/workers_import_preview.html",
        staged=staged,
        enterprise=enterprise,
        result=result,
        shown=result.problems[:SHOWN_PROBLEMS],
        problem_text=problem_text,
        form=ImportConfirmForm(),
    )


@bp.route("/workers/import/<token>/report.csv")
def workers_import_report(token: str):
    result = _checked(token)[2]
    return download(worker_import.problems_csv(result, _), _("导入错误报告.csv"), "text/csv")


@bp.route("/workers/import/<token>", methods=["POST"])
def workers_import_confirm(token: str):
    staged, enterprise, result = _checked(token)
    form = ImportConfirmForm()
    if not form.validate_on_submit():
        abort(400)
    if result.rows > current_app.config["IMPORT_JOB_ROWS"] and not result.file_problems:
        # A city-sized file takes most of a minute to write: a job worker does it, the page follows it.
        job = import_jobs.create(
            db.session,
            staged.upload.read_bytes(),
            staged.meta["filename"],
            current_user,
            enterprise.id if enterprise else None,
            bool(form.import_valid.data),
            str(get_locale()),
        )
        db.session.commit()
        tasks.start(job.id)
        staging.discard(staged)
        return redirect(url_for("console.job_page", job_id=job.id))
    try:
        outcome = worker_import.write(
            db.session,
            result,
            current_user,
            accept_valid_rows=bool(form.import_valid.data),
            filename=staged.meta["filename"],
        )
        db.session.commit()
    except DomainError as exc:
        db.session.rollback()
        flash(error_text(exc), "error")
        return redirect(url_for("console.workers_import_preview", token=token))
    except IntegrityError:
        db.session.rollback()
        flash(_("导入期间数据发生变化（如同一人员已被他人登记），未导入任何数据，请重新检查"), "error")
        return redirect(url_for("console.workers_import_preview", token=token))
    staging.discard(staged)
    flash(
        _(
            "已导入%(imported)d人，跳过%(skipped)d行有错误的数据，新增考试任务%(requirements)d项",
            imported=outcome.imported,
            skipped=outcome.skipped_rows,
            requirements=outcome.requirements,
        ),
        "success",
    )
    return redirect(url_for("console.workers", enterprise=enterprise.credit_code if enterprise else None))
