"""Reminders: each rule fires once to the right people, through the inbox, the SMS gateway's and SMTP's stand-ins; failures retry."""

from __future__ import annotations

import email
import email.policy
import json
from datetime import timedelta

import pytest

from exam_server.models import (
    Channel,
    DeliveryStatus,
    Notice,
    Notification,
    ReviewCase,
    ReviewKind,
    Role,
)
from exam_server.services.admin.notifications import contacts, dispatch, queue_due
from tests.certificates.conftest import ISSUED_AT, build_holders, pass_exam
from tests.certificates.standins import KEY_ID, SECRET, SmsGatewayStandIn, SmtpStandIn

TEMPLATES = {
    "plan_opening": "SMS_100001",
    "plan_opening_manager": "SMS_100002",
    "plan_closing": "SMS_100003",
    "plan_closing_manager": "SMS_100004",
    "certificate_expiring": "SMS_100005",
    "certificate_expiring_manager": "SMS_100006",
    "review_waiting": "SMS_100007",
}
MANAGER_PHONE, MANAGER_EMAIL, REVIEWER_EMAIL = "13912345678", "anquan@lanshan-chem.cn", "shenhe@yjj.example.cn"
REVIEWER_PHONE = "13700001111"


@pytest.fixture()
def sms(app, monkeypatch):
    with SmsGatewayStandIn() as gateway:
        for key, value in {
            "SMS_GATEWAY_URL": gateway.url,
            "SMS_ACCESS_KEY_ID": KEY_ID,
            "SMS_ACCESS_KEY_SECRET": SECRET,
            "SMS_SIGN_NAME": "临沂应急",
            "SMS_TEMPLATES": TEMPLATES,
            "SMS_TIMEOUT_SECONDS": 2.0,
        }.items():
            monkeypatch.setitem(app.config, key, value)
        yield gateway


@pytest.fixture()
def smtp(app, monkeypatch):
    with SmtpStandIn() as server:
        for key, value in {
            "SMTP_HOST": "127.0.0.1",
            "SMTP_PORT": server.port,
            "SMTP_SECURITY": "none",
            "SMTP_FROM": "noreply@yjj.example.cn",
        }.items():
            monkeypatch.setitem(app.config, key, value)
        yield server


@pytest.fixture()
def town(db):
    """The holders' world with the manager's and the reviewer's addresses given."""
    holders = build_holders(db.session, valid_days=45)
    contacts.save(db.session, holders.users["manager"], MANAGER_EMAIL, MANAGER_PHONE, True, True, ISSUED_AT)
    contacts.save(db.session, holders.users["reviewer"], REVIEWER_EMAIL, "", True, True, ISSUED_AT)
    db.session.commit()
    return holders


def sent(gateway: SmsGatewayStandIn) -> list[tuple[str, str, dict]]:
    return sorted((f["PhoneNumbers"], f["TemplateCode"], json.loads(f["TemplateParam"])) for f in gateway.accepted)


def mails(server: SmtpStandIn) -> list[email.message.EmailMessage]:
    return [email.message_from_bytes(m["data"], policy=email.policy.default) for m in server.messages]


def rows(db, rule: str) -> list[Notification]:
    return db.session.query(Notification).filter_by(rule=rule).order_by(Notification.id).all()


def test_a_plan_opening_reaches_managers_and_workers_once_through_every_channel(app, db, town, sms, smtp, login):
    now = ISSUED_AT  # the plan opened 30 days before; it closes in 30 (no closing reminder yet)
    sms.clock = lambda: now
    no_phone, refused, reached = town.workers[1], town.workers[2], town.workers[0]
    no_phone.phone = None
    contacts.set_worker_opt_out(db.session, refused, True, now, user=town.users["manager"])
    db.session.commit()

    counts = queue_due(db.session, now)
    assert counts == {"plan_opening": 6, "plan_closing": 0, "certificate_expiring": 0, "review_waiting": 0}
    queued = {(n.channel, n.user_id, n.worker_id, n.address) for n in rows(db, "plan_opening")}
    manager, other = town.users["manager"], town.users["other_manager"]
    assert queued == {
        (Channel.INBOX, manager.id, None, None),
        (Channel.EMAIL, manager.id, None, MANAGER_EMAIL),
        (Channel.SMS, manager.id, None, MANAGER_PHONE),
        (Channel.INBOX, other.id, None, None),  # no address given: the inbox only
        (Channel.SMS, None, reached.id, reached.phone),
        (Channel.SMS, None, town.outsider.id, town.outsider.phone),
    }  # nothing to the worker without a phone, nor to the one who refused reminder SMS
    assert queue_due(db.session, now + timedelta(hours=1))["plan_opening"] == 0  # fires once
    assert db.session.query(Notice).filter_by(rule="plan_opening").count() == 1

    assert dispatch(db.session, now) == {"sent": 4, "pending": 0, "failed": 0, "uncertain": 0, "abandoned": 0}
    assert sent(sms) == sorted(
        [
            (MANAGER_PHONE, "SMS_100002", {"plan": town.plan.name, "closes": "2027年01月01日02:17", "count": "3"}),
            (reached.phone, "SMS_100001", {"plan": town.plan.name, "closes": "2027年01月01日02:17", "name": "张伟"}),
            (
                town.outsider.phone,
                "SMS_100001",
                {"plan": town.plan.name, "closes": "2027年01月01日02:17", "name": "赵强"},
            ),
        ]
    )
    assert all(f["SignName"] == "临沂应急" for f in sms.accepted) and not sms.refused
    (message,) = mails(smtp)
    assert message["To"] == MANAGER_EMAIL and message["Subject"] == f"考试计划已开放：{town.plan.name}"
    assert "贵单位有3名人员须参加" in message.get_content()
    assert dispatch(db.session, now + timedelta(days=1))["sent"] == 0  # never twice
    assert len(sms.accepted) == 3 and len(smtp.messages) == 1
    assert {n.status for n in rows(db, "plan_opening")} == {DeliveryStatus.SENT}

    inbox = login(manager)
    page = inbox.get("/console/inbox").get_data(as_text=True)
    assert "考试计划已开放" in page and "1 条未读" in page
    inbox.post("/console/inbox/read", data={})
    assert "条未读" not in inbox.get("/console/inbox").get_data(as_text=True)
    record = login(town.users["county_b"]).get("/console/outbox").get_data(as_text=True)
    assert "138****" in record and "139****5678" not in record  # a county sees its own enterprises' reminders


def test_a_plan_closing_tells_of_the_workers_who_have_not_sat(app, db, town, sms, smtp):
    pass_exam(db.session, town.requirement(db.session, town.workers[0]))
    now = town.plan.closes_at - timedelta(days=6)
    sms.clock = lambda: now
    queue_due(db.session, now - timedelta(days=2))  # the opening reminder, 8 days before closing
    assert rows(db, "plan_closing") == []
    assert queue_due(db.session, now)["plan_closing"] == 7  # 3 + 1 to the managers, 3 SMS to workers
    inbox = next(
        n for n in rows(db, "plan_closing") if n.user_id == town.users["manager"].id and n.channel is Channel.INBOX
    )
    assert "尚有2名人员未参考" in inbox.body
    workers = {n.worker_id for n in rows(db, "plan_closing") if n.worker_id}
    assert workers == {town.workers[1].id, town.workers[2].id, town.outsider.id}  # not the one who sat
    assert queue_due(db.session, now + timedelta(days=1))["plan_closing"] == 0
    dispatch(db.session, now)
    closing = [p for _, code, p in sent(sms) if code in ("SMS_100003", "SMS_100004")]
    assert len(closing) == 4 and {"count": "2"}.items() <= next(p for p in closing if "count" in p).items()
    (closing_mail,) = [m for m in mails(smtp) if m["Subject"] == f"考试即将截止：{town.plan.name}"]
    assert closing_mail["To"] == MANAGER_EMAIL and "尚有2名人员未参考" in closing_mail.get_content()


def test_a_certificate_expiring_reminds_its_holder_and_the_manager_once(app, db, town, sms, smtp):
    certificate = pass_exam(db.session, town.requirement(db.session, town.workers[0]))
    now = ISSUED_AT + timedelta(days=40)  # 5 days left of 45; the plan itself has closed
    sms.clock = lambda: now
    assert queue_due(db.session, ISSUED_AT + timedelta(days=10))["certificate_expiring"] == 0  # 35 days left
    assert (
        queue_due(db.session, now)["certificate_expiring"] == 4
    )  # the holder's SMS; inbox, e-mail, SMS to the manager
    holder = next(n for n in rows(db, "certificate_expiring") if n.worker_id)
    assert holder.params == {"name": "张伟", "number": certificate.number, "date": str(certificate.valid_until)}
    manager_inbox = next(n for n in rows(db, "certificate_expiring") if n.channel is Channel.INBOX)
    assert f"张伟（{certificate.number}" in manager_inbox.body
    assert queue_due(db.session, now + timedelta(days=1))["certificate_expiring"] == 0
    dispatch(db.session, now)
    assert (town.workers[0].phone, "SMS_100005") in {(phone, code) for phone, code, _ in sent(sms)}
    assert [m["Subject"] for m in mails(smtp) if "证书" in m["Subject"]] == ["1张证书将于30天内到期"]


def test_a_face_alert_waiting_reaches_the_reviewers(app, db, town, sms, smtp):
    now = ISSUED_AT
    sms.clock = lambda: now
    old = ReviewCase(kind=ReviewKind.BORDERLINE, worker_id=town.workers[0].id, created_at=now - timedelta(minutes=45))
    fresh = ReviewCase(kind=ReviewKind.BORDERLINE, worker_id=town.workers[1].id, created_at=now - timedelta(minutes=5))
    db.session.add_all([old, fresh])
    db.session.commit()
    assert queue_due(db.session, now)["review_waiting"] == 2  # inbox and e-mail (no phone given)
    (inbox,) = [n for n in rows(db, "review_waiting") if n.channel is Channel.INBOX]
    assert inbox.user_id == town.users["reviewer"].id and "已等待45分钟" in inbox.body and "共2件" in inbox.body
    assert queue_due(db.session, now + timedelta(minutes=10))["review_waiting"] == 0  # the fresh one is not due yet
    assert queue_due(db.session, now + timedelta(minutes=30))["review_waiting"] == 2  # now it is, once
    dispatch(db.session, now + timedelta(minutes=30))
    assert [m["To"] for m in mails(smtp) if "人脸告警" in m["Subject"]] == [REVIEWER_EMAIL, REVIEWER_EMAIL]


def test_a_face_alert_waiting_reaches_a_reviewer_with_a_phone_by_sms(app, db, town, sms, smtp):
    now = ISSUED_AT
    sms.clock = lambda: now
    reviewer = town.users["reviewer"]
    contacts.save(db.session, reviewer, REVIEWER_EMAIL, REVIEWER_PHONE, True, True, now)
    db.session.add(
        ReviewCase(kind=ReviewKind.BORDERLINE, worker_id=town.workers[0].id, created_at=now - timedelta(minutes=45))
    )
    db.session.commit()
    assert queue_due(db.session, now)["review_waiting"] == 3  # inbox, e-mail and SMS
    dispatch(db.session, now)
    assert [phone for phone, code, _ in sent(sms) if code == "SMS_100007"] == [REVIEWER_PHONE]
    assert queue_due(db.session, now + timedelta(minutes=1))["review_waiting"] == 0  # never twice


def test_a_county_reviewer_hears_of_its_own_countys_cases_only(app, db, town):
    from tests import factories

    now = ISSUED_AT
    county_a, county_b = town.enterprise.county, town.other.county
    reviewer_a = factories.user(db.session, Role.REVIEWER, county_obj=county_a, username="rev_a")
    reviewer_b = factories.user(db.session, Role.REVIEWER, county_obj=county_b, username="rev_b")
    late = now - timedelta(minutes=45)
    db.session.add_all(
        [
            ReviewCase(kind=ReviewKind.BORDERLINE, worker_id=town.workers[0].id, created_at=late),
            ReviewCase(kind=ReviewKind.BORDERLINE, worker_id=town.workers[1].id, created_at=late),
            ReviewCase(kind=ReviewKind.BORDERLINE, worker_id=town.outsider.id, created_at=now),  # not due yet
        ]
    )
    db.session.commit()
    queue_due(db.session, now)
    inbox = {n.user_id: n.body for n in rows(db, "review_waiting") if n.channel is Channel.INBOX}
    assert "共2件" in inbox[reviewer_a.id] and "共3件" in inbox[town.users["reviewer"].id]  # the city-wide one
    assert reviewer_b.id not in inbox  # nothing of county B is due, and county A's cases are not B's business
    queue_due(db.session, now + timedelta(minutes=45))
    (late_b,) = [
        n.body for n in rows(db, "review_waiting") if n.user_id == reviewer_b.id and n.channel is Channel.INBOX
    ]
    assert "有1个人脸告警" in late_b and "共1件" in late_b


def test_a_failed_send_is_retried_later_and_a_refused_one_is_not(app, db, town, sms, smtp):
    now = ISSUED_AT
    sms.clock = lambda: now
    sms.fail = [(500, "isp.SYSTEM_ERROR")]  # the first SMS: the gateway's own trouble
    smtp.fail = ["451 4.3.0 Mail server temporarily rejected message"]
    queue_due(db.session, now)
    first = dispatch(db.session, now)  # the plan opening: 5 SMS and 1 e-mail
    assert (first["pending"], first["sent"]) == (2, 4)
    waiting = db.session.query(Notification).filter_by(status=DeliveryStatus.PENDING).all()
    assert {n.channel for n in waiting} == {Channel.SMS, Channel.EMAIL}
    assert all(n.attempts == 1 and n.next_attempt_at == now + timedelta(seconds=300) for n in waiting)
    assert any("isp.SYSTEM_ERROR" in n.last_error for n in waiting) and any("451" in n.last_error for n in waiting)
    assert dispatch(db.session, now + timedelta(seconds=299))["sent"] == 0  # not before its time
    assert dispatch(db.session, now + timedelta(seconds=300))["sent"] == 2
    assert len(sms.accepted) == 5 and len(smtp.messages) == 1  # each delivered exactly once
    assert len({f["PhoneNumbers"] for f in sms.accepted}) == 5
    assert db.session.query(Notification).filter_by(status=DeliveryStatus.SENT).count() == 8  # with 2 inbox


def test_refusals_for_good_and_unknown_outcomes_are_never_resent(app, db, town, sms, monkeypatch):
    now = ISSUED_AT
    sms.clock = lambda: now
    sms.fail = [(400, "isv.MOBILE_NUMBER_ILLEGAL")]
    queue_due(db.session, now)
    assert dispatch(db.session, now)["failed"] == 1
    failed = db.session.query(Notification).filter_by(status=DeliveryStatus.FAILED).one()
    assert failed.attempts == 1 and "MOBILE_NUMBER_ILLEGAL" in failed.last_error

    monkeypatch.setitem(app.config, "SMS_ACCESS_KEY_SECRET", "a-wrong-secret")
    new = Notification(
        dedupe_key="manual:1", rule="plan_opening", channel=Channel.SMS, worker_id=town.workers[0].id,
        address=town.workers[0].phone, subject="s", body="b", template_code="SMS_100001", params={},
        status=DeliveryStatus.PENDING, next_attempt_at=now,
    )  # fmt: skip
    db.session.add(new)
    db.session.commit()
    assert dispatch(db.session, now)["failed"] == 1
    assert sms.refused[-1][0] == "SignatureDoesNotMatch"  # the stand-in checks the signature
    monkeypatch.setitem(app.config, "SMS_ACCESS_KEY_SECRET", SECRET)

    new.status, new.dedupe_key, new.attempts = DeliveryStatus.PENDING, "manual:2", 0
    db.session.commit()
    before = len(sms.accepted)
    sms.delay = 3.0  # longer than SMS_TIMEOUT_SECONDS: the gateway takes it but the answer never comes
    assert dispatch(db.session, now)["uncertain"] == 1
    sms.delay = 0
    assert dispatch(db.session, now + timedelta(hours=1)) == {
        "sent": 0, "pending": 0, "failed": 0, "uncertain": 0, "abandoned": 0,
    }  # fmt: skip
    assert len(sms.accepted) == before + 1  # the gateway did take it once, and it was not sent again


def test_the_cli_runs_the_rules_and_the_sending_once(app, db, town, sms):
    sms.clock = lambda: __import__("exam_server").localday.utcnow()
    result = app.test_cli_runner().invoke(args=["notify", "run"])
    assert result.exit_code == 0, result.output
    assert "plan_opening" in result.output and "sent" in result.output
    renew = app.test_cli_runner().invoke(args=["certificates", "renew"])
    assert renew.exit_code == 0 and "renewal requirements" in renew.output
