"""Whether practice pays off: pass rates of sittings after practice or without, and the weakest categories.

A sitting counts as "practised" when its worker had given at least PRACTISED_MIN_ANSWERS practice
answers before the sitting started. Sittings are the submitted ones of the requirements the statistics
page counts (the user's scope, the place, the plan filter), started within the selected months when
months are chosen. Categories are ranked by the share of right practice answers, given in the selected
months by workers of the place (and of the chosen plan), once they hold WEAK_MIN_ANSWERS answers.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy import case, func, select, true

from exam_server import localday
from exam_server.database import DbSession
from exam_server.models import N_, Enterprise, ExamRequirement, PracticeAnswer, Sitting, SittingStatus, User, Worker
from exam_server.services.policy import enterprise_filter
from exam_server.services.reporting.statistics import Filters, Place, scoped

PRACTISED_MIN_ANSWERS = 10  # practice answers before a sitting for it to count as practised
WEAK_MIN_ANSWERS = 20  # practice answers in a category before its share of right answers is listed
WEAK_LIMIT = 3  # weakest categories shown per enterprise (the scope's list is longer)
SCOPE_LIMIT = 10

# msgids of the console's catalogue, their thresholds the value of n (the page: _(DEFINITION, n=...))
DEFINITION = N_(
    "“练习过”指该场考试开始前本人已有至少 %(n)s 次练习答题；"
    "按已交卷的考试场次计算（补考各算一场），合格率 = 合格场次 / 场次。"
)
WEAK_DEFINITION = N_(
    "按分类统计练习答题的正确率，答题数不少于 %(n)s 次的分类才列出，正确率最低的在前。"
    "选了月份时只计这些月份里的练习，选了考试计划时只计该计划应考人员的练习。"
)


def definition(tr: Callable[[str], str]) -> str:
    """Return what "practised" means, in the language ``tr`` translates to."""
    return tr(DEFINITION) % {"n": PRACTISED_MIN_ANSWERS}


@dataclass
class Sittings:
    """Submitted sittings of one group and how many of them passed; the rate is None for an empty group."""

    sittings: int = 0
    passed: int = 0

    @property
    def pass_rate(self) -> float | None:
        return self.passed / self.sittings if self.sittings else None


@dataclass
class PassByPractice:
    practised: Sittings = field(default_factory=Sittings)
    not_practised: Sittings = field(default_factory=Sittings)

    @property
    def total(self) -> Sittings:
        return Sittings(
            self.practised.sittings + self.not_practised.sittings, self.practised.passed + self.not_practised.passed
        )


def _month_range(filters: Filters, column) -> list:
    """Return conditions keeping ``column`` inside the selected months (none when no month is chosen)."""
    conditions = []
    if filters.month_from:
        conditions.append(column >= localday.month_bounds(filters.month_from)[0])
    if filters.month_to:
        conditions.append(column < localday.month_bounds(filters.month_to)[1])
    return conditions


def pass_by_practice(session: DbSession, user: User, place: Place, filters: Filters) -> PassByPractice:
    """Count submitted sittings and passed ones, split by whether the worker had practised before, in one query."""
    # Practised when the worker's N-th answer came before the sitting started: N entries of an index
    # on (worker_id, answered_at) per sitting, instead of counting every answer the worker ever gave.
    nth_answer = (
        select(PracticeAnswer.answered_at)
        .where(PracticeAnswer.worker_id == Sitting.worker_id)
        .order_by(PracticeAnswer.answered_at)
        .offset(PRACTISED_MIN_ANSWERS - 1)
        .limit(1)
        .correlate(Sitting)
        .scalar_subquery()
    )
    practised = case((nth_answer < Sitting.started_at, 1), else_=0)
    inner = (
        select(practised.label("practised"), Sitting.passed)
        .join(ExamRequirement, ExamRequirement.id == Sitting.requirement_id)
        .where(Sitting.status == SittingStatus.SUBMITTED, *_month_range(filters, Sitting.started_at))
    )
    # Grouped in an outer query, so both databases group a plain column rather than a correlated count.
    rows = scoped(session, user, inner, place, filters).subquery()
    result = PassByPractice()
    for key, count, passed in session.execute(
        select(rows.c.practised, func.count(), func.count().filter(rows.c.passed.is_(true()))).group_by(
            rows.c.practised
        )
    ):
        group = result.practised if key else result.not_practised
        group.sittings, group.passed = count, passed
    return result


@dataclass(frozen=True)
class Category:
    """One category's practice answers and right ones."""

    name: str
    answers: int
    right: int

    @property
    def right_share(self) -> float:
        return self.right / self.answers


@dataclass
class EnterpriseWeakness:
    enterprise_id: int
    name: str
    credit_code: str
    categories: list[Category]


@dataclass
class Weakness:
    """The weakest categories of the whole place and of each of its enterprises (those with a listed one)."""

    scope: list[Category]
    enterprises: list[EnterpriseWeakness]


def _weakest(counts: dict[str, list[int]], limit: int | None) -> list[Category]:
    """Return the categories with enough answers, lowest share of right answers first."""
    listed = [Category(name, n, right) for name, (n, right) in counts.items() if n >= WEAK_MIN_ANSWERS]
    listed.sort(key=lambda c: (c.right_share, -c.answers, c.name))
    return listed if limit is None else listed[:limit]


def weak_categories(
    session: DbSession, user: User, place: Place, filters: Filters, limit: int | None = WEAK_LIMIT
) -> Weakness:
    """Return the weakest practice categories of the place and per enterprise, from one GROUP BY."""
    stmt = (
        select(
            Enterprise.id,
            Enterprise.name,
            Enterprise.credit_code,
            PracticeAnswer.category,
            func.count(PracticeAnswer.id),
            func.count(PracticeAnswer.id).filter(PracticeAnswer.correct.is_(true())),
        )
        .join(Worker, Worker.id == PracticeAnswer.worker_id)
        .join(Enterprise, Enterprise.id == Worker.enterprise_id)
        .where(*_month_range(filters, PracticeAnswer.answered_at))
        .group_by(Enterprise.id, Enterprise.name, Enterprise.credit_code, PracticeAnswer.category)
    )
    stmt = enterprise_filter(user, stmt, Enterprise.id, Enterprise.county_id)
    if place.enterprise:
        stmt = stmt.where(Enterprise.id == place.enterprise.id)
    elif place.township:
        stmt = stmt.where(Enterprise.township_id == place.township.id)
    elif place.county:
        stmt = stmt.where(Enterprise.county_id == place.county.id)
    if filters.plan_id is not None:
        required = select(ExamRequirement.id).where(
            ExamRequirement.worker_id == Worker.id, ExamRequirement.plan_id == filters.plan_id
        )
        stmt = stmt.where(required.exists())
    scope: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    per_enterprise: dict[tuple[int, str, str], dict[str, list[int]]] = defaultdict(dict)
    for enterprise_id, name, credit_code, category, answers, right in session.execute(stmt):
        per_enterprise[(enterprise_id, name, credit_code)][category] = [answers, right]
        scope[category][0] += answers
        scope[category][1] += right
    enterprises = [
        EnterpriseWeakness(key[0], key[1], key[2], weakest)
        for key, counts in per_enterprise.items()
        if (weakest := _weakest(counts, limit))
    ]
    # The enterprises whose weakest category is weakest come first.
    enterprises.sort(key=lambda e: (e.categories[0].right_share, e.name))
    return Weakness(_weakest(scope, None if limit is None else SCOPE_LIMIT), enterprises)
