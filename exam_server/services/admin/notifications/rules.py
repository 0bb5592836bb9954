"""The reminder rules: each fires once per subject (a Notice row) and queues who is told what, over which channel.

- plan_opening: a plan's window has opened: the managers of the enterprises it covers, and each worker
  who must sit it and has a phone number.
- plan_closing: NOTIFY_CLOSING_DAYS before a plan closes: the managers of enterprises with workers who
  have not sat, with how many, and each of those workers who has a phone number.
- certificate_expiring: NOTIFY_EXPIRY_DAYS before a certificate's last day: the holder (SMS) and, one
  message per enterprise and run, its managers.
- review_waiting: face alerts open for NOTIFY_REVIEW_WAIT_MINUTES: every reviewer (the city's
  administrators where there is no reviewer account), one message per run.

Console users get the inbox always, e-mail and SMS where they gave an address and SMTP or the SMS
gateway is configured; workers get SMS unless they opted out. SMS use the gateway's approved templates
named in SMS_TEMPLATES: <rule> for workers, <rule>_manager for managers, review_waiting for reviewers.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import ColumnElement, exists, func, select
from sqlalchemy.exc import IntegrityError

from exam_server import localday
from exam_server.database import DbSession
from exam_server.models import (
    OPEN_REQUIREMENT_STATUSES,
    Certificate,
    Channel,
    ExamPlan,
    ExamRequirement,
    Notice,
    RequirementStatus,
    ReviewCase,
    ReviewStatus,
    Role,
    User,
    Worker,
)
from exam_server.services import policy
from exam_server.services.admin import renewals
from exam_server.services.admin.notifications import contacts
from exam_server.services.admin.notifications.outbox import Message, queue

RULE_LABELS = {
    "plan_opening": "考试计划开放",
    "plan_closing": "考试即将截止",
    "certificate_expiring": "证书即将到期",
    "review_waiting": "人脸告警待审核",
}
REQ = ExamRequirement


def _when(instant: datetime) -> str:
    return localday.format_local(instant, "%Y年%m月%d日%H:%M")


def _not_fired(rule: str, subject_type: str, subject_id) -> ColumnElement[bool]:
    return ~exists().where(Notice.rule == rule, Notice.subject_type == subject_type, Notice.subject_id == subject_id)


def _mark(session: DbSession, rule: str, subject_type: str, subject_id: int, now: datetime) -> Notice | None:
    """Record that the rule fired for the subject; None if it already had (another runner got there first)."""
    notice = Notice(rule=rule, subject_type=subject_type, subject_id=subject_id, fired_at=now)
    try:
        with session.begin_nested():
            session.add(notice)
    except IntegrityError:
        return None
    return notice


class Audience:
    """Turns people into messages over the channels they can be reached on and that are configured."""

    def __init__(self, session: DbSession) -> None:
        config = current_app.config
        self.session = session
        self.templates: dict[str, str] = dict(config.get("SMS_TEMPLATES") or {})
        self.sms = bool(config.get("SMS_GATEWAY_URL"))
        self.email = bool(config.get("SMTP_HOST"))

    def staff(self, users: Iterable[User], template_key: str, **message) -> list[Message]:
        """Return inbox, e-mail and SMS messages for console users."""
        users = list(users)
        reach = contacts.reach_of(self.session, [u.id for u in users])
        template = self.templates.get(template_key) if self.sms else None
        out = []
        for user in users:
            out.append(Message(channel=Channel.INBOX, user_id=user.id, **message))
            found = reach.get(user.id)
            if found and found.email and self.email:
                out.append(Message(channel=Channel.EMAIL, user_id=user.id, address=found.email, **message))
            if found and found.phone and template:
                out.append(
                    Message(
                        channel=Channel.SMS, user_id=user.id, address=found.phone, template_code=template, **message
                    )
                )
        return out

    def workers(self, template_key: str, rows: list[tuple[int, str, dict]], **message) -> list[Message]:
        """Return SMS for (worker id, phone, template parameters) rows, leaving out those who opted out."""
        template = self.templates.get(template_key) if self.sms else None
        if not template or not rows:
            return []
        refused = contacts.opted_out(self.session, [worker_id for worker_id, _, _ in rows])
        return [
            Message(
                channel=Channel.SMS,
                worker_id=worker_id,
                address=phone,
                template_code=template,
                params=params,
                **message,
            )
            for worker_id, phone, params in rows
            if worker_id not in refused and contacts.PHONE.match(phone or "")
        ]


def managers(session: DbSession, enterprise_ids: Iterable[int]) -> dict[int, list[User]]:
    """Return the active enterprise managers of each enterprise."""
    ids, out = list(enterprise_ids), defaultdict[int, list[User]](list)
    for start in range(0, len(ids), 500):
        for user in session.scalars(
            select(User).where(
                User.role == Role.ENTERPRISE, User.active, User.enterprise_id.in_(ids[start : start + 500])
            )
        ):
            out[user.enterprise_id or 0].append(user)
    return out


def _plan_messages(
    session: DbSession,
    audience: Audience,
    rule: str,
    plan: ExamPlan,
    statuses,
    subject: str,
    body_for,
    worker_body: str,
) -> list[Message]:
    """Return the managers' and the workers' messages about one plan's requirements in ``statuses``."""
    per_enterprise = session.execute(
        select(REQ.enterprise_id, REQ.county_id, func.count(REQ.id))
        .where(REQ.plan_id == plan.id, REQ.status.in_(statuses))
        .group_by(REQ.enterprise_id, REQ.county_id)
    ).all()
    staff = managers(session, [enterprise_id for enterprise_id, _, _ in per_enterprise])
    params = {"plan": plan.name, "closes": _when(plan.closes_at)}
    messages: list[Message] = []
    for enterprise_id, county_id, count in per_enterprise:
        messages += audience.staff(
            staff.get(enterprise_id, []),
            f"{rule}_manager",
            rule=rule,
            subject_key=f"p{plan.id}-e{enterprise_id}",
            subject=subject,
            body=body_for(count),
            enterprise_id=enterprise_id,
            county_id=county_id,
            params={**params, "count": str(count)},
        )
    for enterprise_id, county_id, rows in _workers_by_enterprise(session, plan, statuses, params):
        messages += audience.workers(
            rule,
            rows,
            rule=rule,
            subject_key=f"p{plan.id}",
            subject=subject,
            body=worker_body,
            enterprise_id=enterprise_id,
            county_id=county_id,
        )
    return messages


def _workers_by_enterprise(session: DbSession, plan: ExamPlan, statuses, params: dict):
    """Yield (enterprise, county, [(worker, phone, params)]) for the plan's workers with a phone number."""
    grouped: dict[tuple[int, int], list] = defaultdict(list)
    stmt = (
        select(REQ.worker_id, Worker.phone, REQ.enterprise_id, REQ.county_id, Worker.name)
        .join(Worker, Worker.id == REQ.worker_id)
        .where(REQ.plan_id == plan.id, REQ.status.in_(statuses), Worker.active, Worker.phone.is_not(None))
    )
    for worker_id, phone, enterprise_id, county_id, name in session.execute(stmt):
        grouped[(enterprise_id, county_id)].append((worker_id, phone, {**params, "name": name}))
    for (enterprise_id, county_id), rows in grouped.items():
        yield enterprise_id, county_id, rows


def plan_opening(session: DbSession, now: datetime) -> int:
    """Tell managers and workers that a plan they are in has opened."""
    rule, audience, queued = "plan_opening", Audience(session), 0
    due = session.scalars(
        select(ExamPlan).where(
            ExamPlan.opens_at <= now, ExamPlan.closes_at > now, _not_fired(rule, "plan", ExamPlan.id)
        )
    ).all()
    for plan in due:
        notice = _mark(session, rule, "plan", plan.id, now)
        if notice is None:
            continue
        window = f"{_when(plan.opens_at)}至{_when(plan.closes_at)}"
        messages = _plan_messages(
            session,
            audience,
            rule,
            plan,
            OPEN_REQUIREMENT_STATUSES,
            f"考试计划已开放：{plan.name}",
            lambda count, window=window, name=plan.name: (
                f"贵单位有{count}名人员须参加“{name}”，考试时间{window}。"
                "请通知相关人员携带身份证按时到考点参加考试；名单可在“统计分析”中查看和下载。"
            ),
            f"您须参加“{plan.name}”，考试时间{window}，请携带身份证到考点参加考试。",
        )
        notice.messages = queue(session, messages, now)
        queued += notice.messages
        session.commit()
    return queued


def plan_closing(session: DbSession, now: datetime) -> int:
    """Tell managers how many of their workers have not sat a plan closing soon, and tell those workers."""
    rule, audience, queued = "plan_closing", Audience(session), 0
    days = int(current_app.config["NOTIFY_CLOSING_DAYS"])
    due = session.scalars(
        select(ExamPlan).where(
            ExamPlan.opens_at <= now,
            ExamPlan.closes_at > now,
            ExamPlan.closes_at <= now + timedelta(days=days),
            _not_fired(rule, "plan", ExamPlan.id),
        )
    ).all()
    for plan in due:
        notice = _mark(session, rule, "plan", plan.id, now)
        if notice is None:
            continue
        closes = _when(plan.closes_at)
        messages = _plan_messages(
            session,
            audience,
            rule,
            plan,
            (RequirementStatus.PENDING,),
            f"考试即将截止：{plan.name}",
            lambda count, closes=closes, name=plan.name: (
                f"“{name}”将于{closes}截止，贵单位尚有{count}名人员未参考。"
                "请督促其尽快到考点参加考试；未参考名单可在“统计分析”中下载。"
            ),
            f"您尚未参加“{plan.name}”，考试将于{closes}截止，请尽快携带身份证到考点参加考试。",
        )
        notice.messages = queue(session, messages, now)
        queued += notice.messages
        session.commit()
    return queued


def certificate_expiring(session: DbSession, now: datetime) -> int:
    """Tell holders, and their enterprises' managers, of certificates reaching their last days."""
    rule, audience = "certificate_expiring", Audience(session)
    today = localday.today(now)
    days = int(current_app.config["NOTIFY_EXPIRY_DAYS"])
    due = session.execute(
        select(Certificate, Worker, ExamPlan.name)
        .join(Worker, Worker.id == Certificate.worker_id)
        .join(ExamPlan, ExamPlan.id == Certificate.plan_id)
        .where(
            Certificate.revoked_at.is_(None),
            Certificate.valid_until >= today,
            Certificate.valid_until <= today + timedelta(days=days),
            Worker.active,
            ~renewals.superseded(),
            _not_fired(rule, "certificate", Certificate.id),
        )
        .order_by(Worker.enterprise_id, Certificate.valid_until, Certificate.id)
    ).all()
    by_enterprise: dict[int, list] = defaultdict(list)
    for certificate, worker, plan_name in due:
        if _mark(session, rule, "certificate", certificate.id, now) is not None:
            by_enterprise[worker.enterprise_id].append((certificate, worker, plan_name))
    staff = managers(session, by_enterprise)
    messages: list[Message] = []
    for enterprise_id, items in by_enterprise.items():
        county_id = items[0][1].enterprise.county_id
        listed = "；".join(f"{w.name}（{c.number}，{c.valid_until}到期）" for c, w, _ in items[:20])
        more = f"等{len(items)}人" if len(items) > 20 else ""
        messages += audience.staff(
            staff.get(enterprise_id, []),
            f"{rule}_manager",
            rule=rule,
            subject_key=f"e{enterprise_id}-c{items[0][0].id}",
            subject=f"{len(items)}张证书将于{days}天内到期",
            body=f"以下人员的安全培训合格证书将于{days}天内到期：{listed}{more}。"
            "到期前须参加换证考试，换证考试任务已在当前考试计划中生成，详见“证书管理”。",
            enterprise_id=enterprise_id,
            county_id=county_id,
            params={"count": str(len(items)), "days": str(days)},
        )
        for c, w, _ in items:
            params = {"name": w.name, "number": c.number, "date": c.valid_until.isoformat()}
            messages += audience.workers(
                rule,
                [(w.id, w.phone, params)] if w.phone else [],
                rule=rule,
                subject_key=f"c{c.id}",
                subject="证书即将到期",
                body=f"您的安全培训合格证书{c.number}将于{c.valid_until}到期，请按单位安排参加换证考试。",
                enterprise_id=enterprise_id,
                county_id=county_id,
            )
    queued = queue(session, messages, now)
    session.commit()
    return queued


def review_waiting(session: DbSession, now: datetime) -> int:
    """Tell the reviewers that face alerts have been waiting longer than they should."""
    rule, audience = "review_waiting", Audience(session)
    minutes = int(current_app.config["NOTIFY_REVIEW_WAIT_MINUTES"])
    cases = session.scalars(
        select(ReviewCase)
        .where(
            ReviewCase.status == ReviewStatus.OPEN,
            ReviewCase.created_at <= now - timedelta(minutes=minutes),
            _not_fired(rule, "review_case", ReviewCase.id),
        )
        .order_by(ReviewCase.created_at, ReviewCase.id)
    ).all()
    marked = [case for case in cases if _mark(session, rule, "review_case", case.id, now) is not None]
    if not marked:
        session.commit()
        return 0
    reviewers = session.scalars(select(User).where(User.role == Role.REVIEWER, User.active)).all()
    # Each reviewer hears of the cases in their own scope only, counted in that scope.
    told = {r.id: [case for case in marked if policy.may_decide(r, case.worker)] for r in reviewers}
    audiences = [(r, told[r.id], policy.review_cases(r)) for r in reviewers if told[r.id]]
    if not audiences:  # someone must hear of it: the city administrators, of every case
        city = session.scalars(select(User).where(User.role == Role.CITY, User.active)).all()
        audiences = [(user, marked, select(ReviewCase)) for user in city]
    messages = []
    for user, theirs, visible in audiences:
        waited = int((now - theirs[0].created_at).total_seconds() // 60)
        open_total = session.scalar(
            select(func.count()).select_from(visible.where(ReviewCase.status == ReviewStatus.OPEN).subquery())
        )
        messages += audience.staff(
            [user],
            rule,
            rule=rule,
            subject_key=f"c{theirs[0].id}-{theirs[-1].id}-{len(theirs)}",
            subject=f"{len(theirs)}个人脸告警等待审核",
            body=f"有{len(theirs)}个人脸告警等待超过{minutes}分钟，最早的一件已等待{waited}分钟"
            f"（当前共{open_total}件待审核）。请到“人脸审核”处理，暂停中的考生在审核后才能继续考试。",
            params={"count": str(len(theirs)), "minutes": str(waited)},
        )
    queued = queue(session, messages, now)
    session.commit()
    return queued


RULES = {
    "plan_opening": plan_opening,
    "plan_closing": plan_closing,
    "certificate_expiring": certificate_expiring,
    "review_waiting": review_waiting,
}


def queue_due(session: DbSession, now: datetime | None = None) -> dict[str, int]:
    """Run every rule once at ``now``; return how many notifications each queued (each commits its own)."""
    now = now or localday.utcnow()
    return {name: rule(session, now) for name, rule in RULES.items()}
