"""One-time sign-in codes: issued at a kiosk after a face-checked sitting or printed by the enterprise's manager,
stored as a digest, used once, short-lived, scoped, audited and throttled."""

from __future__ import annotations

import hashlib
from datetime import timedelta
from urllib.parse import urlsplit

import pytest
import time_machine
from sqlalchemy import func, select

from exam_server.models import AuditLog, CheckInStatus, SittingStatus, WorkerCredential, WorkerSignInCode, utcnow
from exam_server.services.practice import sign_in_codes
from tests.worker.conftest import PIN, give_pin, sat


def _kiosk_code(client, seen, kiosk_token: str | None = None):
    return client.post(
        f"/api/v1/sittings/{seen.sitting.id}/sign-in-code",
        headers={"Authorization": f"Bearer {kiosk_token or seen.kiosk_token}"},
    )


def _path(url: str) -> str:
    parts = urlsplit(url)
    assert not parts.query and not parts.fragment  # the code travels in the path only, never a query string
    return parts.path


def _used(db, code: str):
    return db.session.scalar(
        select(WorkerSignInCode.used_at).where(WorkerSignInCode.code_hash == sign_in_codes.digest(code))
    )


# -- the service ------------------------------------------------------------------------------------------------


def test_a_code_is_stored_as_its_digest_and_signs_in_once(db, world):
    worker = world.workers_a[0]
    seen = sat(db.session, worker)
    issued = sign_in_codes.issue_at_kiosk(db.session, seen.kiosk, seen.sitting, utcnow())
    db.session.commit()
    row = db.session.scalar(select(WorkerSignInCode).where(WorkerSignInCode.worker_id == worker.id))
    assert row.code_hash == hashlib.sha256(issued.code.encode()).hexdigest() and len(issued.code) >= 22
    assert issued.code not in repr(db.session.execute(select(WorkerSignInCode)).all())
    assert row.expires_at - row.created_at == timedelta(minutes=10) and row.checkin_id == seen.checkin.id
    assert sign_in_codes.pending(db.session, issued.code, utcnow()) == worker  # looking does not use it
    found = sign_in_codes.redeem(db.session, issued.code, utcnow())
    assert found is not None and found[0] == worker
    assert found[1].pin_hash is None  # no PIN yet: the credential row only carries the session
    db.session.commit()
    assert sign_in_codes.redeem(db.session, issued.code, utcnow()) is None
    assert sign_in_codes.pending(db.session, issued.code, utcnow()) is None
    assert sign_in_codes.redeem(db.session, "not-a-code", utcnow()) is None
    issued_log = db.session.scalar(select(AuditLog).where(AuditLog.action == "worker_sign_in_code_issued"))
    assert (
        issued_log is not None and issued_log.kiosk_id == seen.kiosk.id and issued.code not in repr(issued_log.detail)
    )


def test_a_code_expires_after_ten_minutes(db, world):
    worker = world.workers_a[0]
    seen = sat(db.session, worker)
    start = utcnow()
    with time_machine.travel(start, tick=False):
        kept = sign_in_codes.issue_at_kiosk(db.session, seen.kiosk, seen.sitting, utcnow())
        late = sign_in_codes.issue_at_kiosk(db.session, seen.kiosk, seen.sitting, utcnow())
        db.session.commit()
    with time_machine.travel(start + timedelta(minutes=9, seconds=59), tick=False):
        assert sign_in_codes.redeem(db.session, kept.code, utcnow()) is not None
    with time_machine.travel(start + timedelta(minutes=10), tick=False):
        assert sign_in_codes.pending(db.session, late.code, utcnow()) is None
        assert sign_in_codes.redeem(db.session, late.code, utcnow()) is None


def test_only_a_sitting_just_submitted_after_a_passed_check_in_issues_a_code(db, world):
    from exam_server.services.exam.refusals import Refusal

    old = sat(db.session, world.workers_a[0], at=utcnow() - timedelta(hours=1))
    with pytest.raises(Refusal) as refused:
        sign_in_codes.issue_at_kiosk(db.session, old.kiosk, old.sitting, utcnow())
    assert refused.value.code == "pin_window_closed"
    unproved = sat(db.session, world.workers_a[0])
    unproved.checkin.status = CheckInStatus.AWAITING_FACE
    with pytest.raises(Refusal) as refused:
        sign_in_codes.issue_at_kiosk(db.session, unproved.kiosk, unproved.sitting, utcnow())
    assert refused.value.code == "face_not_confirmed"
    assert db.session.scalar(select(func.count(WorkerSignInCode.id))) == 0


def test_a_manager_prints_codes_for_their_own_workers_only(db, world):
    manager = world.enterprise_admin_a
    own = [w.id for w in world.workers_a]
    issued = sign_in_codes.issue_printed(db.session, manager, own, utcnow())
    assert sorted(i.worker.id for i in issued) == sorted(own)
    assert all(i.expires_at - utcnow() > timedelta(hours=23) for i in issued)
    rows = db.session.scalars(select(WorkerSignInCode)).all()
    assert {r.issued_by_id for r in rows} == {manager.id}
    with pytest.raises(LookupError):
        sign_in_codes.issue_printed(db.session, manager, [own[0], world.workers_b[0].id], utcnow())
    with pytest.raises(LookupError):
        sign_in_codes.issue_printed(db.session, manager, [987654], utcnow())
    db.session.rollback()
    assert db.session.scalar(select(func.count(WorkerSignInCode.id))) == 0


# -- the kiosk API ----------------------------------------------------------------------------------------------


def test_the_kiosk_gets_a_one_time_address_after_a_face_checked_sitting(db, world, client):
    worker = world.workers_a[0]
    seen = sat(db.session, worker)
    db.session.commit()
    response = _kiosk_code(client, seen)
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    path = _path(body["sign_in_url"])
    assert path.startswith("/worker/sign-in/") and body["worker"]["name_masked"] != worker.name
    assert body["expires_at"]
    # The phone opens it: a confirmation first (nothing used), then the POST signs in and uses the code.
    phone = client.application.test_client()
    page = phone.get(path)
    assert page.status_code == 200 and "确认登录" in page.get_data(as_text=True)
    assert page.headers["Referrer-Policy"] == "no-referrer" and worker.name not in page.get_data(as_text=True)
    assert _used(db, path.rsplit("/", 1)[1]) is None
    signed = phone.post(path)
    assert signed.status_code == 302 and signed.headers["Location"].endswith("/worker/")
    assert phone.get("/worker/").status_code == 200
    again = client.application.test_client().post(path)
    assert again.status_code == 404 and "已经用过" in again.get_data(as_text=True)


def test_the_kiosk_endpoint_refuses_another_kiosks_or_an_open_sitting(db, world, client):
    mine = sat(db.session, world.workers_a[0])
    other = sat(db.session, world.workers_a[1])
    mine.sitting.status = SittingStatus.IN_PROGRESS
    db.session.commit()
    refused = _kiosk_code(client, mine)
    assert refused.status_code == 409 and refused.get_json()["error"] == "sitting_not_submitted"
    foreign = _kiosk_code(client, other, kiosk_token=mine.kiosk_token)
    assert foreign.status_code == 409 and foreign.get_json()["error"] == "sitting_elsewhere"
    assert db.session.scalar(select(func.count(WorkerSignInCode.id))) == 0


# -- the worker's pages -----------------------------------------------------------------------------------------


def test_an_expired_or_unknown_code_signs_no_one_in(app, db, world, client):
    worker = world.workers_a[0]
    seen = sat(db.session, worker)
    issued = sign_in_codes.issue_at_kiosk(db.session, seen.kiosk, seen.sitting, utcnow())
    db.session.commit()
    app.extensions["throttle"].storage.reset()
    with time_machine.travel(utcnow() + timedelta(minutes=11), tick=True):
        response = client.post(f"/worker/sign-in/{issued.code}")
    assert response.status_code == 404 and "过期" in response.get_data(as_text=True)
    assert client.get("/worker/").status_code == 302  # not signed in
    assert client.get("/worker/sign-in/%E4%BD%A0%00x").status_code in (404, 400)
    failed = db.session.scalars(select(AuditLog.action).where(AuditLog.action == "worker_login_failed")).all()
    assert failed
    app.extensions["throttle"].storage.reset()


def test_code_guessing_is_throttled(app, db, world, client):
    app.extensions["throttle"].storage.reset()
    statuses = [client.get("/worker/sign-in/guessed-code-0000000000").status_code for _ in range(6)]
    assert statuses[:5] == [404] * 5 and statuses[5] == 429
    assert "Retry-After" in client.get("/worker/sign-in/guessed-code-0000000000").headers
    app.extensions["throttle"].storage.reset()


def test_a_pin_set_later_ends_the_code_session_and_a_code_session_keeps_the_pin(db, world, client, sign_in):
    worker = world.workers_a[0]
    seen = sat(db.session, worker)
    issued = sign_in_codes.issue_at_kiosk(db.session, seen.kiosk, seen.sitting, utcnow())
    db.session.commit()
    assert client.post(f"/worker/sign-in/{issued.code}").status_code == 302
    assert client.get("/worker/").status_code == 200
    # No PIN was set: the citizen ID alone signs no one in.
    assert client.application.test_client().post(
        "/worker/login", data={"citizen_id": worker.citizen_id, "pin": ""}
    ).status_code in (200, 400)
    give_pin(db.session, worker)  # a PIN set at a kiosk ends every older session, the code's too
    assert client.get("/worker/").status_code == 302
    phone = sign_in(worker, PIN)
    assert phone.get("/worker/").status_code == 200
    assert db.session.get(WorkerCredential, worker.id).pin_hash is not None


# -- the console ------------------------------------------------------------------------------------------------


def test_the_manager_prints_a_sheet_and_others_may_not(db, world, login):
    manager = login(world.enterprise_admin_a)
    worker = world.workers_a[0]
    detail = manager.get(f"/console/workers/{worker.id}").get_data(as_text=True)
    assert "打印登录码" in detail
    assert 'form="print-codes"' in manager.get("/console/workers").get_data(as_text=True)
    sheet = manager.post("/console/workers/sign-in-codes", data={"worker_id": [w.id for w in world.workers_a]})
    assert sheet.status_code == 200 and sheet.headers["Cache-Control"] == "no-store"
    page = sheet.get_data(as_text=True)
    assert page.count("<svg") == len(world.workers_a) and worker.name in page
    assert worker.citizen_id not in page  # masked on the slip
    assert db.session.scalar(select(func.count(WorkerSignInCode.id))) == len(world.workers_a)
    issued = db.session.scalars(select(AuditLog).where(AuditLog.action == "worker_sign_in_code_issued")).all()
    assert len(issued) == len(world.workers_a) and {e.user_id for e in issued} == {world.enterprise_admin_a.id}
    # Another enterprise's worker: refused as unknown, nothing issued.
    foreign = manager.post("/console/workers/sign-in-codes", data={"worker_id": [worker.id, world.workers_b[0].id]})
    assert foreign.status_code == 404
    assert manager.post("/console/workers/sign-in-codes", data={"worker_id": "x"}).status_code == 400
    nothing = manager.post("/console/workers/sign-in-codes", data={})
    assert nothing.status_code == 302
    assert db.session.scalar(select(func.count(WorkerSignInCode.id))) == len(world.workers_a)
    # A county or city administrator opens the workers' pages but prints no codes: they would sign in as them.
    for user in (world.county_admin_a, world.city):
        other = login(user)
        assert "打印登录码" not in other.get(f"/console/workers/{worker.id}").get_data(as_text=True)
        assert other.post("/console/workers/sign-in-codes", data={"worker_id": worker.id}).status_code == 403
    assert db.session.scalar(select(func.count(WorkerSignInCode.id))) == len(world.workers_a)


def test_a_printed_code_signs_the_worker_in(db, world, login, client):
    manager = login(world.enterprise_admin_a)
    worker = world.workers_a[0]
    manager.post("/console/workers/sign-in-codes", data={"worker_id": worker.id})
    # The sheet shows the code only as a QR code; the test takes a fresh one from the service for the scan.
    issued = sign_in_codes.issue_printed(db.session, world.enterprise_admin_a, [worker.id], utcnow())[0]
    db.session.commit()
    assert client.get(f"/worker/sign-in/{issued.code}").status_code == 200
    assert client.post(f"/worker/sign-in/{issued.code}").status_code == 302
    assert client.get("/worker/").status_code == 200
    assert db.session.scalar(select(AuditLog).where(AuditLog.action == "worker_login")).detail == {"by": "sign_in_code"}
