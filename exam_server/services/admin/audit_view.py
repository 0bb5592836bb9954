"""The audit log as people read it: actions, objects and details in Chinese, names instead of ids."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select

from exam_server import citizen_id
from exam_server.database import DbSession
from exam_server.models import (
    JOB_CATEGORY_LABELS,
    ROLE_LABELS,
    AuditLog,
    Certificate,
    CheckIn,
    County,
    Enterprise,
    ExamPlan,
    Industry,
    JobCategory,
    Kiosk,
    Question,
    ReviewCase,
    Role,
    Sitting,
    User,
    Worker,
)

# The one list of what each action is called on screen; an action missing here shows its code.
ACTION_LABELS = {
    "login": "登录",
    "login_failed": "登录失败",
    "logout": "退出",
    "password_changed": "修改密码",
    "locale_changed": "切换界面语言",
    "user_created": "创建账号",
    "user_updated": "修改账号",
    "user_activated": "启用账号",
    "user_deactivated": "停用账号",
    "user_password_reset": "重置密码",
    "contact_settings_saved": "保存联系方式",
    "workers_imported": "导入人员",
    "view_citizen_id": "查看完整身份证号",
    "worker_sms_opt_out": "从业人员退订短信",
    "worker_sms_opt_in": "从业人员恢复短信",
    "face_enrolled": "登记人脸照片",
    "photo_batch_started": "批量登记照片",
    "photo_batch_cancelled": "取消批量登记照片",
    "exam_plan_created": "新建考试计划",
    "exam_plan_updated": "修改考试计划",
    "kiosk_registered": "注册终端",
    "kiosk_disabled": "停用终端",
    "kiosk_enabled": "启用终端",
    "kiosk_token_reissued": "重新签发终端令牌",
    "question_created": "新建题目",
    "question_updated": "修改题目",
    "question_retired": "停用题目",
    "question_image_set": "上传题目图片",
    "question_image_removed": "移除题目图片",
    "ruleset_updated": "修改试卷规则",
    "questions_imported": "导入题目",
    "review_confirmed": "确认人脸告警",
    "review_dismissed": "驳回人脸告警",
    "face_consent_given": "同意采集人脸",
    "checkin_refused": "入场核验拒绝",
    "sitting_started": "开始考试",
    "sitting_submitted": "交卷",
    "sitting_auto_submitted": "超时自动交卷",
    "sitting_suspended": "考试暂停",
    "sitting_resumed": "考试继续",
    "sitting_resumed_by_review": "审核后继续考试",
    "sitting_voided": "考试作废",
    "certificate_issued": "发放证书",
    "certificate_downloaded": "下载证书",
    "certificate_verified": "查验证书",
    "certificate_verify_miss": "查验证书未找到",
    "certificate_renewal_required": "证书需复训",
    "evidence_purged": "清理人脸证据",
    "export": "导出",
    "export_downloaded": "下载导出文件",
    "job_cancelled": "取消后台任务",
}

TARGET_LABELS = {
    "console_user": "账号",
    "worker": "从业人员",
    "enterprise": "企业",
    "exam_plan": "考试计划",
    "kiosk": "考试终端",
    "question": "题目",
    "sitting": "考试",
    "checkin": "入场核验",
    "certificate": "证书",
    "review_case": "人脸告警",
    "paper_rule_set": "试卷规则",
}

DETAIL_LABELS = {
    "username": "用户名",
    "display_name": "姓名",
    "role": "角色",
    "county_id": "区县",
    "enterprise_id": "企业",
    "industry_id": "行业",
    "job_categories": "岗位类别",
    "name": "名称",
    "ruleset": "试卷规则",
    "review_answers": "交卷后显示错题",
    "requirements_added": "新增考试任务",
    "requirements_removed": "移除考试任务",
    "reason": "原因",
    "code": "题目编号",
    "token_prefix": "令牌前缀",
    "via": "途径",
    "sitting_id": "考试编号",
    "checkin_id": "入场核验编号",
    "plan_id": "考试计划编号",
    "worker_id": "从业人员",
    "other_worker_id": "相似的从业人员",
    "score": "成绩",
    "passed": "合格",
    "number": "证书编号",
    "format": "格式",
    "filename": "文件名",
    "kind": "类型",
    "rows": "行数",
    "imported": "导入",
    "skipped_rows": "跳过行",
    "created": "新建",
    "duplicates": "重复",
    "count": "数量",
    "job": "后台任务编号",
    "photos": "照片",
    "files": "文件",
    "fields": "字段",
    "filters": "筛选条件",
    "email": "电子邮箱",
    "phone": "手机号",
    "email_enabled": "邮件通知",
    "sms_enabled": "短信通知",
    "retention_days": "保留天数",
    "older_than": "早于",
    "attempt": "第几次",
    "round": "轮次",
    "rank": "相似排名",
}
_CHANGE = "changes"  # {field: [old, new]} of an edit, shown as "field：old → new"


@dataclass
class Line:
    """One audit entry ready to show."""

    entry: AuditLog
    actor: str
    action: str
    target: str
    details: list[tuple[str, str]] = field(default_factory=list)


def action_label(action: str) -> str:
    """Return the Chinese name of an action (its code when it has none)."""
    return ACTION_LABELS.get(action, action)


def _user_label(user: User) -> str:
    shown = user.display_name.strip()
    return f"{shown}（{user.username}）" if shown and shown != user.username else user.username


def _worker_label(worker: Worker) -> str:
    return f"{worker.name} {citizen_id.mask(worker.citizen_id)}"


class _Names:
    """The names of every object a page of entries mentions, each kind read in one query."""

    _MODELS = {
        "console_user": User,
        "worker": Worker,
        "enterprise": Enterprise,
        "exam_plan": ExamPlan,
        "kiosk": Kiosk,
        "question": Question,
        "sitting": Sitting,
        "checkin": CheckIn,
        "certificate": Certificate,
        "review_case": ReviewCase,
        "county": County,
        "industry": Industry,
    }
    _DETAIL_KINDS = {
        "county_id": "county",
        "enterprise_id": "enterprise",
        "industry_id": "industry",
        "worker_id": "worker",
        "other_worker_id": "worker",
        "plan_id": "exam_plan",
    }

    def __init__(self, session: DbSession, entries: list[AuditLog]):
        wanted: dict[str, set[int]] = defaultdict(set)
        for entry in entries:
            if entry.user_id:
                wanted["console_user"].add(entry.user_id)
            if entry.kiosk_id:
                wanted["kiosk"].add(entry.kiosk_id)
            if entry.target_type in self._MODELS and entry.target_id and entry.target_id.isdigit():
                wanted[entry.target_type].add(int(entry.target_id))
            for key, value in _flat_details(entry.detail or {}):
                if key in self._DETAIL_KINDS and isinstance(value, int):
                    wanted[self._DETAIL_KINDS[key]].add(value)
        self.objects = {kind: self._load(session, kind, ids) for kind, ids in wanted.items()}
        workers = {
            o.worker_id
            for kind in ("sitting", "checkin", "certificate", "review_case")
            for o in self.objects.get(kind, {}).values()
        }
        self.objects.setdefault("worker", {}).update(
            self._load(session, "worker", workers - set(self.objects["worker"]))
        )

    def _load(self, session: DbSession, kind: str, ids: set[int]) -> dict:
        model: Any = self._MODELS[kind]  # each has an integer id, which Base does not declare
        return {o.id: o for o in session.scalars(select(model).where(model.id.in_(ids)))} if ids else {}

    def get(self, kind: str, object_id):
        return self.objects.get(kind, {}).get(object_id)

    def object(self, kind: str | None, object_id: str | None) -> str:
        """Return a readable label of an entry's target."""
        if not kind:
            return ""
        found = self.get(kind, int(object_id)) if object_id is not None and str(object_id).isdigit() else None
        type_label = TARGET_LABELS.get(kind, kind)
        if found is None:
            return f"{type_label} #{object_id}" if object_id else type_label
        if kind == "console_user":
            return f"账号 {_user_label(found)}"
        if kind == "worker":
            return _worker_label(found)
        if kind == "question":
            return f"题目 {found.code}"
        if kind in ("sitting", "checkin", "certificate", "review_case"):
            worker = self.get("worker", found.worker_id)
            what = f"证书 {found.number}" if kind == "certificate" else f"{type_label} #{found.id}"
            return f"{what} · {_worker_label(worker)}" if worker else what
        return f"{type_label} {found.name}"

    def value(self, key: str, value) -> str:
        """Return a detail value as people read it."""
        if key in self._DETAIL_KINDS and isinstance(value, int):
            found = self.get(self._DETAIL_KINDS[key], value)
            if found is not None:
                return _worker_label(found) if isinstance(found, Worker) else found.name
        if key == "county_id" and value is None:
            return "全市"
        if key == "role" and value in {r.value for r in Role}:
            return ROLE_LABELS[Role(value)]
        if key == "job_categories" and isinstance(value, list):
            known = {j.value for j in JobCategory}
            return "、".join(JOB_CATEGORY_LABELS[JobCategory(v)] if v in known else str(v) for v in value) or "全部"
        if value is None:
            return "—"
        if isinstance(value, bool):
            return "是" if value else "否"
        if isinstance(value, list):
            return "、".join(str(v) for v in value)
        if isinstance(value, dict):
            return "，".join(f"{DETAIL_LABELS.get(k, k)}：{self.value(k, v)}" for k, v in value.items())
        return str(value)


def _flat_details(detail: dict):
    for key, value in detail.items():
        if key == _CHANGE and isinstance(value, dict):
            for changed, pair in value.items():
                yield from ((changed, v) for v in (pair if isinstance(pair, list) else [pair]))
        else:
            yield key, value


def _details(names: _Names, detail: dict) -> list[tuple[str, str]]:
    lines: list[tuple[str, str]] = []
    for key, value in detail.items():
        if key == _CHANGE and isinstance(value, dict):
            changed: str  # a JSON object's keys
            for changed, pair in value.items():
                old, new = pair if isinstance(pair, list) and len(pair) == 2 else (None, pair)
                lines.append(
                    (DETAIL_LABELS.get(changed, changed), f"{names.value(changed, old)} → {names.value(changed, new)}")
                )
        else:
            lines.append((DETAIL_LABELS.get(key, key), names.value(key, value)))
    return lines


def describe(session: DbSession, entries: list[AuditLog]) -> list[Line]:
    """Return the entries with their actor, action, target and details in words."""
    names = _Names(session, entries)
    lines = []
    for entry in entries:
        if entry.user_id and (user := names.get("console_user", entry.user_id)) is not None:
            actor = _user_label(user)
        elif entry.kiosk_id:
            kiosk = names.get("kiosk", entry.kiosk_id)
            actor = f"考试终端 {kiosk.name}" if kiosk else f"考试终端 #{entry.kiosk_id}"
        else:
            actor = "系统"
        lines.append(
            Line(
                entry=entry,
                actor=actor,
                action=action_label(entry.action),
                target=names.object(entry.target_type, entry.target_id),
                details=_details(names, entry.detail or {}),
            )
        )
    return lines
