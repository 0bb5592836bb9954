"""Every worker route x everyone who is not that worker: console users, anonymous visitors, another worker.

The routes come from the url_map, so a new worker route is walked without being listed here. A worker
route opens only for a signed-in worker (services/policy.py ACCESS: the worker role alone), shows only
that worker's own rows, and a worker's session opens no console page.
"""

from __future__ import annotations

import pytest
from flask import url_for

from exam_server.models import Role, utcnow
from exam_server.services import policy
from exam_server.services.practice import drills, mock
from tests import factories
from tests.certificates.conftest import ISSUED_AT, pass_exam, plan
from tests.console.helpers import blueprint_rules, console_rules
from tests.console.test_policy_matrix import fingerprint
from tests.console_stats.conftest import add_requirement
from tests.worker.conftest import PIN, give_pin

RULES = blueprint_rules("worker")
OUTSIDERS = ("anonymous", *(role.value for role in Role))
CASES = [
    pytest.param(rule, who, method, id=f"{rule.endpoint}-{method}-{who}")
    for rule in RULES
    for method in sorted(rule.methods & {"GET", "POST"})
    for who in OUTSIDERS
]


def test_every_worker_route_is_open_to_workers_alone():
    assert len(RULES) >= 13
    assert {rule.endpoint for rule in RULES} >= policy.WORKER_OPEN
    for rule in RULES:
        if rule.endpoint in policy.WORKER_OPEN:
            assert rule.endpoint not in policy.ACCESS  # the sign-in pages: open to anyone, listed apart
            continue
        assert policy.ACCESS.get(rule.endpoint) == policy.WORKER, f"list {rule.endpoint} in ACCESS for workers"
    assert all(
        not endpoint.startswith("worker.") for endpoint, roles in policy.ACCESS.items() if roles != policy.WORKER
    )


@pytest.fixture(scope="module")
def people(app):
    """Worker A signed in; worker B with a certificate and a wrong answer; a console client of every role."""
    from exam_server.extensions import db

    with app.app_context():
        session = db.session
        world = factories.World.build(session)
        a, b = world.workers_a[0], world.workers_b[0]
        b.name = "罗越权乙"
        plan_b = plan(session, "罗庄越权考试计划", ISSUED_AT.replace(day=1), ISSUED_AT.replace(day=28))
        certificate = pass_exam(session, add_requirement(session, b, plan_b))
        give_pin(session, a)
        give_pin(session, b, "730461")
        category = drills.categories(session, b)[0].name
        drawn = drills.draw(session, b, category)
        wrong = next(c for c in "ABCDEF"[: len(drawn.item.options)] if c not in drawn.item.answer)
        drills.answer(session, b, drawn, wrong, drawn.key)
        b_mock = mock.start(session, b, utcnow())
        session.commit()
        b_facts = {
            "certificate_id": certificate.id,
            "mock_id": b_mock.id,
            "markers": [b.name, b.citizen_id, certificate.number, plan_b.name],
            "code": "unknown-sign-in-code-000",
        }
        clients = {"anonymous": app.test_client()}
        users = {
            Role.CITY.value: world.city,
            Role.COUNTY.value: world.county_admin_a,
            Role.ENTERPRISE.value: world.enterprise_admin_a,
            Role.REVIEWER.value: world.reviewer,
        }
        for role, user in users.items():
            clients[role] = app.test_client()
            response = clients[role].post(
                "/auth/login", data={"username": user.username, "password": factories.PASSWORD}
            )
            assert response.status_code == 302, role
        worker_a = app.test_client()
        assert worker_a.post("/worker/login", data={"citizen_id": a.citizen_id, "pin": PIN}).status_code == 302
    yield clients, worker_a, b_facts
    with app.app_context():
        db.session.remove()
        factories.empty_all_tables(db)


def _url(app, rule, b: dict) -> str:
    with app.test_request_context():
        return url_for(rule.endpoint, **{name: b[name] for name in rule.arguments})


@pytest.mark.parametrize(("rule", "who", "method"), CASES)
def test_no_one_but_a_signed_in_worker_opens_a_worker_page(app, people, rule, who, method):
    from exam_server.extensions import db

    clients, _, b = people
    url = _url(app, rule, b)
    with app.app_context():
        app.extensions["throttle"].storage.reset()  # each case counts its own failed sign-ins
    with app.app_context():
        before = fingerprint(db.session)
    response = clients[who].get(url) if method == "GET" else clients[who].post(url, data={"pin": "730461"})
    with app.app_context():
        after = fingerprint(db.session)
    if rule.endpoint == policy.WORKER_SIGN_IN:
        assert response.status_code == 200  # the sign-in page itself (a failed sign-in is audited)
        return
    if rule.endpoint == policy.WORKER_SIGN_IN_CODE:
        assert response.status_code == 404  # an unknown code signs no one in (the failure is audited and counted)
        return
    if rule.endpoint == "worker.kiosk":
        assert response.status_code == 400  # no kiosk UI to go back to: no kiosk mode (tests/worker/test_kiosk_mode.py)
        return
    assert response.status_code == 302 and response.headers["Location"].endswith("/worker/login"), response.status
    assert before == after, f"{who} changed the database through {method} {url}"


@pytest.mark.parametrize("rule", RULES, ids=lambda r: r.endpoint)
def test_a_worker_never_reaches_another_workers_data(app, people, rule):
    from exam_server.extensions import db

    _, worker_a, b = people
    url = _url(app, rule, b)
    with app.app_context():
        app.extensions["throttle"].storage.reset()
    for method in sorted(rule.methods & {"GET", "POST"}):
        if rule.endpoint in ("worker.logout", "worker.kiosk_end"):
            continue  # walked last, below: it ends the session the other routes need
        with app.app_context():
            before = fingerprint(db.session)
        response = worker_a.get(url) if method == "GET" else worker_a.post(url, data={"code": "x", "seed": "1"})
        with app.app_context():
            after = fingerprint(db.session)
        assert response.status_code < 500
        if rule.arguments:
            assert response.status_code == 404, f"worker A reached B's object: {method} {url} {response.status}"
        body = response.get_data(as_text=True) if response.status_code == 200 else ""
        leaked = [m for m in b["markers"] if m in body]
        assert not leaked, f"worker A saw B's {leaked} on {method} {url}"
        # Refused: B's object is untouched (a route without one may write A's own rows; a failed sign-in by code
        # is audited and counted).
        if rule.arguments and rule.endpoint not in policy.WORKER_OPEN:
            assert before == after, f"worker A changed the database through {method} {url}"


def test_another_workers_mistakes_stay_out_of_the_book(people):
    _, worker_a, _ = people
    page = worker_a.get("/worker/book").get_data(as_text=True)
    assert "错题本是空的" in page  # B's wrong answer is B's alone
    assert "错题本（0）" in worker_a.get("/worker/").get_data(as_text=True)


def test_a_worker_session_opens_no_console_page(app, people):
    from exam_server.extensions import db

    _, worker_a, _ = people
    rules = console_rules()
    assert len(rules) > 50
    with app.app_context():
        before = fingerprint(db.session)
    for rule in rules:
        with app.test_request_context():
            url = url_for(rule.endpoint, **{name: 1 if "id" in name else "x" for name in rule.arguments})
        for method in sorted(rule.methods & {"GET", "POST"}):
            response = worker_a.get(url) if method == "GET" else worker_a.post(url, data={})
            assert response.status_code in (302, 401, 404), f"{method} {url}: {response.status}"
            if response.status_code == 302:
                assert "/auth/login" in response.headers["Location"], f"{method} {url}"
    with app.app_context():
        assert fingerprint(db.session) == before
    assert worker_a.get("/worker/").status_code == 200
    assert worker_a.post("/worker/logout").status_code == 302
    assert worker_a.get("/worker/").status_code == 302
