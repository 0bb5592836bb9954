"""Every console route x every role, generated from the url_map and checked against nav.ACCESS."""

from __future__ import annotations

import re

import pytest

from exam_server import create_app
from exam_server.models import Role
from exam_server.services.policy import ACCESS
from tests import factories
from tests.conftest import FreshContextClient
from tests.console.conftest import add_plan
from tests.console.helpers import console_rules

ROLES = ("anonymous", *(role.value for role in Role))
MISSING_ID = 999999
MISSING_TOKEN = "0" * 32


RULES = console_rules()
CASES = [pytest.param(rule, role, id=f"{rule.endpoint}[{rule.rule}]-{role}") for rule in RULES for role in ROLES]


def test_every_console_endpoint_is_in_the_access_table():
    missing = sorted({r.endpoint for r in RULES} - set(ACCESS))
    assert not missing, f"add these endpoints to ACCESS in exam_server/services/policy.py: {missing}"


@pytest.fixture(scope="module")
def tenants(app):
    """One world for the whole module (requests here change nothing), and a logged-in client per role."""
    from exam_server.extensions import db

    with app.app_context():
        world = factories.World.build(db.session)
        plan = add_plan(db.session, county_id=world.county_a.id)
        samples = {"worker_id": world.workers_a[0].id, "plan_id": plan.id, "user_id": world.enterprise_admin_a.id}
        db.session.commit()
        users = {
            Role.CITY.value: world.city,
            Role.COUNTY.value: world.county_admin_a,
            Role.ENTERPRISE.value: world.enterprise_admin_a,
            Role.REVIEWER.value: world.reviewer,
        }
        clients = {"anonymous": app.test_client()}
        for role, user in users.items():
            clients[role] = app.test_client()
            response = clients[role].post(
                "/auth/login", data={"username": user.username, "password": factories.PASSWORD}
            )
            assert response.status_code == 302
    yield clients, samples
    with app.app_context():
        db.session.remove()
        factories.empty_all_tables(db)


def _url(app, rule, values: dict) -> str:
    with app.test_request_context():
        from flask import url_for

        return url_for(rule.endpoint, **values)


def _arguments(rule, samples: dict, real: bool) -> dict:
    values = {}
    for name in rule.arguments:
        converter = type(rule._converters[name]).__name__
        if converter == "IntegerConverter":
            values[name] = samples.get(name, MISSING_ID) if real else MISSING_ID
        else:
            values[name] = MISSING_TOKEN
    return values


@pytest.mark.parametrize(("rule", "role"), CASES)
def test_route_admits_only_its_roles(app, tenants, rule, role):
    clients, samples = tenants
    method = "GET" if "GET" in rule.methods else "POST"
    url = _url(app, rule, _arguments(rule, samples, real=method == "GET"))
    response = clients[role].open(url, method=method, data={})
    if role == "anonymous":  # a page sends the browser to the login form; a JSON route answers 401
        if response.status_code == 401:
            assert response.get_json()["error"] == "unauthorized"
        else:
            assert response.status_code == 302, response.status
            assert "/auth/login" in response.headers["Location"]
    elif Role(role) not in ACCESS[rule.endpoint]:
        assert response.status_code == 403, f"{role} opened {url}: {response.status}"
    else:
        assert response.status_code < 500 and response.status_code not in (401, 403), response.status
        assert "/auth/login" not in response.headers.get("Location", "")


@pytest.fixture(scope="module")
def strict_client(app, database_url, tenants, tmp_path_factory):
    """A client of an app with CSRF protection on, logged in as the city administrator."""
    strict = create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "k",
            "SQLALCHEMY_DATABASE_URI": database_url,
            "DATA_DIR": str(tmp_path_factory.mktemp("strict")),
            "LOGIN_RATE_LIMIT": "1000 per minute",
        }
    )
    strict.test_client_class = FreshContextClient
    client = strict.test_client()
    page = client.get("/auth/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    response = client.post(
        "/auth/login", data={"username": "city_admin", "password": factories.PASSWORD, "csrf_token": token}
    )
    assert response.status_code == 302
    yield strict, client
    with strict.app_context():
        from exam_server.extensions import db

        db.session.remove()
        db.engine.dispose()


POST_RULES = [pytest.param(rule, id=f"{rule.endpoint}[{rule.rule}]") for rule in RULES if "POST" in rule.methods]


@pytest.mark.parametrize("rule", POST_RULES)
def test_every_console_form_needs_a_csrf_token(strict_client, tenants, rule):
    strict, client = strict_client
    url = _url(strict, rule, _arguments(rule, tenants[1], real=False))
    response = client.post(url, data={"name": "无令牌"})
    assert response.status_code == 400, f"{url} accepted a POST without a CSRF token"
