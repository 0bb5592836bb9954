"""The bureau's day on both sides of Beijing midnight (16:00 UTC), with the clock frozen, never the real one."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, date, datetime, timedelta

import openpyxl
import pytest
import time_machine

from exam_server import citizen_id as cid
from exam_server import localday
from exam_server.demo import city_generator
from exam_server.demo.synthetic import citizen_id as synthetic_id
from exam_server.models import Certificate, ExamRequirement, RequirementStatus
from exam_server.services.exam import kiosks, sittings
from exam_server.services.reporting import exports
from exam_server.services.reporting import statistics as stats
from tests.api.conftest import KioskClient
from tests.console_stats.conftest import finish_real_sitting, start_real_sitting

UTC = UTC
MIDNIGHT = datetime(2026, 12, 1, 16, 0, tzinfo=UTC)  # 2026-12-02 00:00 in Beijing
BEFORE, AFTER = MIDNIGHT - timedelta(minutes=1), MIDNIGHT + timedelta(minutes=1)
PASSED_0217 = datetime(2026, 12, 1, 18, 17, tzinfo=UTC)  # 2026-12-02 02:17 in Beijing, still 1 December in UTC


@pytest.mark.parametrize(
    ("instant", "day"),
    [
        (BEFORE, date(2026, 12, 1)),
        (AFTER, date(2026, 12, 2)),
        (datetime(2026, 12, 31, 15, 59, tzinfo=UTC), date(2026, 12, 31)),
        (datetime(2026, 12, 31, 16, 0, tzinfo=UTC), date(2027, 1, 1)),
    ],
)
def test_an_instant_falls_on_the_bureau_day(instant, day):
    assert localday.local_date(instant) == day
    with time_machine.travel(instant, tick=False):
        assert localday.today() == day
        assert localday.utcnow() == instant


def test_days_and_months_begin_at_beijing_midnight():
    assert localday.day_bounds(date(2026, 12, 2)) == (MIDNIGHT, MIDNIGHT + timedelta(days=1))
    assert localday.day_bounds(date(2026, 12, 1), date(2026, 12, 2))[1] == MIDNIGHT + timedelta(days=1)
    assert localday.month_bounds("2026-12") == (
        datetime(2026, 11, 30, 16, tzinfo=UTC),
        datetime(2026, 12, 31, 16, tzinfo=UTC),
    )
    assert localday.local_month(datetime(2026, 12, 31, 15, 59, tzinfo=UTC)) == "2026-12"  # 23:59 on 31 December
    assert localday.local_month(datetime(2026, 12, 31, 16, 0, tzinfo=UTC)) == "2027-01"
    assert localday.local_month(datetime(2026, 11, 30, 15, 59, tzinfo=UTC)) == "2026-11"  # 23:59 on a month's last day


def test_a_configured_zone_moves_the_day_and_an_unknown_one_is_refused():
    try:
        localday.configure("Asia/Urumqi")  # UTC+6
        assert localday.local_date(AFTER) == date(2026, 12, 1)
        assert localday.day_start(date(2026, 12, 2)) == datetime(2026, 12, 1, 18, tzinfo=UTC)
    finally:
        localday.configure(localday.DEFAULT_ZONE)
    with pytest.raises(ValueError, match="unknown time zone"):
        localday.load_zone("Mars/Olympus")


def test_the_server_refuses_an_unknown_zone_at_start(monkeypatch):
    from exam_server import create_app
    from exam_server.config import ConfigError

    monkeypatch.setenv("EXAM_TIMEZONE", "Beijing")
    with pytest.raises(ConfigError, match="EXAM_TIMEZONE"):
        create_app({"TESTING": True, "SECRET_KEY": "k"})


def test_a_certificate_passed_at_0217_beijing_carries_that_date_everywhere(app, db, city, login):
    """Kiosk result, console worker page, both exports and the public verification page say 2026-12-02."""
    requirement = city.requirements["w11"]  # pending in P2, whose window is open at the frozen instant
    with time_machine.travel(PASSED_0217, tick=False):
        kiosk, token = kiosks.register(db.session, "零点考点", location="测试考点")
        db.session.commit()
        sitting = _start(db.session, requirement, kiosk.id, PASSED_0217 - timedelta(minutes=20))
        finish_real_sitting(db.session, sitting, correct=True, now=PASSED_0217)
        certificate = db.session.query(Certificate).filter_by(sitting_id=sitting.id).one()
        assert certificate.issued_on == date(2026, 12, 2)
        assert certificate.valid_until == date(2026, 12, 2) + timedelta(days=sitting.plan.certificate_valid_days)

        result = KioskClient(app, token, kiosk.id).get(f"/api/v1/sittings/{sitting.id}").get_json()["result"]
        assert result["certificate"]["issued_on"] == "2026-12-02"
        assert result["certificate"]["number"] == certificate.number

        admin = login(city.users["city"])
        page = admin.get(f"/console/workers/{requirement.worker_id}").get_data(as_text=True)
        assert "发证日期 2026-12-02" in page

        rows = list(csv.reader(io.StringIO(admin.get("/console/exports/results.csv").get_data().decode("utf-8-sig"))))
        header = rows[0]
        body = {row[header.index("身份证号")].lstrip("\t"): row for row in rows[1:]}
        row = body[city.workers["w11"].citizen_id]
        assert row[header.index("发证日期")] == "2026-12-02"
        assert row[header.index("证书编号")] == certificate.number
        assert row[header.index("合格时间")] == "2026-12-02 02:17"

        sheet = openpyxl.load_workbook(io.BytesIO(admin.get("/console/exports/results.xlsx").get_data())).active
        cells = [[c.value for c in r] for r in sheet.iter_rows(min_row=3)]  # below the title and scope lines
        xrow = next(r for r in cells[1:] if r[cells[0].index("身份证号")] == city.workers["w11"].citizen_id)
        issued_cell = xrow[cells[0].index("发证日期")]
        assert issued_cell == datetime(2026, 12, 2)  # a real date cell, shown as yyyy-mm-dd
        disposition = admin.get("/console/exports/results.csv").headers["Content-Disposition"]
        assert "20261202.csv" in disposition  # the file is named for the bureau's day, not UTC's 1 December

        verify = app.test_client().get(f"/verify/{certificate.verify_code}").get_data(as_text=True)
        assert "<dd>2026-12-02</dd>" in verify and "此证书真实有效" in verify


@pytest.mark.parametrize(("instant", "expired"), [(BEFORE, False), (AFTER, True)])
def test_a_certificate_expires_when_the_bureau_day_passes_its_last_day(app, db, city, instant, expired):
    requirement = city.requirements["w11"]
    sitting = start_real_sitting(db.session, requirement, datetime(2026, 6, 1, 2, tzinfo=UTC))
    finish_real_sitting(db.session, sitting, correct=True, now=datetime(2026, 6, 1, 2, 20, tzinfo=UTC))
    certificate = db.session.query(Certificate).filter_by(sitting_id=sitting.id).one()
    certificate.valid_until = date(2026, 12, 1)  # valid through 1 December, Beijing time
    db.session.commit()
    with time_machine.travel(instant, tick=False):
        page = app.test_client().get(f"/verify/{certificate.verify_code}").get_data(as_text=True)
    assert ("此证书已过有效期" in page) is expired
    assert ("此证书真实有效" in page) is not expired


@pytest.mark.parametrize(("instant", "accepted"), [(BEFORE, False), (AFTER, True)])
def test_a_birth_date_is_in_the_future_until_the_bureau_day_arrives(instant, accepted):
    born_2_december = "11010220261202001"
    value = born_2_december + cid.check_digit(born_2_december)
    with time_machine.travel(instant, tick=False):
        if accepted:
            assert cid.normalise_citizen_id(value)[1] == date(2026, 12, 2)
        else:
            with pytest.raises(cid.InvalidCitizenId, match="不合理"):
                cid.normalise_citizen_id(value)


def test_generated_people_and_the_city_anchor_use_the_bureau_day():
    import random

    with time_machine.travel(AFTER, tick=False):
        anchor = city_generator.anchor_of(None)
        youngest = synthetic_id(random.Random(1), "110102", min_age=0, max_age=1)
    assert anchor == MIDNIGHT and localday.local_date(anchor) == date(2026, 12, 2)
    assert cid.normalise_citizen_id(youngest, today=date(2026, 12, 2))[1] <= date(2026, 12, 2)


def test_evidence_folders_are_named_for_the_bureau_day(app, db):
    from exam_server.services.faces import face_service

    frame = _jpeg()
    assert face_service.save_evidence(frame, BEFORE).startswith("evidence/2026/12/01/")
    assert face_service.save_evidence(frame, AFTER).startswith("evidence/2026/12/02/")


def test_export_file_names_use_the_bureau_day(db, city):
    place = stats.resolve_place(db.session, city.users["city"])
    assert exports.filename(place, "成绩", "csv", BEFORE).endswith("_20261201.csv")
    assert exports.filename(place, "成绩", "csv", AFTER).endswith("_20261202.csv")


def test_monthly_figures_split_at_beijing_midnight_of_the_year_end(db, city):
    """23:59 Beijing on 31 December is December's; a minute later is January's, in SQL on either database."""
    user = city.users["city"]
    year_end = datetime(2026, 12, 31, 15, 59, tzinfo=UTC)
    for key, at in (("w11", year_end), ("w9", year_end + timedelta(minutes=1))):
        row = city.requirements[key]
        db.session.query(ExamRequirement).filter_by(id=row.id).update(
            {"status": RequirementStatus.FAILED, "first_sat_at": at, "attempts": 1, "passed_at": None}
        )
    db.session.commit()
    months = {
        m.month: m.rates.sat
        for m in stats.monthly_first_sat(db.session, user, stats.resolve_place(db.session, user), stats.Filters())
    }
    assert months["2026-12"] == 1 and months["2027-01"] == 1


def test_the_audit_log_day_filter_reads_bureau_days(db, world, login):
    """Entries written a minute before and after Beijing midnight fall on two days."""
    with time_machine.travel(BEFORE, tick=False) as clock:
        admin = login(world.city)  # a session is not valid before it was made: log in at the earlier instant
        admin.post("/console/kiosks", data={"name": "前一天考点", "county_id": "0"})
        clock.move_to(AFTER)
        admin.post("/console/kiosks", data={"name": "后一天考点", "county_id": "0"})

    def count(day: str) -> int:
        html = admin.get(
            "/console/audit", query_string={"action": "kiosk_registered", "date_from": day, "date_to": day}
        ).get_data(as_text=True)
        return len(re.findall(r"注册终端</td>", html))

    assert (count("2026-12-01"), count("2026-12-02")) == (1, 1)


def _start(session, requirement, kiosk_id, now):
    from exam_server.models import CheckIn, CheckInStatus
    from exam_server.services.exam import question_store

    question_store.load_bundled(session)
    requirement = session.get(ExamRequirement, requirement.id)
    checkin = CheckIn(
        worker_id=requirement.worker_id,
        plan_id=requirement.plan_id,
        kiosk_id=kiosk_id,
        challenge="blink",
        token_hash=kiosks.hash_token(f"day-{requirement.id}-{now.timestamp()}"),
        status=CheckInStatus.PASSED,
        created_at=now,
        expires_at=now + timedelta(minutes=5),
    )
    session.add(checkin)
    session.flush()
    sitting = sittings.start(session, checkin, requirement, kiosk_id, now)
    checkin.sitting_id = sitting.id
    session.commit()
    return sitting


def _jpeg() -> bytes:
    import cv2
    import numpy as np

    ok, data = cv2.imencode(".jpg", np.full((64, 64, 3), 128, np.uint8))
    assert ok
    return data.tobytes()
