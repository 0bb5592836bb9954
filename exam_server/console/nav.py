"""The console's navigation: each entry shows only to roles allowed to open it."""
from __future__ import annotations

from flask import current_app, request, url_for
from flask_login import current_user

from exam_server.console import bp
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
    ("console.exam_plans", "考试计划", CITY_COUNTY),
    ("console.questions", "题库管理", frozenset({Role.CITY})),
    ("console.kiosks", "考试终端", CITY_COUNTY),
    ("console.users", "账号管理", CITY_COUNTY),
    ("console.audit_log", "操作日志", CITY_COUNTY),
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
