"""Login, CSRF, rate limiting, session invalidation and role-scoped views."""

import re

import pytest
from sqlalchemy import select

from exam_server.models import AuditLog
from tests import factories


def test_login_redirects_and_audits(client, db, world):
    response = client.post("/auth/login", data={"username": "city_admin", "password": factories.PASSWORD})
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/console/")
    actions = db.session.scalars(select(AuditLog.action)).all()
    assert actions == ["login"]


def test_wrong_password_is_refused_and_audited(client, db, world):
    response = client.post("/auth/login", data={"username": "city_admin", "password": "wrong-password-1"})
    assert response.status_code == 200
    assert "用户名或密码错误" in response.get_data(as_text=True)
    assert db.session.scalars(select(AuditLog.action)).all() == ["login_failed"]


def test_html_route_redirects_to_login_and_json_gets_401(client, world):
    page = client.get("/console/")
    assert page.status_code == 302 and "/auth/login" in page.headers["Location"]
    api_like = client.get("/console/", headers={"Accept": "application/json"})
    assert api_like.status_code == 401
    assert api_like.get_json()["error"] == "unauthorized"


def test_next_parameter_cannot_leave_the_site(client, world):
    response = client.post(
        "/auth/login?next=//evil.example/x", data={"username": "city_admin", "password": factories.PASSWORD}
    )
    assert response.headers["Location"].endswith("/console/")


def test_password_change_ends_other_sessions(app, db, world, login):
    first = login(world.city)
    second = login(world.city)
    response = second.post(
        "/auth/password",
        data={"current": factories.PASSWORD, "new": "brand-new-pass-77", "confirm": "brand-new-pass-77"},
    )
    assert response.status_code == 302
    assert second.get("/console/").status_code == 200  # the session that changed it stays
    assert first.get("/console/").status_code == 302  # the other one is logged out


def test_scope_limits_dashboard_counts(db, world, login):
    def counts(client):
        html = client.get("/console/").get_data(as_text=True)
        return [int(n) for n in re.findall(r'class="fig">(\d+)<', html)][:2]  # enterprises, workers

    assert counts(login(world.city)) == [2, 5]
    assert counts(login(world.county_admin_a)) == [1, 3]
    assert counts(login(world.enterprise_admin_a)) == [1, 3]


@pytest.fixture()
def strict_app(make_app):
    """An app with CSRF and rate limiting on, on the same database."""
    return make_app(LOGIN_RATE_LIMIT="3 per minute")


def test_login_form_requires_csrf_token(strict_app, world):
    client = strict_app.test_client()
    response = client.post("/auth/login", data={"username": "city_admin", "password": factories.PASSWORD})
    assert response.status_code == 400
    page = client.get("/auth/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    response = client.post(
        "/auth/login", data={"username": "city_admin", "password": factories.PASSWORD, "csrf_token": token}
    )
    assert response.status_code == 302


def test_login_is_rate_limited(strict_app, world):
    strict_app.config["WTF_CSRF_ENABLED"] = False
    client = strict_app.test_client()
    codes = [
        client.post("/auth/login", data={"username": "city_admin", "password": "bad-guess-123"}).status_code
        for _ in range(4)
    ]
    assert codes == [200, 200, 200, 429]
