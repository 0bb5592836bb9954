"""Console page: the audit log, filterable by action, user and date."""

from __future__ import annotations

from flask import render_template, request
from flask_login import current_user
from sqlalchemy import select

from exam_server import localday
from exam_server.console.blueprint import bp
from exam_server.console.forms import AuditSearchForm, options
from exam_server.console.helpers import page_number
from exam_server.extensions import db
from exam_server.models import AuditLog, User
from exam_server.services.admin import user_admin

PER_PAGE = 50
ACTION_LABELS = {
    "login": "登录",
    "login_failed": "登录失败",
    "logout": "退出",
    "password_changed": "修改密码",
    "user_created": "创建账号",
    "user_activated": "启用账号",
    "user_deactivated": "停用账号",
    "user_password_reset": "重置密码",
    "workers_imported": "导入人员",
    "face_enrolled": "登记人脸照片",
    "photo_batch_started": "批量登记照片",
    "exam_plan_created": "新建考试计划",
    "exam_plan_updated": "修改考试计划",
    "kiosk_registered": "注册终端",
    "kiosk_disabled": "停用终端",
    "kiosk_enabled": "启用终端",
    "kiosk_token_reissued": "重新签发终端令牌",
    "question_updated": "修改题目",
    "question_retired": "停用题目",
    "questions_imported": "导入题目",
    "review_confirmed": "确认人脸告警",
    "review_dismissed": "驳回人脸告警",
    "sitting_started": "开始考试",
    "sitting_submitted": "交卷",
    "sitting_auto_submitted": "超时自动交卷",
    "sitting_suspended": "考试暂停",
    "sitting_resumed": "考试继续",
    "sitting_resumed_by_review": "审核后继续考试",
    "sitting_voided": "考试作废",
    "certificate_issued": "发放证书",
    "checkin_refused": "入场核验拒绝",
    "evidence_purged": "清理人脸证据",
}


@bp.route("/audit")
def audit_log():
    form = AuditSearchForm(request.args)
    form.action.choices = options(
        [("", "全部操作")]
        + [
            (a, ACTION_LABELS.get(a, a))
            for a in db.session.scalars(select(AuditLog.action).distinct().order_by(AuditLog.action))
        ]
    )
    stmt = user_admin.audit_entries(current_user).order_by(AuditLog.at.desc(), AuditLog.id.desc())
    if form.validate():
        if form.action.data:
            stmt = stmt.where(AuditLog.action == form.action.data)
        if form.username.data:
            stmt = stmt.where(User.username == form.username.data.strip())
        if form.date_from.data:
            stmt = stmt.where(AuditLog.at >= localday.day_start(form.date_from.data))
        if form.date_to.data:
            stmt = stmt.where(AuditLog.at < localday.day_bounds(form.date_to.data)[1])
    page = page_number()
    rows = db.session.execute(stmt.limit(PER_PAGE + 1).offset((page - 1) * PER_PAGE)).all()
    return render_template(
        "console/audit_log.html",
        form=form,
        rows=rows[:PER_PAGE],
        page=page,
        has_next=len(rows) > PER_PAGE,
        labels=ACTION_LABELS,
    )
