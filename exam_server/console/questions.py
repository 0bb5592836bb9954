"""Console pages: the question bank for the city administrator (browse, edit, retire, quality)."""

from __future__ import annotations

from datetime import timedelta

from flask import abort, current_app, flash, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

import question_bank as qb
from exam_server.console.blueprint import bp
from exam_server.console.forms import QuestionForm, QuestionImageForm, QuestionSearchForm, options
from exam_server.console.helpers import PER_PAGE, page_number
from exam_server.extensions import db
from exam_server.i18n import bilingual, error_text, translate_label
from exam_server.models import DomainError, Question, utcnow
from exam_server.services.admin import question_admin
from exam_server.services.exam import question_images

LETTERS = "abcdef"
FIELD_LABELS = {
    "code": _l("编号"),
    "type": _l("题型"),
    "stem": _l("题干"),
    "options": _l("选项"),
    "answer": _l("答案"),
    "category": _l("分类"),
    "difficulty": _l("难度"),
    "points": _l("分值"),
    "basis": _l("法规依据"),
    "explanation": _l("解析"),
    "industries": _l("行业"),
    "job_categories": _l("岗位"),
}


def search_filters(form: QuestionSearchForm) -> dict:
    return {
        "text": form.text.data or "",
        "category": form.category.data or "",
        "qtype": form.qtype.data or "",
        "difficulty": int(form.difficulty.data) if (form.difficulty.data or "").isdigit() else None,
        "status": form.status.data or "",
    }


def search_form() -> QuestionSearchForm:
    form = QuestionSearchForm(request.args)
    form.category.choices = options([("", _("全部分类"))] + [(c, c) for c in question_admin.categories(db.session)])
    return form


@bp.route("/questions")
def questions():
    form = search_form()
    stmt = question_admin.filtered(**search_filters(form))
    page = db.paginate(stmt, page=page_number(), per_page=PER_PAGE, error_out=False)
    return render_template("console/questions.html", form=form, page=page, qtype_label=qtype_label)


def qtype_label(value: str) -> str:
    """Return a stored question type in question_bank's words (单选/多选/判断)."""
    return translate_label(qb.QuestionType(value).label)


@bp.route("/questions/new", methods=["GET", "POST"])
def question_new():
    form = _form({"qtype": qb.QuestionType.SINGLE.value, "difficulty": 3, "status": qb.Status.ACTIVE.value})
    if form.validate_on_submit():
        row, problems = question_admin.create(db.session, _changes(form), current_user)
        if row is not None:
            db.session.commit()
            flash(_("题目%(code)s已新建", code=row.code), "success")
            return redirect(url_for("console.question_edit", question_id=row.id))
        _refuse(form, problems)
    return render_template("console/questions_edit.html", form=form, row=None, code=question_admin.new_code(db.session))


@bp.route("/questions/<int:question_id>", methods=["GET", "POST"])
def question_edit(question_id: int):
    row = db.session.get(Question, question_id) or abort(404)
    form = _form(_data(row))
    if form.validate_on_submit():
        problems = question_admin.update(db.session, row, _changes(form), current_user)
        if not problems:
            db.session.commit()
            flash(_("题目%(code)s已保存（版本%(version)s）", code=row.code, version=row.version), "success")
            return redirect(url_for("console.questions"))
        _refuse(form, problems)
    return render_template(
        "console/questions_edit.html", form=form, row=row, code=row.code, image_form=QuestionImageForm()
    )


def _form(data: dict) -> QuestionForm:
    form = QuestionForm(data=None if request.method == "POST" else data)
    form.industries.choices = options(qb.INDUSTRIES.items())
    return form


def _refuse(form: QuestionForm, problems: list[qb.Problem]) -> None:
    """Put each problem on the field it names and say it at the top; nothing of the attempt is kept."""
    db.session.rollback()
    for p in problems:
        message = bilingual(p.message)
        name, _, index = p.column.partition("[")
        target = f"option_{LETTERS[int(index.rstrip(']'))]}" if name == "options" and index else name
        field = getattr(form, {"options": "option_a", "type": "qtype"}.get(target, target), None)
        if field is not None:
            field.errors = [*field.errors, message]
        flash(f"{FIELD_LABELS.get(name, name)}: {message}", "error")


def _data(row: Question) -> dict:
    options = list(row.options) + [""] * (6 - len(row.options))
    return {
        **{f"option_{LETTERS[i]}": options[i] for i in range(6)},
        "qtype": row.qtype,
        "stem": row.stem,
        "answer": row.answer,
        "explanation": row.explanation,
        "category": row.category,
        "difficulty": row.difficulty,
        "points": row.points,
        "basis": row.basis,
        "status": row.status,
        "job_categories": row.job_categories,
        "industries": row.industries,
        "exam_only": row.exam_only,
    }


def _changes(form: QuestionForm) -> dict:
    return {
        "type": qb.QuestionType(form.qtype.data),
        "stem": form.stem.data.strip(),
        "options": tuple(getattr(form, f"option_{letter}").data or "" for letter in LETTERS),
        "answer": form.answer.data.strip().upper(),
        "explanation": (form.explanation.data or "").strip(),
        "category": form.category.data.strip(),
        "difficulty": form.difficulty.data,
        "points": form.points.data,
        "basis": (form.basis.data or "").strip(),
        "status": qb.Status(form.status.data),
        "job_categories": tuple(form.job_categories.data or ()),
        "industries": tuple(form.industries.data or ()),
        "exam_only": bool(form.exam_only.data),
    }


@bp.route("/questions/<int:question_id>/image", methods=["POST"])
def question_image_upload(question_id: int):
    row = db.session.get(Question, question_id) or abort(404)
    form = QuestionImageForm()
    if not form.validate_on_submit():
        flash("；".join(e for errors in form.errors.values() for e in errors), "error")
        return redirect(url_for("console.question_edit", question_id=row.id))
    try:
        question_images.attach(db.session, row, form.image.data.read(), current_app.config["DATA_DIR"], current_user)
    except DomainError as refused:
        db.session.rollback()
        flash(_("图片未保存：%(reason)s", reason=error_text(refused)), "error")
    else:
        db.session.commit()
        flash(_("题目%(code)s的图片已保存（版本%(version)s）", code=row.code, version=row.version), "success")
    return redirect(url_for("console.question_edit", question_id=row.id))


@bp.route("/questions/<int:question_id>/image/remove", methods=["POST"])
def question_image_remove(question_id: int):
    row = db.session.get(Question, question_id) or abort(404)
    if question_images.detach(db.session, row, current_user):
        db.session.commit()
        flash(_("题目%(code)s的图片已移除；已组好的试卷仍显示原图", code=row.code), "success")
    return redirect(url_for("console.question_edit", question_id=row.id))


@bp.route("/questions/<int:question_id>/image")
def question_image(question_id: int):
    row = db.session.get(Question, question_id) or abort(404)
    path = question_images.path_of(current_app.config["DATA_DIR"], row.image or "")
    if path is None:
        abort(404)
    response = send_file(path, mimetype="image/png" if path.suffix == ".png" else "image/jpeg", max_age=0)
    response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.route("/questions/<int:question_id>/retire", methods=["POST"])
def question_retire(question_id: int):
    row = db.session.get(Question, question_id) or abort(404)
    if question_admin.retire(db.session, row, current_user):
        db.session.commit()
        flash(_("题目%(code)s已停用，不再用于新组卷", code=row.code), "success")
    return redirect(request.referrer or url_for("console.questions"))


@bp.route("/questions/quality")
def question_quality():
    days = request.args.get("days", 365, type=int)
    since = utcnow() - timedelta(days=days) if days and days > 0 else None
    rows, sittings = question_admin.quality(db.session, since)
    return render_template(
        "console/questions_quality.html",
        rows=rows,
        sittings=sittings,
        days=days,
        flags=qb.FLAG_LABELS,
        limit=question_admin.QUALITY_SITTINGS,
    )
