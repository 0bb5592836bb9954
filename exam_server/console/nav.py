"""The console's navigation: each entry shows only to roles allowed to open it."""

from __future__ import annotations

from flask import current_app, request, url_for
from flask_login import current_user

from exam_server.console.blueprint import bp
from exam_server.services import policy

# endpoint and label, in menu order; who sees an entry is services/policy.py's ACCESS
NAV = (
    ("console.dashboard", "工作台"),
    ("console.statistics", "统计分析"),
    ("console.monitor", "实时监考"),
    ("console.review_queue", "人脸审核"),
    ("console.workers", "人员管理"),
    ("console.certificates_page", "证书管理"),
    ("console.exam_plans", "考试计划"),
    ("console.questions", "题库管理"),
    ("console.kiosks", "考试终端"),
    ("console.users", "账号管理"),
    ("console.audit_log", "操作日志"),
    ("console.inbox", "消息"),
)


@bp.app_context_processor
def inject_nav() -> dict:
    """Offer templates the nav entries the current user may open and that exist, and the policy's checks."""
    if not current_user.is_authenticated:
        return {"nav_entries": []}
    user = current_user._get_current_object()
    entries = [
        {"url": url_for(endpoint), "label": label, "active": request.endpoint == endpoint}
        for endpoint, label in NAV
        if policy.may_open(current_user, endpoint) and endpoint in current_app.view_functions
    ]
    return {
        "nav_entries": entries,
        "may_open": lambda endpoint: policy.may_open(user, endpoint),
        "may_edit_plan": lambda plan: policy.may_edit_plan(user, plan),
    }
