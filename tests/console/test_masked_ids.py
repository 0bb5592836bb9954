"""Citizen IDs in the console (issue 18): every page masks them; only the worker's own page reveals one, audited."""

from __future__ import annotations

from datetime import timedelta

import time_machine

from exam_server.citizen_id import mask
from exam_server.models import ReviewCase, ReviewKind
from tests.certificates.conftest import ISSUED_AT, build_holders, pass_exam
from tests.console.conftest import add_plan
from tests.console.test_policy_matrix import face_case
from tests.console_stats.conftest import add_requirement


def test_review_queue_and_case_pages_mask_the_ids_of_both_workers(app, db, world, login):
    worker, look_alike = world.workers_a[0], world.workers_a[1]
    ids = face_case(app, db.session, worker, "兰山")
    case = db.session.get(ReviewCase, ids["case"])
    case.kind, case.other_worker_id = ReviewKind.DUPLICATE_ENROLMENT, look_alike.id
    db.session.commit()
    for user in (world.city, world.county_admin_a, world.reviewer):
        client = login(user)
        queue = client.get("/console/review").get_data(as_text=True)
        page = client.get(f"/console/review/{case.id}").get_data(as_text=True)
        for someone in (worker, look_alike):
            assert someone.citizen_id not in queue and someone.citizen_id not in page
        assert mask(worker.citizen_id) in page and mask(look_alike.citizen_id) in page  # the masked form identifies


def test_certificate_and_statistics_pages_mask_ids(app, db, login):
    holders = build_holders(db.session, valid_days=45)
    pass_exam(db.session, holders.requirement(db.session, holders.workers[0]))
    with time_machine.travel(ISSUED_AT + timedelta(days=1), tick=False):
        for role in ("city", "county_a", "manager"):
            client = login(holders.users[role])
            html = client.get("/console/certificates?within=60").get_data(as_text=True)
            assert holders.workers[0].name in html and holders.workers[0].citizen_id not in html
            pending = client.get("/console/statistics/pending").get_data(as_text=True)
            waiting = holders.workers[1]
            assert waiting.name in pending
            assert waiting.citizen_id not in pending and mask(waiting.citizen_id) in pending
            place = client.get(f"/console/statistics?enterprise={holders.enterprise.id}").get_data(as_text=True)
            assert waiting.name in place
            assert waiting.citizen_id not in place and mask(waiting.citizen_id) in place


def test_the_statistics_worker_list_of_the_two_tenant_world_masks_ids(db, world, login):
    plan = add_plan(db.session)
    for worker in world.workers_a:
        add_requirement(db.session, worker, plan)
    db.session.commit()
    html = login(world.enterprise_admin_a).get("/console/statistics/pending").get_data(as_text=True)
    assert all(w.name in html and w.citizen_id not in html for w in world.workers_a)
