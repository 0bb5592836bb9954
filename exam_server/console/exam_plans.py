"""Console pages: exam plans (city: all; county: its own), with their requirements materialised on save."""

from __future__ import annotations

from flask import abort, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import func, select

from exam_server import localday
from exam_server.console.blueprint import bp
from exam_server.console.forms import PlanForm, options
from exam_server.console.helpers import PER_PAGE, page_number
from exam_server.extensions import db
from exam_server.i18n import error_text
from exam_server.models import County, DomainError, Enterprise, ExamRequirement, Industry, RequirementStatus
from exam_server.services import policy
from exam_server.services.admin import enterprise_picker, paper_rules, plans


@bp.route("/plans")
def exam_plans():
    page = db.paginate(plans.visible(current_user), page=page_number(), per_page=PER_PAGE, error_out=False)
    ids = [plan.id for plan in page.items]
    counts = {}
    for plan_id, status, n in db.session.execute(
        select(ExamRequirement.plan_id, ExamRequirement.status, func.count(ExamRequirement.id))
        .where(ExamRequirement.plan_id.in_(ids))
        .group_by(ExamRequirement.plan_id, ExamRequirement.status)
    ):
        counts.setdefault(plan_id, {})[status] = n
    names = {
        "counties": dict(db.session.execute(select(County.id, County.name)).all()),
        "industries": dict(db.session.execute(select(Industry.id, Industry.name)).all()),
    }
    return render_template(
        "console/exam_plans.html", page=page, counts=counts, names=names, passed=RequirementStatus.PASSED
    )


def _form(plan=None) -> PlanForm:
    form = PlanForm()
    counties = policy.visible_counties(
        current_user, db.session.execute(select(County.id, County.name).order_by(County.code)).all()
    )
    city = [(0, _("全市"))] if policy.can_see_city(current_user) else []
    form.county_id.choices = options(city + [(c.id, c.name) for c in counties])
    form.industry_id.choices = options(
        [(0, _("所有行业"))]
        + [(i.id, i.name) for i in db.session.execute(select(Industry.id, Industry.name).order_by(Industry.id))]
    )
    form.ruleset_id.choices = options(
        (
            key,
            _(
                "%(name)s（%(minutes)d分钟，及格%(mark)s分）",
                name=rs["name"],
                minutes=rs["duration_minutes"],
                mark=format(rs["pass_mark"], "g"),
            ),
        )
        for key, rs in paper_rules.all_rulesets(db.session).items()
    )
    if plan is not None and not form.is_submitted():
        face = plan.face_policy or {}
        enterprise = db.session.get(Enterprise, plan.enterprise_id) if plan.enterprise_id else None
        form.process(
            data={
                "name": plan.name,
                "county_id": plan.county_id or 0,
                "industry_id": plan.industry_id or 0,
                "enterprise_code": enterprise_picker.label(enterprise) if enterprise else "",
                "job_categories": plan.job_categories,
                "opens_at": localday.to_wall_clock(plan.opens_at),
                "closes_at": localday.to_wall_clock(plan.closes_at),
                "max_attempts": plan.max_attempts,
                "ruleset_id": (plan.ruleset or {}).get("id"),
                "mean_interval_seconds": face.get("mean_interval_seconds", 90),
                "retries": face.get("suspend_after_mismatches", 3) - 1,
                "review_answers": plan.review_answers,
            }
        )
    return form


def _input(form: PlanForm) -> plans.PlanInput:
    opens_at, closes_at = localday.from_wall_clock(form.opens_at.data), localday.from_wall_clock(form.closes_at.data)
    if opens_at is None or closes_at is None:  # the form requires both; a form that lets one through is a bug
        raise DomainError(_("请填写开始时间和结束时间"))
    return plans.PlanInput(
        name=form.name.data,
        opens_at=opens_at,
        closes_at=closes_at,
        ruleset_id=form.ruleset_id.data,
        county_id=form.county_id.data or None,
        industry_id=form.industry_id.data or None,
        enterprise_code=form.enterprise_code.data or "",
        job_categories=form.job_categories.data or [],
        max_attempts=form.max_attempts.data,
        mean_interval_seconds=form.mean_interval_seconds.data,
        retries=form.retries.data,
        review_answers=bool(form.review_answers.data),
    )


def _save(form: PlanForm, plan=None):
    try:
        plan, added, removed = plans.save_plan(db.session, current_user, _input(form), plan)
        db.session.commit()
    except DomainError as exc:
        db.session.rollback()
        flash(error_text(exc), "error")
        return None
    saved = _("考试计划“%(name)s”已保存：新增考试任务%(added)d项", name=plan.name, added=added)
    flash(saved + (_("，移除%(removed)d项", removed=removed) if removed else ""), "success")
    return redirect(url_for("console.exam_plans"))


@bp.route("/plans/new", methods=["GET", "POST"])
def exam_plan_new():
    form = _form()
    if form.validate_on_submit() and (done := _save(form)):
        return done
    return render_template("console/exam_plans_form.html", form=form, plan=None)


@bp.route("/plans/<int:plan_id>", methods=["GET", "POST"])
def exam_plan_edit(plan_id: int):
    plan = plans.editable(db.session, current_user, plan_id) or abort(404)
    form = _form(plan)
    if form.validate_on_submit() and (done := _save(form, plan)):
        return done
    return render_template("console/exam_plans_form.html", form=form, plan=plan)


@bp.route("/enterprises/suggest")
def enterprise_suggest():
    """Answer the enterprise search boxes: enterprises of the user's scope matching ``q``."""
    return jsonify(enterprises=enterprise_picker.suggest(db.session, current_user, request.args.get("q", "")))
