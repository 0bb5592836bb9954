"""Console pages: paper rule sets by name, each rule shown and edited, with a sample paper before saving."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

import question_bank as qb
from exam_server.console.blueprint import bp
from exam_server.console.forms import PaperRulesForm, options
from exam_server.extensions import db
from exam_server.i18n import error_text
from exam_server.models import DomainError
from exam_server.services.admin import paper_rules, question_admin

BLANK_ROWS = 3  # empty rule rows offered under the existing ones for adding a rule


@bp.route("/paper-rules")
def paper_rules_list():
    sets = [qb.RuleSet.from_dict(body) for body in paper_rules.all_rulesets(db.session).values()]
    return render_template("console/paper_rules.html", sets=sets, types=list(qb.QuestionType), scope=_scope)


@bp.route("/paper-rules/<code>", methods=["GET", "POST"])
def paper_rule_edit(code: str):
    ruleset = paper_rules.find(db.session, code) or abort(404)
    form = PaperRulesForm(data=None if request.method == "POST" else _data(ruleset))
    categories = options(
        [("", _("任意分类"))]
        + [(c, c) for c in sorted({*question_admin.categories(db.session), *_categories(ruleset)})]
    )
    for row in form.rules:
        row.form.category.choices = categories
    preview = None
    if form.validate_on_submit():
        edited, problems = qb.edited_ruleset(ruleset, _changes(form))
        for problem in problems:
            flash(problem, "error")
        if edited is not None and request.form.get("action") == "save":
            try:
                paper_rules.save(db.session, edited, current_user)
            except DomainError as refused:
                db.session.rollback()
                flash(_("未保存：%(reason)s", reason=error_text(refused)), "error")
            else:
                db.session.commit()
                flash(
                    _(
                        "试卷规则“%(name)s”已保存（版本%(version)s）；考试计划再次保存时采用新规则",
                        name=edited.name,
                        version=edited.version,
                    ),
                    "success",
                )
                return redirect(url_for("console.paper_rules_list"))
        if edited is not None:
            preview = paper_rules.preview(db.session, edited)
    return render_template(
        "console/paper_rules_edit.html", form=form, ruleset=ruleset, preview=preview, scope=_scope(ruleset)
    )


def _scope(ruleset: qb.RuleSet) -> str:
    """Say whom a rule set is for, in words: an industry and a job category, or everyone."""
    parts = [qb.INDUSTRIES.get(ruleset.industry, ruleset.industry) if ruleset.industry else ""]
    parts.append(qb.JOB_CATEGORIES.get(ruleset.job_category, "") if ruleset.job_category else "")
    return "、".join(p for p in parts if p) or _("通用（所有行业、岗位）")


def _categories(ruleset: qb.RuleSet) -> set[str]:
    return {rule.category for rule in ruleset.rules if rule.category}


def _data(ruleset: qb.RuleSet) -> dict:
    rules = [rule.to_dict() for rule in ruleset.rules]
    return {
        "name": ruleset.name,
        "duration_minutes": ruleset.duration_minutes,
        "pass_mark": _figure(ruleset.pass_mark),
        **{f"points_{t.value}": _figure(ruleset.points.get(t)) for t in qb.QuestionType},
        "rules": [
            {"category": r["category"] or "", "qtype": r["type"], "difficulty": r["difficulty"], "count": r["count"]}
            for r in rules
        ]
        + [{"category": "", "qtype": "single", "difficulty": "any", "count": None}] * BLANK_ROWS,
    }


def _figure(value: float | None) -> float | int | None:
    """Show 80 rather than 80.0 on the form."""
    return int(value) if value is not None and float(value).is_integer() else value


def _changes(form: PaperRulesForm) -> dict:
    return {
        "name": form.name.data.strip(),
        "duration_minutes": form.duration_minutes.data,
        "pass_mark": form.pass_mark.data,
        "points": {t.value: getattr(form, f"points_{t.value}").data for t in qb.QuestionType},
        "rules": [
            {
                "category": row.form.category.data or None,
                "type": row.form.qtype.data,
                "difficulty": row.form.difficulty.data or "any",
                "count": row.form.count.data,
            }
            for row in form.rules
            if row.form.count.data  # a row left empty (or 0) is no rule
        ],
    }
