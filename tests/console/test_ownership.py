"""Object routes refuse another tenant's objects, whatever the role allows in general."""

from __future__ import annotations

import io

import pytest

from tests.console.helpers import csv_bytes, worker_rows


def _csv():
    return {"file": (io.BytesIO(csv_bytes(worker_rows(1, seed=99))), "a.csv")}


# (who, method, path built from the world and fixtures, form data)
CASES = {
    "county worker detail": ("county_admin_a", "get", lambda w, o: f"/console/workers/{w.workers_b[0].id}", None),
    "enterprise worker detail": (
        "enterprise_admin_a",
        "get",
        lambda w, o: f"/console/workers/{w.workers_b[0].id}",
        None,
    ),
    "enterprise worker photo": (
        "enterprise_admin_a",
        "get",
        lambda w, o: f"/console/workers/{w.workers_b[0].id}/photo",
        None,
    ),
    "county enrol other worker": (
        "county_admin_a",
        "post",
        lambda w, o: f"/console/workers/{w.workers_b[0].id}/enrol",
        None,
    ),
    "county import into other enterprise": (
        "county_admin_a",
        "post",
        lambda w, o: f"/console/workers/import?enterprise_id={w.enterprise_b.id}",
        _csv,
    ),
    "enterprise import into other enterprise": (
        "enterprise_admin_a",
        "get",
        lambda w, o: f"/console/workers/import?enterprise_id={w.enterprise_b.id}",
        None,
    ),
    "county plan edit": ("county_admin_a", "get", lambda w, o: f"/console/plans/{o['plan'].id}", None),
    "county plan save": ("county_admin_a", "post", lambda w, o: f"/console/plans/{o['plan'].id}", dict),
    "county kiosk disable": ("county_admin_a", "post", lambda w, o: f"/console/kiosks/{o['kiosk'].id}/disable", None),
    "county user reset": ("county_admin_a", "post", lambda w, o: f"/console/users/{w.city.id}/password", None),
    "county user deactivate": (
        "county_admin_a",
        "post",
        lambda w, o: f"/console/users/{w.reviewer.id}/deactivate",
        None,
    ),
}


@pytest.mark.parametrize("case", CASES, ids=list(CASES))
def test_object_route_refuses_another_tenant(db, world, login, plan_b, kiosk_b, case):
    who, method, path, data = CASES[case]
    client = login(getattr(world, who))
    kwargs = {"data": data(), "content_type": "multipart/form-data"} if data else {}
    response = getattr(client, method)(path(world, {"plan": plan_b, "kiosk": kiosk_b}), **kwargs)
    assert response.status_code in (403, 404), f"{case}: {response.status}"
