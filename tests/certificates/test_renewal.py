"""Expiry and renewal: a certificate running out makes a renewal requirement and, once past, counts as not qualified."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta

import time_machine

from exam_server import localday
from exam_server.models import Certificate, ExamRequirement, RequirementStatus
from exam_server.services.admin import renewals
from exam_server.services.exam import checkin
from exam_server.services.reporting import dashboard
from exam_server.services.reporting import statistics as stats
from tests.certificates.conftest import ISSUED_AT, build_holders, pass_exam, plan
from tests.console_stats.conftest import add_requirement


def plan_rates(session, user, plan_id) -> stats.Rates:
    return stats.counts_by(session, user, stats.Place(), stats.Filters(), "plan").get(plan_id, stats.Rates())


def beijing(day, hour=0, minute=0) -> datetime:
    """Return the instant of a wall-clock time on a bureau day."""
    return localday.day_start(day) + timedelta(hours=hour, minutes=minute)


def test_crossing_the_expiry_date_makes_the_renewal_requirement_and_changes_the_statistics(app, db, monkeypatch):
    monkeypatch.setitem(app.config, "CERTIFICATE_RENEWAL_DAYS", 30)
    holders = build_holders(db.session, valid_days=200)
    city = holders.users["city"]
    worker = holders.workers[0]
    certificate = pass_exam(db.session, holders.requirement(db.session, worker))
    passed_requirement = holders.requirement(db.session, worker)
    assert certificate.requirement_id == passed_requirement.id
    last_day = certificate.valid_until  # 2027-06-20: valid through that whole bureau day
    current = plan(
        db.session,
        "2027年度危险化学品从业人员安全培训考试",
        datetime(2027, 1, 1, tzinfo=UTC),
        datetime(2027, 12, 31, tzinfo=UTC),
        county_id=holders.enterprise.county_id,
    )
    db.session.commit()
    before_p1, before_p2 = plan_rates(db.session, city, holders.plan.id), plan_rates(db.session, city, current.id)
    assert (before_p1.required, before_p1.sat, before_p1.passed) == (4, 1, 1)
    assert before_p2.required == 0

    early = renewals.run(db.session, beijing(last_day - timedelta(days=31), 12))
    assert early == {"requirements_expired": 0, "renewals": 0, "renewals_without_plan": 0}

    counts = renewals.run(db.session, beijing(last_day - timedelta(days=30), 12))  # 30 days left: due
    assert counts["renewals"] == 1 and counts["requirements_expired"] == 0
    renewal = db.session.get(ExamRequirement, db.session.get(Certificate, certificate.id).renewal_requirement_id)
    assert (renewal.plan_id, renewal.worker_id, renewal.status, renewal.round_no) == (
        current.id,
        worker.id,
        RequirementStatus.PENDING,
        1,
    )
    assert (renewal.county_id, renewal.enterprise_id) == (holders.enterprise.county_id, holders.enterprise.id)
    after_p2 = plan_rates(db.session, city, current.id)
    assert (after_p2.required, after_p2.sat, after_p2.participation) == (1, 0, 0.0)  # counted again: not yet sat
    assert renewals.run(db.session, beijing(last_day - timedelta(days=29)))["renewals"] == 0  # made once
    at_kiosk = checkin.open_requirement(db.session, worker, beijing(last_day - timedelta(days=29), 9))
    assert at_kiosk.id == renewal.id  # the kiosk now offers the renewal exam

    with time_machine.travel(beijing(last_day, 23, 59), tick=False):  # the last valid minute
        assert renewals.run(db.session)["requirements_expired"] == 0
        assert plan_rates(db.session, city, holders.plan.id).passed == 1
    with time_machine.travel(beijing(last_day + timedelta(days=1), 0, 1), tick=False):
        assert renewals.run(db.session)["requirements_expired"] == 1
        db.session.refresh(passed_requirement)
        assert passed_requirement.status is RequirementStatus.EXPIRED
        lapsed = plan_rates(db.session, city, holders.plan.id)
        assert (lapsed.required, lapsed.sat, lapsed.passed) == (4, 1, 0)  # sat, no longer qualified
        assert lapsed.pass_rate == 0.0 and before_p1.pass_rate == 1.0
        figures = dashboard.figures(db.session, city)
        assert (figures["required"], figures["pending"]) == (1, 1)  # the open plan's figures: the renewal
        assert renewals.run(db.session)["requirements_expired"] == 0  # once


def test_a_renewal_under_the_certificates_own_plan_is_its_next_round(app, db, monkeypatch):
    holders = build_holders(db.session, valid_days=60)
    holders.plan.closes_at = ISSUED_AT + timedelta(days=400)  # a long plan outlives the certificates it issues
    worker = holders.workers[0]
    first = pass_exam(db.session, holders.requirement(db.session, worker))
    renewals.run(db.session, ISSUED_AT + timedelta(days=1))  # 59 days left, within the default 90
    rounds = (
        db.session.query(ExamRequirement)
        .filter_by(plan_id=holders.plan.id, worker_id=worker.id)
        .order_by(ExamRequirement.round_no)
        .all()
    )
    assert [(r.round_no, r.status) for r in rounds] == [(1, RequirementStatus.PASSED), (2, RequirementStatus.PENDING)]
    assert checkin.open_requirement(db.session, worker, ISSUED_AT + timedelta(days=2)).id == rounds[1].id

    second = pass_exam(db.session, rounds[1], ISSUED_AT + timedelta(days=3))
    assert second.requirement_id == rounds[1].id and second.valid_until > first.valid_until
    rates = plan_rates(db.session, holders.users["city"], holders.plan.id)
    assert (rates.required, rates.sat, rates.passed) == (5, 2, 2)
    with time_machine.travel(beijing(first.valid_until + timedelta(days=1), 8), tick=False):
        result = renewals.run(db.session)
    assert result["requirements_expired"] == 1
    db.session.expire_all()
    assert db.session.get(Certificate, first.id).renewal_requirement_id == rounds[1].id  # renewed once
    third = db.session.get(ExamRequirement, db.session.get(Certificate, second.id).renewal_requirement_id)
    assert result["renewals"] == 1 and third.round_no == 3  # the new 60-day certificate has 2 days left
    rates = plan_rates(db.session, holders.users["city"], holders.plan.id)
    assert (rates.required, rates.sat, rates.passed) == (6, 2, 1)


def test_a_requirement_the_worker_can_still_sit_is_the_renewal_and_a_newer_certificate_needs_none(app, db):
    holders = build_holders(db.session, valid_days=60)
    current = plan(
        db.session, "2027年度考试", ISSUED_AT + timedelta(days=1), ISSUED_AT + timedelta(days=300)
    )  # city-wide: it covers both enterprises
    already = add_requirement(db.session, holders.workers[1], current)
    db.session.commit()
    linked = pass_exam(db.session, holders.requirement(db.session, holders.workers[1]))
    holder = holders.workers[2]
    old = pass_exam(db.session, holders.requirement(db.session, holder))
    newer_plan = plan(db.session, "补考计划", ISSUED_AT, ISSUED_AT + timedelta(days=5), valid_days=700)
    newer = pass_exam(db.session, add_requirement(db.session, holder, newer_plan), ISSUED_AT + timedelta(hours=2))
    before = db.session.query(ExamRequirement).count()

    renewals.run(db.session, ISSUED_AT + timedelta(days=2))
    db.session.expire_all()
    assert db.session.get(Certificate, linked.id).renewal_requirement_id == already.id
    assert db.session.get(Certificate, old.id).renewal_requirement_id is None  # superseded by the newer one
    assert db.session.get(Certificate, newer.id).renewal_requirement_id is None  # 700 days left
    assert db.session.query(ExamRequirement).count() == before  # nothing added: the existing one is the renewal


def test_the_console_lists_expiring_certificates_per_scope_and_exports_them(app, db, login):
    holders = build_holders(db.session, valid_days=45)
    mine = pass_exam(db.session, holders.requirement(db.session, holders.workers[0]))
    theirs = pass_exam(db.session, holders.requirement(db.session, holders.outsider))
    with time_machine.travel(ISSUED_AT + timedelta(days=1), tick=False):
        manager = login(holders.users["manager"])
        html = manager.get("/console/certificates?within=30").get_data(as_text=True)
        assert mine.number not in html  # 44 days left
        html = manager.get("/console/certificates?within=60").get_data(as_text=True)
        assert mine.number in html and theirs.number not in html
        city_html = login(holders.users["city"]).get("/console/certificates?within=90").get_data(as_text=True)
        assert mine.number in city_html and theirs.number in city_html
        county_b = login(holders.users["county_b"]).get("/console/certificates?within=90").get_data(as_text=True)
        assert theirs.number in county_b and mine.number not in county_b
        assert manager.get(f"/console/certificates?within=90&enterprise={holders.other.id}").status_code == 404

        exported = manager.get("/console/certificates/expiring.csv?within=90")
        rows = list(csv.reader(io.StringIO(exported.get_data().decode("utf-8-sig"))))
        assert rows[0][:3] == ["企业名称", "姓名", "身份证号"]
        assert [row[4] for row in rows[1:]] == [mine.number]
        assert rows[1][rows[0].index("剩余天数")] == "44" and rows[1][rows[0].index("状态")] == "即将到期"
        english = manager.get("/console/certificates/expiring.csv?within=90", headers={"Accept-Language": "en"})
        rows = list(csv.reader(io.StringIO(english.get_data().decode("utf-8-sig"))))
        assert rows[1][rows[0].index("Status")] == "Expiring soon"  # the state in the export's language
        xlsx = manager.get("/console/certificates/expiring.xlsx?within=90")
        assert xlsx.status_code == 200 and xlsx.data[:2] == b"PK"
    with time_machine.travel(ISSUED_AT + timedelta(days=60), tick=False):
        manager = login(holders.users["manager"])  # the earlier session has long expired
        html = manager.get("/console/certificates?within=30").get_data(as_text=True)
        assert mine.number not in html  # expired: listed only when asked for
        assert mine.number in manager.get("/console/certificates?within=30&expired=1").get_data(as_text=True)


def test_an_expired_certificate_with_no_plan_in_its_window_is_renewed_once_one_opens(app, db):
    holders = build_holders(db.session, valid_days=20)
    worker = holders.workers[0]
    certificate = pass_exam(db.session, holders.requirement(db.session, worker))
    holders.plan.closes_at = ISSUED_AT + timedelta(hours=1)  # no plan open through the certificate's last days
    db.session.commit()
    after = localday.day_start(certificate.valid_until + timedelta(days=3))
    assert renewals.run(db.session, after) == {"requirements_expired": 1, "renewals": 0, "renewals_without_plan": 1}
    makeup = plan(db.session, "2027年第一季度补考", after, after + timedelta(days=60))
    db.session.commit()
    result = renewals.run(db.session, after + timedelta(hours=1))
    assert result == {"requirements_expired": 0, "renewals": 1, "renewals_without_plan": 0}
    renewal = db.session.get(Certificate, certificate.id).renewal_requirement
    assert (renewal.plan_id, renewal.status) == (makeup.id, RequirementStatus.PENDING)
