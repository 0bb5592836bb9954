"""Console pages: participation and pass rates with drill-down, charts and the not-yet-sat list."""

from __future__ import annotations

from flask import abort, render_template, request
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from exam_server.console.blueprint import bp
from exam_server.extensions import db
from exam_server.i18n import error_text
from exam_server.models import DomainError, RequirementStatus
from exam_server.services import policy
from exam_server.services.reporting import practice_effect
from exam_server.services.reporting import statistics as stats

DIMENSION_LABELS = {
    "county": _l("区县"),
    "township": _l("乡镇（街道）"),
    "enterprise": _l("企业"),
    "industry": _l("行业"),
}
CHART_LIMIT = 40  # more members than this are shown as a table only
WEAK_ENTERPRISES_SHOWN = 30  # the rest are in the export
# Weakest categories read every practice answer of the place (2.8 s for 1.2 million on SQLite):
# computed with the page below a county, on request (?weak=1) for the city and a county.
WEAK_ON_PAGE = ("township", "enterprise")


@bp.app_template_filter("rate")
def format_rate(value: float | None) -> str:
    """Show a rate as a percentage, or "—" when nobody is counted."""
    return "—" if value is None else f"{value * 100:.1f}%"


def place_and_filters() -> tuple[stats.Place, stats.Filters]:
    """Read the drill-down place and filters from the query string; 403 outside the user's scope."""

    def number(name: str) -> int | None:
        raw = request.args.get(name, "")
        return int(raw) if raw.isdigit() else None

    try:
        place = stats.resolve_place(
            db.session, current_user, number("county"), number("township"), number("enterprise")
        )
        return place, stats.Filters.parse(request.args)
    except stats.OutOfScope:
        abort(403)
    except DomainError as exc:
        abort(400, error_text(exc))


def breadcrumbs(place: stats.Place) -> list[tuple[str, dict]]:
    """Return (label, place arguments) from the highest level the user may open down to the place."""
    crumbs: list[tuple[str, dict]] = [(_("全市"), {})] if policy.can_see_city(current_user) else []
    if place.county and policy.can_see_county(current_user, place.county.id):
        crumbs.append((place.county.name, {"county": place.county.id}))
    if place.township and policy.can_see_county(current_user, place.township.county_id):
        crumbs.append((place.township.name, {"township": place.township.id}))
    if place.enterprise:
        crumbs.append((place.enterprise.name, {"enterprise": place.enterprise.id}))
    return crumbs


@bp.route("/statistics")
def statistics():
    place, filters = place_and_filters()
    session, user = db.session, current_user
    plans = stats.breakdown(session, user, place, filters, "plan")
    totals = stats.total(plans)
    children = stats.breakdown(session, user, place, filters, place.child) if place.child else None
    industries = stats.breakdown(session, user, place, filters, "industry") if place.level != "enterprise" else None
    workers = None
    if place.level == "enterprise":
        workers = stats.worker_page(
            session, user, place, filters, request.args.get("page", 1, type=int), count=totals.required
        )
    return render_template(
        "console/statistics.html",
        place=place,
        filters=filters,
        totals=totals,
        plans=plans,
        all_plans=plans
        if filters == stats.Filters()
        else stats.breakdown(session, user, place, stats.Filters(), "plan"),
        children=children,
        child_label=DIMENSION_LABELS.get(place.child),
        industries=industries,
        months=stats.monthly_first_sat(session, user, place, filters, totals.required),
        plan_months=stats.months_of_plans(plans, filters),
        workers=workers,
        names=stats.Names.load(session, place) if workers else None,
        crumbs=breadcrumbs(place),
        chart_limit=CHART_LIMIT,
        practice=practice_effect.pass_by_practice(session, user, place, filters),
        weakness=practice_effect.weak_categories(session, user, place, filters)
        if place.level in WEAK_ON_PAGE or request.args.get("weak") == "1"
        else None,
        practice_effect=practice_effect,
        weak_shown=WEAK_ENTERPRISES_SHOWN,
    )


@bp.route("/statistics/pending")
def statistics_pending():
    place, filters = place_and_filters()
    page = stats.worker_page(
        db.session,
        current_user,
        place,
        filters,
        request.args.get("page", 1, type=int),
        status=RequirementStatus.PENDING,
    )
    return render_template(
        "console/statistics_pending.html",
        place=place,
        filters=filters,
        workers=page,
        names=stats.Names.load(db.session, place),
        crumbs=breadcrumbs(place),
    )
