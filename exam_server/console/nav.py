"""The console's navigation: each entry shows only to roles allowed to open it."""

from __future__ import annotations

from flask import current_app, request, url_for
from flask_login import current_user

from exam_server.console.blueprint import bp
from exam_server.models import Role

ALL = frozenset(Role)
ADMINS = frozenset({Role.CITY, Role.COUNTY, Role.ENTERPRISE})
CITY_COUNTY = frozenset({Role.CITY, Role.COUNTY})

# endpoint, label, roles that may open it
NAV = (
    ("console.dashboard", "工作台", ALL),
    ("console.statistics", "统计分析", ADMINS),
    ("console.monitor", "实时监考", ADMINS),
    ("console.review_queue", "人脸审核", frozenset({Role.CITY, Role.COUNTY, Role.REVIEWER})),
    ("console.workers", "人员管理", ADMINS),
    ("console.certificates_page", "证书管理", ADMINS),
    ("console.exam_plans", "考试计划", CITY_COUNTY),
    ("console.questions", "题库管理", frozenset({Role.CITY})),
    ("console.kiosks", "考试终端", CITY_COUNTY),
    ("console.users", "账号管理", CITY_COUNTY),
    ("console.audit_log", "操作日志", CITY_COUNTY),
    ("console.inbox", "消息", ALL),
)


@bp.app_context_processor
def inject_nav() -> dict:
    """Offer templates the nav entries the current user may open and that exist."""
    if not current_user.is_authenticated:
        return {"nav_entries": []}
    entries = [
        {"url": url_for(endpoint), "label": label, "active": request.endpoint == endpoint}
        for endpoint, label, roles in NAV
        if current_user.role in roles and endpoint in current_app.view_functions
    ]
    return {"nav_entries": entries}


# Every console endpoint and the roles that may open it. The NAV pages come first; the pages
# reached from them follow. tests/console/test_access.py checks every ``console.*`` endpoint of
# the url_map against this table, so a new console route must be listed here.
ACCESS: dict[str, frozenset] = {endpoint: roles for endpoint, _, roles in NAV} | {
    **dict.fromkeys(
        (
            "console.worker_detail",
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
        ),
        ADMINS,
    ),
    **dict.fromkeys(
        (
            "console.certificates_export",
            "console.certificate_pdf",
            "console.enterprise_certificates_pdf",
            "console.worker_sms_opt_out",
        ),
        ADMINS,
    ),
    **dict.fromkeys(("console.inbox_read", "console.contact_settings"), ALL),
    **dict.fromkeys(("console.outbox_page",), CITY_COUNTY),
    **dict.fromkeys(
        ("console.statistics_pending", "console.monitor_live", "console.exports", "console.export_file"), ADMINS
    ),
    **dict.fromkeys(
        ("console.review_case", "console.review_decide", "console.review_image"),
        frozenset({Role.CITY, Role.COUNTY, Role.REVIEWER}),
    ),
    **dict.fromkeys(("console.exam_plan_new", "console.exam_plan_edit"), CITY_COUNTY),
    **dict.fromkeys(("console.kiosk_disable", "console.kiosk_enable"), CITY_COUNTY),
    **dict.fromkeys(
        ("console.user_new", "console.user_deactivate", "console.user_activate", "console.user_reset_password"),
        CITY_COUNTY,
    ),
    **dict.fromkeys(
        (
            "console.question_edit",
            "console.question_retire",
            "console.questions_import",
            "console.questions_import_preview",
            "console.questions_import_confirm",
            "console.questions_import_report",
            "console.questions_export",
            "console.questions_template",
            "console.question_quality",
        ),
        frozenset({Role.CITY}),
    ),
}
