"""Kiosks, accounts and the audit log: scope, one-time secrets and an audit entry for every action."""

from __future__ import annotations

import re
from datetime import timedelta

import time_machine
from sqlalchemy import select

from exam_server.models import AuditLog, Kiosk, Role, User, utcnow
from exam_server.services.exam import kiosks
from tests import factories


def actions(db) -> list[str]:
    return db.session.scalars(
        select(AuditLog.action).where(AuditLog.action.not_in(["login"])).order_by(AuditLog.id)
    ).all()


def test_kiosk_token_is_shown_once_and_works(db, world, login, app):
    admin = login(world.county_admin_a)
    page = admin.post(
        "/console/kiosks", data={"name": "兰山区考点2号机", "location": "一楼大厅", "county_id": str(world.county_a.id)}
    )
    assert page.status_code == 200 and page.headers["Cache-Control"] == "no-store"
    token = re.search(r'id="kiosk-token">([^<]+)<', page.get_data(as_text=True)).group(1)
    kiosk = db.session.scalars(select(Kiosk)).one()
    assert kiosk.county_id == world.county_a.id and kiosks.authenticate(db.session, token).id == kiosk.id
    later = admin.get("/console/kiosks").get_data(as_text=True)
    assert token not in later and kiosk.token_prefix in later and "从未连接" in later
    assert actions(db) == ["kiosk_registered"]
    assert db.session.scalar(select(AuditLog.ip).where(AuditLog.action == "kiosk_registered")) == "127.0.0.1"


def test_kiosk_disable_enable_and_last_seen(db, world, login):
    kiosk, token = kiosks.register(db.session, "兰山区考点1号机", county_id=world.county_a.id)
    kiosk.last_seen_at = utcnow() - timedelta(minutes=3)
    db.session.commit()
    admin = login(world.county_admin_a)
    assert "兰山区考点1号机" in admin.get("/console/kiosks").get_data(as_text=True)
    assert admin.post(f"/console/kiosks/{kiosk.id}/disable").status_code == 302
    db.session.refresh(kiosk)
    assert not kiosk.enabled
    try:
        kiosks.authenticate(db.session, token)
        raise AssertionError("a disabled kiosk was accepted")
    except kiosks.KioskAuthError as exc:
        assert exc.code == "kiosk_disabled"
    admin.post(f"/console/kiosks/{kiosk.id}/enable")
    db.session.refresh(kiosk)
    assert kiosk.enabled
    entries = db.session.scalars(select(AuditLog).where(AuditLog.action.in_(["kiosk_disabled", "kiosk_enabled"]))).all()
    assert [(e.action, e.user_id) for e in entries] == [
        ("kiosk_disabled", world.county_admin_a.id),
        ("kiosk_enabled", world.county_admin_a.id),
    ]


def test_county_admin_sees_and_touches_only_its_kiosks(db, world, login, kiosk_b):
    admin = login(world.county_admin_a)
    assert "罗庄区考点1号机" not in admin.get("/console/kiosks").get_data(as_text=True)
    assert admin.post(f"/console/kiosks/{kiosk_b.id}/disable").status_code == 404
    db.session.refresh(kiosk_b)
    assert kiosk_b.enabled
    assert "罗庄区考点1号机" in login(world.city).get("/console/kiosks").get_data(as_text=True)


def test_duplicate_kiosk_name_is_refused(db, world, login, kiosk_b):
    page = login(world.city).post("/console/kiosks", data={"name": kiosk_b.name, "county_id": "0"})
    assert "已存在" in page.get_data(as_text=True) and 'id="kiosk-token"' not in page.get_data(as_text=True)


def new_user(client, **fields):
    return client.post("/console/users/new", data={"username": "new_user", "display_name": "新用户"} | fields)


def shown_password(response) -> str:
    assert response.status_code == 200, response.get_data(as_text=True)[:1000]
    assert response.headers["Cache-Control"] == "no-store"
    return re.search(r'id="new-password">([^<]+)<', response.get_data(as_text=True)).group(1)


def test_city_creates_any_role_and_the_password_works(app, db, world, login):
    city = login(world.city)
    password = shown_password(new_user(city, role="county", county_id=str(world.county_b.id)))
    user = db.session.scalars(select(User).where(User.username == "new_user")).one()
    assert user.role is Role.COUNTY and user.county_id == world.county_b.id
    assert login(user, password).get("/console/").status_code == 200
    entry = db.session.scalars(select(AuditLog).where(AuditLog.action == "user_created")).one()
    assert entry.user_id == world.city.id and entry.target_id == str(user.id) and "password" not in str(entry.detail)


def test_county_admin_creates_only_enterprise_managers_and_reviewers_in_its_county(db, world, login):
    admin = login(world.county_admin_a)
    page = new_user(admin, role="city", county_id="0")
    assert page.status_code == 200 and db.session.scalar(select(User).where(User.username == "new_user")) is None
    refused = new_user(admin, role="enterprise", county_id="0", enterprise_code=world.enterprise_b.credit_code)
    assert "不在您的管理范围内" in refused.get_data(as_text=True)
    shown_password(new_user(admin, role="enterprise", county_id="0", enterprise_code=world.enterprise_a.credit_code))
    shown_password(new_user(admin, username="reviewer_a", role="reviewer", county_id=str(world.county_a.id)))
    reviewer = db.session.scalars(select(User).where(User.username == "reviewer_a")).one()
    assert reviewer.county_id == world.county_a.id
    listing = admin.get("/console/users").get_data(as_text=True)
    assert "new_user" in listing and "reviewer_a" in listing and "ent_a" in listing
    assert "city_admin" not in listing and "reviewer_1" not in listing


def test_deactivate_and_reset_end_sessions(db, world, login):
    target = world.enterprise_admin_a
    session = login(target)
    admin = login(world.county_admin_a)
    assert admin.post(f"/console/users/{target.id}/deactivate").status_code == 302
    assert session.get("/console/").status_code == 302  # logged out
    admin.post(f"/console/users/{target.id}/activate")
    session = login(target)
    password = shown_password(admin.post(f"/console/users/{target.id}/password"))
    assert session.get("/console/").status_code == 302
    assert login(target, password).get("/console/").status_code == 200
    assert actions(db)[-3:] == ["user_deactivated", "user_activated", "user_password_reset"]


def test_nobody_deactivates_themselves_and_counties_keep_to_their_users(db, world, login):
    admin = login(world.county_admin_a)
    assert admin.post(f"/console/users/{world.county_admin_a.id}/deactivate").status_code == 404
    assert admin.post(f"/console/users/{world.city.id}/deactivate").status_code == 404
    assert admin.post(f"/console/users/{world.reviewer.id}/password").status_code == 404
    other = factories.user(db.session, Role.ENTERPRISE, enterprise_obj=world.enterprise_b, username="ent_b")
    db.session.commit()
    assert admin.post(f"/console/users/{other.id}/deactivate").status_code == 404
    city = login(world.city)
    city.post(f"/console/users/{world.city.id}/deactivate")
    db.session.refresh(world.city)
    assert world.city.active


@time_machine.travel("2026-12-01 20:00:00+00:00")  # 04:00 on 2 December in Beijing: UTC's date is another day
def test_audit_log_filters_and_scope(db, world, login):
    city = login(world.city)
    city.post("/console/kiosks", data={"name": "市级考点", "county_id": "0"})
    county = login(world.county_admin_a)
    county.post("/console/kiosks", data={"name": "兰山考点", "county_id": str(world.county_a.id)})

    def rows(client, **query):
        html = client.get("/console/audit", query_string=query).get_data(as_text=True)
        return re.findall(r'<td class="actor">([a-z_0-9]+)</td>\s*<td[^>]*>([^<]+)</td>', html)

    assert rows(city, action="kiosk_registered") == [("county_a", "注册终端"), ("city_admin", "注册终端")]
    assert rows(city, action="kiosk_registered", username="city_admin") == [("city_admin", "注册终端")]
    today = "2026-12-02"  # the filter reads bureau days (tests/console_stats/test_bureau_day.py)
    assert len(rows(city, action="kiosk_registered", date_from=today, date_to=today)) == 2
    assert rows(city, action="kiosk_registered", date_to="2000-01-01") == []
    assert {user for user, _ in rows(county)} == {"county_a"}  # a county sees its own people only
