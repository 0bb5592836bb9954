"""Who may open which console page and see which rows: the one place for roles and scopes."""

# Every rule of the form "role X may see or do Y to object Z" lives here; views, the CLI and the
# navigation ask this module and never test ``user.role`` themselves. A user's scope is:
#   city        everything
#   county      the enterprises, workers, kiosks, plans and accounts of their county
#   enterprise  their enterprise and its workers
#   reviewer    the face data (review cases, photos, evidence) of the workers of their county,
#               or of every county when county_id is empty (only a city administrator makes those)
#   worker      a worker signed in with citizen ID and PIN (exam_server/worker): their own practice,
#               sittings and certificates, nothing else; never a console user, never a console page

from __future__ import annotations

import enum
from typing import Protocol

from sqlalchemy import ColumnElement, Select, exists, false, or_, select, true

from exam_server.models import N_, Enterprise, ExamPlan, Job, Kiosk, ReviewCase, Role, User, Worker


class WorkerRole(str, enum.Enum):
    """The role of a worker's own session: a role of its own, outside the console's ``Role``."""

    WORKER = "worker"


class Principal(Protocol):
    """Whoever a request runs for: a console ``User`` or a signed-in worker (exam_server/worker/session.py)."""

    @property
    def is_authenticated(self) -> bool: ...

    @property
    def role(self) -> Role | WorkerRole: ...


ALL = frozenset(Role)
WORKER = frozenset({WorkerRole.WORKER})
# The worker's sign-in pages, the worker endpoints open to anyone: citizen ID and PIN, and a one-time code.
WORKER_SIGN_IN = "worker.login"
WORKER_SIGN_IN_CODE = "worker.sign_in_code"
# A kiosk's practice visit: entered and left before (or without) a sign-in, so open like the sign-in pages.
WORKER_KIOSK = frozenset({"worker.kiosk", "worker.kiosk_end"})
WORKER_OPEN = frozenset({WORKER_SIGN_IN, WORKER_SIGN_IN_CODE}) | WORKER_KIOSK
ENTERPRISE = frozenset({Role.ENTERPRISE})
ADMINS = frozenset({Role.CITY, Role.COUNTY, Role.ENTERPRISE})
CITY_COUNTY = frozenset({Role.CITY, Role.COUNTY})
REVIEWERS = frozenset({Role.CITY, Role.COUNTY, Role.REVIEWER})
CITY = frozenset({Role.CITY})

# Every console endpoint and the roles that may open it; an endpoint missing here is refused to
# everyone (the console's guard denies by default). tests/console/test_access.py checks every
# ``console.*`` endpoint of the url_map against this table.
ACCESS: dict[str, frozenset[Role] | frozenset[WorkerRole]] = {
    "console.dashboard": ALL,
    "console.inbox": ALL,
    "console.inbox_read": ALL,
    "console.contact_settings": ALL,
    **dict.fromkeys(
        (
            "console.statistics",
            "console.statistics_pending",
            "console.monitor",
            "console.monitor_live",
            "console.exports",
            "console.export_file",
            "console.workers",
            "console.worker_detail",
            "console.workers_practice",
            "console.worker_photo",
            "console.worker_enrol",
            "console.workers_import",
            "console.workers_import_preview",
            "console.workers_import_confirm",
            "console.workers_import_report",
            "console.workers_import_template",
            "console.workers_photos",
            "console.workers_photos_job",
            "console.workers_photos_status",
            "console.workers_photos_cancel",
            "console.workers_photos_refused",
            "console.job_page",
            "console.job_status",
            "console.job_file",
            "console.job_cancel",
            "console.certificates_page",
            "console.certificates_export",
            "console.certificate_pdf",
            "console.enterprise_certificates_pdf",
            "console.worker_sms_opt_out",
        ),
        ADMINS,
    ),
    # One-time sign-in codes let the holder into a worker's own pages: only the worker's own enterprise
    # manager prints them (and only for that enterprise's workers, services/practice/sign_in_codes.py).
    **dict.fromkeys(("console.worker_sign_in_codes",), ENTERPRISE),
    **dict.fromkeys(
        ("console.review_queue", "console.review_case", "console.review_decide", "console.review_image"), REVIEWERS
    ),
    **dict.fromkeys(
        (
            "console.exam_plans",
            "console.exam_plan_new",
            "console.exam_plan_edit",
            "console.enterprise_suggest",
            "console.kiosks",
            "console.kiosk_disable",
            "console.kiosk_enable",
            "console.users",
            "console.user_new",
            "console.user_edit",
            "console.user_deactivate",
            "console.user_activate",
            "console.user_reset_password",
            "console.audit_log",
            "console.outbox_page",
        ),
        CITY_COUNTY,
    ),
    **dict.fromkeys(
        (
            "console.questions",
            "console.question_new",
            "console.question_edit",
            "console.question_retire",
            "console.question_image",
            "console.question_image_upload",
            "console.question_image_remove",
            "console.questions_import",
            "console.questions_import_preview",
            "console.questions_import_confirm",
            "console.questions_import_report",
            "console.questions_export",
            "console.questions_template",
            "console.question_quality",
            "console.paper_rules_list",
            "console.paper_rule_edit",
        ),
        CITY,
    ),
    # A worker's own pages (exam_server/worker): workers only; console users have no worker session.
    **dict.fromkeys(
        (
            "worker.home",
            "worker.logout",
            "worker.practice",
            "worker.practice_question",
            "worker.practice_answer",
            "worker.book",
            "worker.book_question",
            "worker.exams",
            "worker.certificate_pdf",
            "worker.mock_exam",
            "worker.mock_start",
            "worker.mock_paper",
            "worker.mock_submit",
        ),
        WORKER,
    ),
}


def may_open(user: Principal, endpoint: str | None) -> bool:
    """Tell whether the user's role may open this endpoint (unknown endpoints: nobody)."""
    return user.is_authenticated and user.role in ACCESS.get(endpoint or "", frozenset())


# -- counties and enterprises -------------------------------------------------------------


def can_see_city(user: User) -> bool:
    """Tell whether the user's scope is the whole city (the city-wide totals, city-level kiosks and plans)."""
    return user.role is Role.CITY


def can_see_county(user: User, county_id: int | None) -> bool:
    """Tell whether the user's scope covers a whole county (enterprises and reviewers: never)."""
    if user.role is Role.CITY:
        return True
    return user.role is Role.COUNTY and county_id is not None and county_id == user.county_id


def home_place(user: User) -> tuple[int | None, int | None]:
    """Return (county id, enterprise id) of the user's own scope; (None, None) is the city or nothing."""
    if user.role is Role.COUNTY:
        return user.county_id, None
    return (None, user.enterprise_id) if user.role is Role.ENTERPRISE else (None, None)


def visible_counties(user: User, counties):
    """Keep the (id, name) pairs of counties the user may pick in a form."""
    return [c for c in counties if can_see_county(user, c[0])]


def assigned_county(user: User, requested: int | None) -> int | None:
    """Return the county a new kiosk, plan or account gets: a county administrator's own, else the choice."""
    return user.county_id if user.role is Role.COUNTY else requested


def enterprise_filter(user: User, stmt: Select, enterprise_id_column, county_id_column=None) -> Select:
    """Restrict ``stmt`` to rows of enterprises in the user's scope; reviewers get none.

    ``county_id_column`` may be omitted when the statement already joins Enterprise.
    """
    if user.role is Role.CITY:
        return stmt
    if user.role is Role.COUNTY:
        column = county_id_column if county_id_column is not None else Enterprise.county_id
        return stmt.where(column == user.county_id)
    if user.role is Role.ENTERPRISE:
        return stmt.where(enterprise_id_column == user.enterprise_id)
    return stmt.where(false())


def can_see_enterprise(user: User, enterprise: Enterprise) -> bool:
    """Tell whether the user's scope includes this enterprise and its workers' records."""
    if user.role is Role.CITY:
        return True
    if user.role is Role.COUNTY:
        return enterprise.county_id == user.county_id
    if user.role is Role.ENTERPRISE:
        return enterprise.id == user.enterprise_id
    return False


# -- face data: review cases, enrolment photos, evidence frames ------------------------------


def face_county(user: User) -> int | None:
    """Return the county whose faces the user is limited to (None: every county or none at all)."""
    return user.county_id if user.role in (Role.COUNTY, Role.REVIEWER) else None


def worker_faces(user: User, worker_id_column) -> ColumnElement[bool]:
    """Return the condition that the worker's faces are in the user's scope."""
    if user.role is Role.CITY or (user.role is Role.REVIEWER and user.county_id is None):
        return true()
    if user.role in (Role.COUNTY, Role.REVIEWER):
        return exists().where(
            Worker.id == worker_id_column,
            Worker.enterprise_id == Enterprise.id,
            Enterprise.county_id == user.county_id,
        )
    if user.role is Role.ENTERPRISE:
        return exists().where(Worker.id == worker_id_column, Worker.enterprise_id == user.enterprise_id)
    return false()


def can_see_worker_faces(user: User, worker: Worker | None) -> bool:
    """Tell whether the user may see this worker's photos and evidence."""
    if worker is None:
        return False
    if user.role is Role.CITY or (user.role is Role.REVIEWER and user.county_id is None):
        return True
    if user.role in (Role.COUNTY, Role.REVIEWER):
        return worker.enterprise.county_id == user.county_id
    return user.role is Role.ENTERPRISE and worker.enterprise_id == user.enterprise_id


def review_cases(user: User) -> Select:
    """Return the review cases the user may see and decide: those about workers in their face scope."""
    if user.role not in REVIEWERS:
        return select(ReviewCase).where(false())
    return select(ReviewCase).where(worker_faces(user, ReviewCase.worker_id))


def may_decide(user: User, worker: Worker | None) -> bool:
    """Tell whether the user may decide face alerts about this worker."""
    return user.role in REVIEWERS and can_see_worker_faces(user, worker)


def may_see_face_image(user: User, worker_id: int) -> ColumnElement[bool]:
    """Return the condition that a worker's face image may be shown: in scope and part of a visible case."""
    # The colleague of a duplicate-enrolment case may work in another county: their photo stays hidden.
    involved = or_(ReviewCase.worker_id == worker_id, ReviewCase.other_worker_id == worker_id)
    case_seen = exists().where(involved, worker_faces(user, ReviewCase.worker_id))
    return case_seen & worker_faces(user, worker_id) if user.role in REVIEWERS else false()


# -- kiosks, plans, jobs ----------------------------------------------------------------------


def kiosk_filter(user: User, stmt: Select) -> Select:
    """Restrict a Kiosk query to the user's kiosks: all for the city, its county's for a county."""
    if user.role is Role.CITY:
        return stmt
    return stmt.where(Kiosk.county_id == user.county_id) if user.role is Role.COUNTY else stmt.where(false())


def plan_filter(user: User, stmt: Select) -> Select:
    """Restrict an ExamPlan query to plans the user may see: all for the city, own and city-wide for a county."""
    if user.role is Role.CITY:
        return stmt
    if user.role is Role.COUNTY:
        return stmt.where((ExamPlan.county_id == user.county_id) | ExamPlan.county_id.is_(None))
    return stmt.where(false())


def may_edit_plan(user: User, plan: ExamPlan) -> bool:
    """Tell whether the user may edit the plan: the city any, a county only its own."""
    return user.role is Role.CITY or (user.role is Role.COUNTY and plan.county_id == user.county_id)


def may_see_job(user: User, job: Job) -> bool:
    """Tell whether the user may follow a job and fetch its file: only the one who started it."""
    return job.created_by_id == user.id


# -- accounts ---------------------------------------------------------------------------------


def creatable_roles(actor: User) -> tuple[Role, ...]:
    """Return the roles this administrator may create: all for the city, enterprise and reviewer for a county."""
    if actor.role is Role.CITY:
        return tuple(Role)
    return (Role.ENTERPRISE, Role.REVIEWER) if actor.role is Role.COUNTY else ()


def account_filter(actor: User, stmt: Select) -> Select:
    """Restrict a User query (outer-joined to Enterprise) to the accounts the actor may manage."""
    if actor.role is Role.CITY:
        return stmt
    if actor.role is Role.COUNTY:
        return stmt.where(
            User.role.in_(creatable_roles(actor)),
            or_(Enterprise.county_id == actor.county_id, User.county_id == actor.county_id),
        )
    return stmt.where(false())


def account_scope_error(actor: User, role: Role, county_id: int | None, enterprise: Enterprise | None) -> str | None:
    """Return why the actor may not create this account (an N_ msgid; None: allowed); never wider than the actor's scope."""
    if role not in creatable_roles(actor):
        return N_("您无权创建该角色的账号")
    if role is Role.ENTERPRISE and enterprise is not None and not can_see_enterprise(actor, enterprise):
        return N_("该企业不在您的辖区")
    if role in (Role.COUNTY, Role.REVIEWER) and county_id is not None and not can_see_county(actor, county_id):
        return N_("该区县不在您的辖区")
    if role is Role.REVIEWER and county_id is None and actor.role is not Role.CITY:
        return N_("请选择区县（只有市级管理员可以创建全市审核员）")
    return None
