"""The console's navigation: each entry shows only to roles allowed to open it."""

from __future__ import annotations

from flask import current_app, request, url_for
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from exam_server.console.blueprint import bp
from exam_server.services import policy

# endpoint and label, in menu order; who sees an entry is services/policy.py's ACCESS
NAV = (
    ("console.dashboard", _l("工作台")),
    ("console.statistics", _l("统计分析")),
    ("console.monitor", _l("实时监考")),
    ("console.review_queue", _l("人脸审核")),
    ("console.workers", _l("人员管理")),
    ("console.certificates_page", _l("证书管理")),
    ("console.exam_plans", _l("考试计划")),
    ("console.questions", _l("题库管理")),
    ("console.kiosks", _l("考试终端")),
    ("console.users", _l("账号管理")),
    ("console.audit_log", _l("操作日志")),
    ("console.inbox", _l("消息")),
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
