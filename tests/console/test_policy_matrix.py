"""Every console route x every scoped role x an object of another tenant: nothing leaks, nothing is done.

The routes come from the url_map, so a new route is walked without being listed here. Each role of
county A (its administrator, an enterprise manager of A, a reviewer its administrator created)
opens every route with GET and POST, naming objects of county B (enterprise, worker, photo,
evidence, chip photo, review case, kiosk, plan, account, job, certificate). A route naming an
object must answer 403 or 404 and change nothing in the database; a page without one must not
show any of B's objects, even when its query string names them.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from sqlalchemy import func, or_, select

from exam_server.models import (
    Base,
    CheckIn,
    CheckKind,
    Decision,
    ExamPlan,
    FaceCheck,
    FacePhoto,
    Kiosk,
    PhotoSource,
    ReviewCase,
    ReviewKind,
    ReviewStatus,
    Role,
    User,
)
from exam_server.services import job_state
from exam_server.services.admin import accounts, user_admin
from exam_server.services.exam import kiosks
from tests import factories
from tests.certificates.conftest import ISSUED_AT, pass_exam, plan
from tests.console.helpers import console_rules
from tests.console_stats.conftest import add_requirement

ATTACKERS = ("county", "enterprise", "reviewer")
JPEG = b"\xff\xd8\xff\xe0" + b"0" * 64  # served as bytes; never decoded


RULES = console_rules()
CASES = [
    pytest.param(rule, role, method, id=f"{rule.endpoint}[{rule.rule}]-{method}-{role}")
    for rule in RULES
    for method in sorted(rule.methods & {"GET", "POST"})
    for role in ATTACKERS
]


def _file(app, relative: str) -> str:
    path = Path(app.config["DATA_DIR"]) / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(JPEG)
    return relative


def face_case(app, session, worker, label: str, checkin: CheckIn | None = None) -> dict:
    """Give the worker an enrolment photo, an evidence frame and an open review case; return their ids."""
    photo = FacePhoto(
        worker_id=worker.id,
        source=PhotoSource.CONSOLE,
        sha256="0" * 64,
        width=40,
        height=48,
        path=_file(app, f"photos/{worker.id}/{label}.jpg"),
    )
    check = FaceCheck(
        kind=CheckKind.CHECKIN,
        worker_id=worker.id,
        checkin_id=checkin.id if checkin else None,
        model_name="dlib",
        model_version="1",
        distance=0.7,
        threshold=0.5,
        decision=Decision.MISMATCH,
        evidence_path=_file(app, f"evidence/{label}.jpg"),
    )
    session.add_all([photo, check])
    session.flush()
    case = ReviewCase(
        kind=ReviewKind.CHECKIN_REFUSED,
        worker_id=worker.id,
        face_check_id=check.id,
        checkin_id=checkin.id if checkin else None,
        distance=0.7,
        summary=f"{label}入场核验不符",
    )
    session.add(case)
    session.flush()
    return {"photo": photo.id, "check": check.id, "case": case.id}


def fingerprint(session) -> str:
    """Return a digest of every row of every table: any write shows as a different digest."""
    digest = hashlib.sha256()
    for table in Base.metadata.sorted_tables:
        for row in session.execute(select(table).order_by(*table.primary_key.columns)):
            digest.update(repr(tuple(row)).encode())
    return digest.hexdigest()


@pytest.fixture(scope="module")
def tenants(app):
    """County A's three scoped roles logged in, and one object of every kind in county B."""
    from exam_server.extensions import db

    with app.app_context():
        session = db.session
        world = factories.World.build(session)
        world.enterprise_b.name = "罗庄越权化工有限公司"
        for n, worker in enumerate(world.workers_b):
            worker.name = f"罗越权{'甲乙'[n]}"
        reviewer, _ = user_admin.create(
            session, world.county_admin_a, username="reviewer_of_a", display_name="兰山审核员", role="reviewer"
        )
        accounts.set_password(reviewer, factories.PASSWORD)
        victim_county = factories.user(session, Role.COUNTY, county_obj=world.county_b, username="victim_county_b")
        victim_manager = factories.user(
            session, Role.ENTERPRISE, enterprise_obj=world.enterprise_b, username="victim_manager_b"
        )
        victim_reviewer, _ = user_admin.create(
            session, victim_county, username="victim_reviewer_b", display_name="罗庄审核员", role="reviewer"
        )
        plan_b = plan(
            session,
            "罗庄越权测试计划",
            ISSUED_AT.replace(day=1),
            ISSUED_AT.replace(day=28),
            county_id=world.county_b.id,
        )
        worker_b = world.workers_b[0]
        requirement = add_requirement(session, worker_b, plan_b)
        certificate = pass_exam(session, requirement)
        checkin = session.scalar(select(CheckIn).where(CheckIn.sitting_id == certificate.sitting_id))
        checkin.chip_photo_path = _file(app, "chips/b.jpg")
        faces = face_case(app, session, worker_b, "罗庄", checkin)
        kiosk_b, _ = kiosks.register(session, "罗庄越权测试终端", county_id=world.county_b.id)
        job = job_state.create(session, "photos", [], chunk_size=1, title="罗庄照片", user_id=victim_county.id)
        session.commit()
        b = {
            "county_id": world.county_b.id,
            "enterprise_id": world.enterprise_b.id,
            "worker_id": worker_b.id,
            "user_id": victim_manager.id,
            "plan_id": plan_b.id,
            "kiosk_id": kiosk_b.id,
            "job_id": job.id,
            "certificate_id": certificate.id,
            "case_id": faces["case"],
            "images": {"photo": faces["photo"], "check": faces["check"], "chip": checkin.id},
            "credit_code": world.enterprise_b.credit_code,
            "markers": [
                world.enterprise_b.name,
                *(w.name for w in world.workers_b),
                *(w.citizen_id for w in world.workers_b),
                kiosk_b.name,
                plan_b.name,
                certificate.number,
                victim_county.username,
                victim_manager.username,
                victim_reviewer.username,
                "罗庄入场核验不符",
            ],
        }
        users = {"county": world.county_admin_a, "enterprise": world.enterprise_admin_a, "reviewer": reviewer}
        clients = {}
        for role, user in users.items():
            clients[role] = app.test_client()
            response = clients[role].post(
                "/auth/login", data={"username": user.username, "password": factories.PASSWORD}
            )
            assert response.status_code == 302, role
    yield clients, b
    with app.app_context():
        db.session.remove()
        factories.empty_all_tables(db)


def _urls(app, rule, b: dict) -> list[str]:
    """Return the rule's URLs naming B's objects (one per image kind for the image route)."""
    from flask import url_for

    values = {}
    for name in rule.arguments - {"source"}:
        if name == "item_id":
            continue
        converter = type(rule._converters[name]).__name__
        values[name] = (
            b.get(name, 1) if converter == "IntegerConverter" else {"fmt": "csv", "kind": "results"}.get(name, "0" * 32)
        )
    with app.test_request_context():
        if "source" in rule.arguments:
            return [url_for(rule.endpoint, source=s, item_id=i, **values) for s, i in b["images"].items()]
        return [url_for(rule.endpoint, **values)]


def _form(b: dict) -> dict:
    """Return form fields that name B everywhere a form takes a county, enterprise or decision."""
    return {
        "outcome": ReviewStatus.DISMISSED.value,
        "reason": "越权处理他区告警",
        "name": "越权创建",
        "location": "越权",
        "county_id": b["county_id"],
        "enterprise_code": b["credit_code"],
        "username": "created_by_attack",
        "display_name": "越权账号",
        "role": Role.REVIEWER.value,
        "ruleset_id": "general",
        "opens_at": "2026-12-01T08:00",
        "closes_at": "2026-12-31T18:00",
        "max_attempts": 3,
        "mean_interval_seconds": 90,
        "retries": 2,
    }


def _query(b: dict) -> str:
    """Return a query string naming B's county, enterprise, plan and worker under every name a page reads."""
    pairs = {
        "county": b["county_id"],
        "enterprise": b["enterprise_id"],
        "enterprise_id": b["enterprise_id"],
        "plan": b["plan_id"],
        "plan_id": b["plan_id"],
        "worker_id": b["worker_id"],
        "status": "all",
    }
    return "&".join(f"{k}={v}" for k, v in pairs.items())


def _b_footprint(session, b: dict) -> tuple:
    """Count what an attack on a creating form would add to county B: accounts, kiosks and plans."""
    return (
        session.scalar(
            select(func.count(User.id)).where(
                or_(User.county_id == b["county_id"], User.enterprise_id == b["enterprise_id"])
            )
        ),
        session.scalar(select(func.count(Kiosk.id)).where(Kiosk.county_id == b["county_id"])),
        session.scalar(select(func.count(ExamPlan.id)).where(ExamPlan.county_id == b["county_id"])),
    )


@pytest.mark.parametrize(("rule", "role", "method"), CASES)
def test_no_route_leaks_another_tenant(app, tenants, rule, role, method):
    from exam_server.extensions import db

    clients, b = tenants
    names_object = bool(rule.arguments - {"fmt", "kind", "token"})
    urls = _urls(app, rule, b)
    if method == "GET" and not names_object:  # a page as it opens, and with B named in its query string
        urls += [f"{url}?{_query(b)}" for url in urls]
    for url in urls:
        with app.app_context():
            before, footprint = fingerprint(db.session), _b_footprint(db.session, b)
        response = clients[role].get(url) if method == "GET" else clients[role].post(url, data=_form(b))
        body = response.get_data().decode(errors="replace") if response.status_code == 200 else ""
        with app.app_context():
            after, footprint_after = fingerprint(db.session), _b_footprint(db.session, b)
        assert response.status_code < 500, f"{method} {url} as {role}: {response.status}"
        if names_object:
            assert response.status_code in (403, 404), f"{role} reached B's object: {method} {url} {response.status}"
            if method == "POST":
                assert before == after, f"{role} changed the database through {url} while refused"
        else:
            leaked = [m for m in b["markers"] if m in body]
            assert not leaked, f"{role} saw B's {leaked} on {method} {url}"
        assert footprint == footprint_after, f"{role} created something in county B through {method} {url}"


def test_matrix_walks_every_console_route():
    walked = {param.values[0].endpoint for param in CASES}
    assert walked == {rule.endpoint for rule in RULES} and len(walked) > 50
