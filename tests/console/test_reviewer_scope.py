"""Reviewers' scope (issue 14): a county's reviewer sees and decides its county's faces only."""

from __future__ import annotations

import re

from sqlalchemy import select

from exam_server.models import ReviewCase, ReviewStatus, User
from exam_server.services import policy
from exam_server.services.reporting import dashboard
from tests.console.test_policy_matrix import face_case


def test_county_reviewer_cannot_reach_another_county(app, db, world, login):
    """The attack of issue 14: a county administrator creates a reviewer; it stays inside that county."""
    session = db.session
    county_admin = login(world.county_admin_a)
    form = {"username": "lanshan_reviewer", "display_name": "兰山审核员", "role": "reviewer"}
    refused = county_admin.post("/console/users/new", data={**form, "county_id": world.county_b.id})
    assert refused.status_code == 200  # the form again: the other county is not among its choices
    assert session.scalar(select(User.id).where(User.username == "lanshan_reviewer")) is None
    created = county_admin.post("/console/users/new", data={**form, "county_id": world.county_a.id})
    assert created.status_code == 200
    reviewer = session.scalar(select(User).where(User.username == "lanshan_reviewer"))
    assert reviewer.county_id == world.county_a.id
    password = re.search(r'id="new-password">([^<]+)<', created.get_data(as_text=True)).group(1)
    own = face_case(app, session, world.workers_a[0], "兰山")
    other = face_case(app, session, world.workers_b[0], "罗庄")
    session.commit()

    client = login(reviewer, password)
    queue = client.get("/console/review").get_data(as_text=True)
    assert "兰山入场核验不符" in queue and "罗庄入场核验不符" not in queue
    assert client.get(f"/console/review/{own['case']}").status_code == 200
    assert client.get(f"/console/review/image/photo/{own['photo']}").status_code == 200
    assert client.get(f"/console/review/{other['case']}").status_code == 404
    decided = client.post(
        f"/console/review/{other['case']}/decide", data={"outcome": "dismissed", "reason": "越权驳回他区告警"}
    )
    assert decided.status_code in (403, 404)
    assert client.get(f"/console/review/image/photo/{other['photo']}").status_code in (403, 404)
    assert client.get(f"/console/review/image/check/{other['check']}").status_code in (403, 404)
    session.expire_all()
    assert session.get(ReviewCase, other["case"]).status is ReviewStatus.OPEN
    assert dashboard.figures(session, reviewer)["open_reviews"] == 1  # its own county's case only


def test_only_the_city_makes_a_city_wide_reviewer(app, db, world, login):
    session = db.session
    county_admin = login(world.county_admin_a)
    county_admin.post(
        "/console/users/new",
        data={"username": "wide_try", "display_name": "全市审核员", "role": "reviewer", "county_id": 0},
    )
    assert session.scalar(select(User.county_id).where(User.username == "wide_try")) == world.county_a.id
    for role, county_id in (("county", world.county_b.id), ("city", 0), ("county", world.county_a.id)):
        refused = county_admin.post(
            "/console/users/new",
            data={"username": f"try_{role}_{county_id}", "display_name": "x", "role": role, "county_id": county_id},
        )
        assert refused.status_code == 200
        assert session.scalar(select(User.id).where(User.username == f"try_{role}_{county_id}")) is None
    created = login(world.city).post(
        "/console/users/new",
        data={"username": "city_wide_reviewer", "display_name": "全市审核员", "role": "reviewer", "county_id": 0},
    )
    assert created.status_code == 200
    wide = session.scalar(select(User).where(User.username == "city_wide_reviewer"))
    assert wide.county_id is None
    a, b = face_case(app, session, world.workers_a[0], "兰山"), face_case(app, session, world.workers_b[0], "罗庄")
    session.commit()
    cases = set(session.scalars(policy.review_cases(wide).with_only_columns(ReviewCase.id)))
    assert {a["case"], b["case"]} <= cases
    assert set(session.scalars(policy.review_cases(world.county_admin_a).with_only_columns(ReviewCase.id))) == {
        a["case"]
    }
