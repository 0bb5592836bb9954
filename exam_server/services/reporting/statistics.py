"""Participation (参考率) and pass (合格率) rates by region, industry, enterprise and month, scoped to the user.

Every figure is a GROUP BY on exam_requirement, whose copied region columns and status make each
query single-table; nothing is cached, so a result counts the moment its transaction commits.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Select, SQLColumnExpression, func, literal, select, union_all

from exam_server import localday
from exam_server.database import DbSession
from exam_server.models import (
    N_,
    Certificate,
    County,
    Decision,
    DomainError,
    Enterprise,
    ExamPlan,
    ExamRequirement,
    FaceCheck,
    Industry,
    RequirementStatus,
    Sitting,
    SittingStatus,
    Township,
    User,
    Worker,
)
from exam_server.models import face as face_models
from exam_server.services import policy
from exam_server.services.policy import enterprise_filter

# Sat: failed, passed, or passed with a certificate that has since expired, which no longer counts as qualified.
SAT = (RequirementStatus.FAILED, RequirementStatus.PASSED, RequirementStatus.EXPIRED)
_MONTH = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")
REQ = ExamRequirement


class OutOfScope(DomainError):
    """Raise when a user asks for figures outside what they may see."""


@dataclass
class Rates:
    """Counts of one group; a rate is None when its denominator is zero."""

    required: int = 0
    sat: int = 0
    passed: int = 0

    def add(self, status: RequirementStatus | str, count: int) -> None:
        """Count ``count`` requirements of ``status`` into the group."""
        status = RequirementStatus(status)
        self.required += count
        if status in SAT:
            self.sat += count
        if status is RequirementStatus.PASSED:
            self.passed += count

    def __add__(self, other: Rates) -> Rates:
        return Rates(self.required + other.required, self.sat + other.sat, self.passed + other.passed)

    @property
    def pending(self) -> int:
        return self.required - self.sat

    @property
    def participation(self) -> float | None:
        return self.sat / self.required if self.required else None

    @property
    def pass_rate(self) -> float | None:
        return self.passed / self.sat if self.sat else None


@dataclass(frozen=True)
class Filters:
    """The page's filters: one plan, and a range of months that selects the plans whose window overlaps it."""

    plan_id: int | None = None
    month_from: str | None = None
    month_to: str | None = None

    @classmethod
    def parse(cls, args: Mapping[str, str]) -> Filters:
        """Read plan, from and to ("YYYY-MM") from query arguments, refusing malformed ones."""
        plan = (args.get("plan") or "").strip()
        months = [(args.get(key) or "").strip() or None for key in ("from", "to")]
        for month in months:
            if month and not _MONTH.match(month):
                raise DomainError(N_("月份格式应为YYYY-MM：%(month)s"), month=month)
        if not plan.isdigit() and plan:
            raise DomainError(N_("考试计划编号无效：%(plan)s"), plan=plan)
        if months[0] and months[1] and months[0] > months[1]:
            months.reverse()
        return cls(int(plan) if plan else None, *months)

    def args(self) -> dict[str, str]:
        """Return the filters as query arguments for links."""
        pairs = {"plan": self.plan_id, "from": self.month_from, "to": self.month_to}
        return {k: str(v) for k, v in pairs.items() if v}


@dataclass(frozen=True)
class Place:
    """Where the user has drilled to: the city, a county, a township or an enterprise."""

    county: County | None = None
    township: Township | None = None
    enterprise: Enterprise | None = None

    @property
    def level(self) -> str:
        return "enterprise" if self.enterprise else "township" if self.township else "county" if self.county else "city"

    @property
    def child(self) -> str | None:
        """Return the dimension one level down (None below an enterprise: its worker list)."""
        return {"city": "county", "county": "township", "township": "enterprise"}.get(self.level)

    def args(self) -> dict[str, str]:
        if self.enterprise:
            return {"enterprise": str(self.enterprise.id)}
        if self.township:
            return {"township": str(self.township.id)}
        return {"county": str(self.county.id)} if self.county else {}

    def where(self) -> list:
        if self.enterprise:
            return [REQ.enterprise_id == self.enterprise.id]
        if self.township:
            return [REQ.township_id == self.township.id]
        return [REQ.county_id == self.county.id] if self.county else []


def resolve_place(
    session: DbSession,
    user: User,
    county: int | None = None,
    township: int | None = None,
    enterprise: int | None = None,
) -> Place:
    """Return the place the arguments name, or the user's own scope; refuse anything outside it."""
    if county and not policy.can_see_county(user, county):
        raise OutOfScope(N_("无权查看该区县"))
    if not (county or township or enterprise):
        county, enterprise = policy.home_place(user)
    if enterprise:
        found = session.get(Enterprise, enterprise)
        if found is None or not policy.can_see_enterprise(user, found):
            raise OutOfScope(N_("无权查看该企业"))
        return Place(found.county, found.township, found)
    if township:
        town = session.get(Township, township)
        if town is None or not policy.can_see_county(user, town.county_id):
            raise OutOfScope(N_("无权查看该乡镇"))
        return Place(town.county, town)
    if county:
        area = session.get(County, county)
        if area is None:
            raise OutOfScope(N_("无权查看该区县"))
        return Place(area)
    if not policy.can_see_city(user):
        raise OutOfScope(N_("无权查看统计"))
    return Place(None)


def months_between(first: str, last: str) -> list[str]:
    """Return every month from first to last inclusive."""
    year, mon, out = int(first[:4]), int(first[5:]), []
    while f"{year:04d}-{mon:02d}" <= last:
        out.append(f"{year:04d}-{mon:02d}")
        year, mon = (year + 1, 1) if mon == 12 else (year, mon + 1)
    return out


def plans_in(session: DbSession, filters: Filters) -> list[int] | None:
    """Return the plan ids the filters select, or None when they select every plan."""
    if filters.plan_id is not None:
        return [filters.plan_id]
    if not (filters.month_from or filters.month_to):
        return None
    query = select(ExamPlan.id)
    if filters.month_from:
        query = query.where(ExamPlan.closes_at > localday.month_bounds(filters.month_from)[0])
    if filters.month_to:
        query = query.where(ExamPlan.opens_at < localday.month_bounds(filters.month_to)[1])
    plan_ids = list(session.scalars(query))
    # Year-long plans all overlap any months: testing every row against every plan would only cost time.
    return None if len(plan_ids) == session.scalar(select(func.count(ExamPlan.id))) else plan_ids


def scoped(session: DbSession, user: User, stmt: Select, place: Place, filters: Filters, plan=REQ.plan_id) -> Select:
    """Limit a statement on exam_requirement to the user's scope, the place and the filters."""
    stmt = enterprise_filter(user, stmt, REQ.enterprise_id, REQ.county_id).where(*place.where())
    plan_ids = plans_in(session, filters)
    return stmt if plan_ids is None else stmt.where(plan.in_(plan_ids))


DIMENSIONS = {
    "county": REQ.county_id,
    "township": REQ.township_id,
    "industry": REQ.industry_id,
    "enterprise": REQ.enterprise_id,
    "plan": REQ.plan_id,
}


def counts_by(session: DbSession, user: User, place: Place, filters: Filters, dimension: str) -> dict:
    """Return {key: Rates} for one dimension with a single GROUP BY on exam_requirement."""
    column: SQLColumnExpression[int | None] = DIMENSIONS[dimension]
    if filters != Filters():
        # "+ 0" keeps SQLite from walking the dimension's index over every row to honour the plan filter.
        column = (column + 0).label(dimension)
    stmt = select(column, REQ.status, func.count()).group_by(column, REQ.status)
    groups: dict = defaultdict(Rates)
    for key, status, count in session.execute(scoped(session, user, stmt, place, filters)):
        groups[key].add(status, count)
    return groups


@dataclass
class Row:
    key: int | None
    label: str
    rates: Rates
    code: str = ""


def _members(session: DbSession, place: Place, dimension: str) -> list[tuple[int, str, str | datetime]]:
    """Return (id, name, code) of every member of a dimension inside the place, zero rows included."""
    # A plan's code is when it opens; breakdown shows its month.
    query: Select[int, str, Any]
    if dimension == "county":
        query = select(County.id, County.name, County.code).order_by(County.code)
        if place.county:
            query = query.where(County.id == place.county.id)
    elif dimension == "township":
        query = select(Township.id, Township.name, Township.code).order_by(Township.code)
        query = query.where(Township.county_id == place.county.id) if place.county else query
    elif dimension == "industry":
        query = select(Industry.id, Industry.name, Industry.code).order_by(Industry.id)
    elif dimension == "enterprise":
        query = select(Enterprise.id, Enterprise.name, Enterprise.credit_code).where(Enterprise.active)
        query = query.where(
            *[
                c
                for c in (
                    Enterprise.id == place.enterprise.id if place.enterprise else None,
                    Enterprise.township_id == place.township.id if place.township else None,
                    Enterprise.county_id == place.county.id if place.county else None,
                )
                if c is not None
            ]
        )
        query = query.order_by(Enterprise.name)
    else:
        query = select(ExamPlan.id, ExamPlan.name, ExamPlan.opens_at).order_by(ExamPlan.opens_at)
    return [(key, name, code) for key, name, code in session.execute(query)]


def breakdown(session: DbSession, user: User, place: Place, filters: Filters, dimension: str) -> list[Row]:
    """Return one row per member of the dimension in the place; members with no requirement get None rates."""
    groups = counts_by(session, user, place, filters, dimension)
    rows = [
        Row(key, name, groups.pop(key, Rates()), localday.local_month(code) if isinstance(code, datetime) else code)
        for key, name, code in _members(session, place, dimension)
    ]
    if dimension == "plan":
        rows = [row for row in rows if row.rates.required]
    rows.extend(Row(key, "未划分" if key is None else f"#{key}", rates) for key, rates in groups.items())
    return rows


def total(rows: list[Row]) -> Rates:
    return sum((row.rates for row in rows), Rates())


@dataclass
class MonthRow:
    month: str
    rates: Rates
    cumulative_participation: float | None = None


def _window(filters: Filters, first: str | None, last: str | None) -> list[str]:
    first, last = filters.month_from or first, filters.month_to or last
    return months_between(first, last) if first and last else []


def _first_sat_window(session: DbSession, user: User, place: Place, filters: Filters) -> list[str]:
    """Return the months to show: the filter's range, completed by the first and last sittings in scope."""
    if filters.month_from and filters.month_to:
        return months_between(filters.month_from, filters.month_to)
    # Two statements: SQLite reads a lone min() or max() from the end of the index, but not both at once.
    low, high = (
        session.scalar(scoped(session, user, select(edge(REQ.first_sat_at)), place, filters, plan=REQ.plan_id + 0))
        for edge in (func.min, func.max)
    )
    return _window(filters, low and localday.local_month(low), high and localday.local_month(high))


def _buckets_by_ranges(session, user, place, filters, edges) -> dict:
    """Count each month with its own range scan of a first_sat_at index (no function of, or sort by, every row)."""
    sat = func.count().filter(REQ.status.in_(SAT))
    passed = func.count().filter(REQ.status == RequirementStatus.PASSED)

    def part(bucket: int, *conditions):
        # "+ 0": the plan is tested inside the covering index; SQLite would otherwise look rows up by plan.
        return scoped(
            session, user, select(literal(bucket), sat, passed).where(*conditions), place, filters, plan=REQ.plan_id + 0
        )

    parts = [part(-1, REQ.first_sat_at < edges[0])] + [
        part(i, REQ.first_sat_at >= lo, REQ.first_sat_at < hi)
        for i, (lo, hi) in enumerate(zip(edges, edges[1:], strict=False))
    ]
    return {bucket: Rates(n_sat, n_sat, n_passed) for bucket, n_sat, n_passed in session.execute(union_all(*parts))}


def _month_expr(session: DbSession):
    """Return the SQL for the local month ("YYYY-MM") of first_sat_at on this database."""
    if session.get_bind().dialect.name == "postgresql":
        return func.to_char(func.timezone(localday.zone().key, REQ.first_sat_at), "YYYY-MM")
    # SQLite knows offsets, not zones: the zone's offset now (constant for the default Asia/Shanghai).
    return func.strftime("%Y-%m", REQ.first_sat_at, f"{localday.utc_offset().total_seconds() / 60:+.0f} minutes")


def _groups_by_month(session, user, place, filters) -> tuple[dict, int]:
    """Count each local month with one GROUP BY over the place's rows; also return every requirement counted."""
    month = _month_expr(session)
    groups: dict = defaultdict(Rates)
    stmt = select(month, REQ.status, func.count()).group_by(month, REQ.status)
    for key, status, count in session.execute(scoped(session, user, stmt, place, filters)):
        groups[key].add(status, count)
    required = sum(r.required for r in groups.values())
    return {k: Rates(r.sat, r.sat, r.passed) for k, r in groups.items() if k is not None}, required


# Places with too many rows to compute and sort a month for each: a county holds a fifth of the city.
RANGE_LEVELS = ("city", "county")


def monthly_first_sat(
    session: DbSession, user: User, place: Place, filters: Filters, required: int | None = None
) -> list[MonthRow]:
    """Return per local month of first sitting who sat, who passed, and participation reached by its end.

    A month's rates count the requirements first sat in it; ``required`` (the place's total, when the
    caller already has it) is the denominator of the cumulative participation. The city and a county read
    one range per month of a covering first_sat_at index (migration 0004: it carries the status and plan);
    a township or an enterprise groups its own rows by the local month, as they are few.
    """
    if place.level in RANGE_LEVELS:
        months = _first_sat_window(session, user, place, filters)
        if not months:
            return []
        edges = [localday.month_bounds(m)[0] for m in months] + [localday.month_bounds(months[-1])[1]]
        buckets = _buckets_by_ranges(session, user, place, filters, edges)
        by_month = {m: buckets[i] for i, m in enumerate(months) if i in buckets}
        before = buckets.get(-1, Rates()).sat
        if required is None:
            required = session.scalar(scoped(session, user, select(func.count()).select_from(REQ), place, filters))
    else:
        by_month, required = _groups_by_month(session, user, place, filters)
        months = _window(filters, min(by_month, default=None), max(by_month, default=None))
        before = sum(r.sat for m, r in by_month.items() if months and m < months[0])
    rows, cumulative = [], before
    for month in months:
        rates = by_month.get(month, Rates())
        cumulative += rates.sat
        rows.append(MonthRow(month, rates, cumulative / required if required else None))
    return rows


def months_of_plans(plan_rows: list[Row], filters: Filters) -> list[MonthRow]:
    """Return both rates per local month in which plans opened, from the rows of ``breakdown(..., "plan")``."""
    groups: dict = defaultdict(Rates)
    for row in plan_rows:
        groups[row.code] += row.rates
    return [
        MonthRow(m, groups.get(m, Rates()))
        for m in _window(filters, min(groups, default=None), max(groups, default=None))
    ]


@dataclass
class Page:
    items: Sequence[Any]
    page: int
    per_page: int
    total: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))


def best_score():
    """Return the correlated subquery of a requirement's best submitted score."""
    return (
        select(func.max(Sitting.score))
        .where(Sitting.requirement_id == REQ.id, Sitting.status == SittingStatus.SUBMITTED)
        .correlate(REQ)
        .scalar_subquery()
    )


def results_query(
    session: DbSession, user: User, place: Place, filters: Filters, status: RequirementStatus | None = None
) -> Select:
    """Return the worker-level rows (one per requirement) of the place, in enterprise order."""
    stmt = (
        select(
            REQ.id,
            REQ.enterprise_id,
            REQ.county_id,
            REQ.township_id,
            REQ.industry_id,
            REQ.plan_id,
            REQ.status,
            REQ.attempts,
            REQ.first_sat_at,
            REQ.passed_at,
            Worker.name,
            Worker.citizen_id,
            Worker.job_category,
            best_score().label("best_score"),
            Certificate.number.label("certificate_number"),
            Certificate.issued_on,
            Certificate.valid_until,
        )
        .join(Worker, Worker.id == REQ.worker_id)
        # A requirement is passed once, so at most one certificate fulfils it.
        .outerjoin(Certificate, Certificate.requirement_id == REQ.id)
    )
    if status is not None:
        stmt = stmt.where(REQ.status == status)
    return scoped(session, user, stmt, place, filters).order_by(REQ.enterprise_id, REQ.status, REQ.id)


def worker_page(
    session: DbSession,
    user: User,
    place: Place,
    filters: Filters,
    page: int = 1,
    per_page: int = 50,
    status: RequirementStatus | None = None,
    count: int | None = None,
) -> Page:
    """Return one page of worker-level rows; ``count`` skips the count query when the caller knows it."""
    page = max(1, page)
    if count is None:
        counted = select(func.count()).select_from(REQ)
        counted = counted.where(REQ.status == status) if status is not None else counted
        count = session.scalar(scoped(session, user, counted, place, filters))
    query = results_query(session, user, place, filters, status).limit(per_page).offset((page - 1) * per_page)
    return Page(session.execute(query).all(), page, per_page, count)


@dataclass
class Names:
    """Names of the small reference tables, read once per request to label worker-level rows."""

    counties: dict = field(default_factory=dict)
    townships: dict = field(default_factory=dict)
    industries: dict = field(default_factory=dict)
    plans: dict = field(default_factory=dict)
    enterprises: dict = field(default_factory=dict)

    @classmethod
    def load(cls, session: DbSession, place: Place | None = None) -> Names:
        """Read the names; enterprises only inside the place."""
        enterprises = select(Enterprise.id, Enterprise.name, Enterprise.credit_code)
        enterprises = enterprises.where(
            *[
                c
                for c in (
                    Enterprise.id == place.enterprise.id if place and place.enterprise else None,
                    Enterprise.county_id == place.county.id if place and place.county else None,
                )
                if c is not None
            ]
        )
        return cls(
            dict(session.execute(select(County.id, County.name)).all()),
            dict(session.execute(select(Township.id, Township.name)).all()),
            dict(session.execute(select(Industry.id, Industry.name)).all()),
            dict(session.execute(select(ExamPlan.id, ExamPlan.name)).all()),
            {i: (n, c) for i, n, c in session.execute(enterprises)},
        )


# The monitor's face state of a live sitting: its latest check's decision, suspended, or no check yet.
FACE_STATES = {
    **{decision.value: decision.label for decision in Decision},
    SittingStatus.SUSPENDED.value: SittingStatus.SUSPENDED.label,
    **face_models.UNCHECKED_LABELS,
}


def live_sittings(session: DbSession, user: User, now: datetime) -> list[dict]:
    """Return the sittings in progress in the user's scope with their latest face check and time left."""
    stmt = (
        select(
            Sitting.id,
            Sitting.status,
            Sitting.started_at,
            Sitting.deadline_at,
            Worker.name,
            REQ.enterprise_id,
            REQ.county_id,
        )
        .join(REQ, REQ.id == Sitting.requirement_id)
        .join(Worker, Worker.id == Sitting.worker_id)
        .where(Sitting.status.in_([SittingStatus.IN_PROGRESS, SittingStatus.SUSPENDED]))
        .order_by(REQ.county_id, REQ.enterprise_id, Sitting.started_at)
    )
    rows = session.execute(enterprise_filter(user, stmt, REQ.enterprise_id, REQ.county_id)).all()
    latest: dict[int | None, tuple] = {}
    ids = [row.id for row in rows]
    for start in range(0, len(ids), 500):
        newest = (
            select(func.max(FaceCheck.id).label("id"))
            .where(FaceCheck.sitting_id.in_(ids[start : start + 500]))
            .group_by(FaceCheck.sitting_id)
            .subquery()
        )
        latest.update(
            (sid, (decision, at, distance))
            for sid, decision, at, distance in session.execute(
                select(FaceCheck.sitting_id, FaceCheck.decision, FaceCheck.created_at, FaceCheck.distance).join(
                    newest, newest.c.id == FaceCheck.id
                )
            )
        )
    enterprises = dict(
        session.execute(
            select(Enterprise.id, Enterprise.name).where(Enterprise.id.in_({row.enterprise_id for row in rows}))
        ).all()
    )
    counties = dict(session.execute(select(County.id, County.name)).all())
    out = []
    for row in rows:
        decision, checked_at, distance = latest.get(row.id, (None, None, None))
        state = (
            "suspended" if row.status is SittingStatus.SUSPENDED else decision.value if decision is not None else "none"
        )
        out.append(
            {
                "sitting_id": row.id,
                "worker": row.name,
                "enterprise_id": row.enterprise_id,
                "enterprise": enterprises.get(row.enterprise_id, ""),
                "county_id": row.county_id,
                "county": counties.get(row.county_id, ""),
                "status": row.status.value,
                "face_state": state,
                "face_state_label": FACE_STATES[state],
                "checked_at": checked_at.isoformat() if checked_at else None,
                "distance": distance,
                "started_at": row.started_at.isoformat(),
                "deadline_at": row.deadline_at.isoformat(),
                "seconds_left": max(0, int((row.deadline_at - now).total_seconds())),
            }
        )
    return out


def live_summary(sittings: list[dict], key: str = "county") -> list[dict]:
    """Count live sittings per county (or enterprise) and per face state."""
    groups: dict = {}
    for item in sittings:
        group = groups.setdefault(
            item[f"{key}_id"],
            {"id": item[f"{key}_id"], "name": item[key], "total": 0, **{state: 0 for state in FACE_STATES}},
        )
        group["total"] += 1
        group[item["face_state"]] += 1
    return list(groups.values())
