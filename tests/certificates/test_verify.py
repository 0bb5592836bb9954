"""Public verification: by QR code, by printed number and holder's name (rate-limited), masked, revoked or expired said plainly."""

from __future__ import annotations

from datetime import timedelta

import time_machine

from exam_server import localday
from exam_server.citizen_id import mask
from exam_server.models import AuditLog, utcnow
from tests.certificates.conftest import AUTHORITY, ISSUED_AT, pass_exam


def _post(client, number: str, name: str):
    return client.post("/verify", data={"number": number, "name": name})


@time_machine.travel(ISSUED_AT + timedelta(days=1))  # inside the validity, whatever day the tests run
def test_the_printed_number_and_the_name_find_the_certificate_showing_masked_data(
    app, db, holders, document_config, fresh_limits
):
    worker = holders.workers[0]
    certificate = pass_exam(db.session, holders.requirement(db.session, worker))
    client = app.test_client()

    form = client.get("/verify")
    assert form.status_code == 200 and "证书编号" in form.get_data(as_text=True)
    # As typed from paper: lower case, spaces between groups.
    spaced = certificate.number[:6].lower() + " " + certificate.number[6:10] + " " + certificate.number[10:]
    page = _post(client, spaced, f" {worker.name} ")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "此证书真实有效" in html and certificate.number in html and AUTHORITY in html
    assert worker.name[0] + "*" in html and worker.name not in html  # the name is masked
    assert mask(worker.citizen_id) in html and worker.citizen_id not in html

    wrong_name = _post(client, certificate.number, "王五")
    no_such = _post(client, "AQ20269999999999", "王五")
    assert wrong_name.status_code == no_such.status_code == 404
    # A wrong name and an unknown number read alike (but for the number typed): a number alone tells nothing.
    assert wrong_name.get_data(as_text=True) == no_such.get_data(as_text=True).replace(
        "AQ20269999999999", certificate.number
    )
    assert "未找到该证书" in wrong_name.get_data(as_text=True)
    assert "证书编号为AQ加14位数字" in _post(client, "12345", worker.name).get_data(as_text=True)

    actions = [a for (a,) in db.session.query(AuditLog.action).filter(AuditLog.action.like("certificate_verif%"))]
    assert actions.count("certificate_verified") == 1 and actions.count("certificate_verify_miss") == 2


def test_a_number_in_the_verify_address_asks_for_the_name(app, db, holders, document_config):
    certificate = pass_exam(db.session, holders.requirement(db.session, holders.workers[0]))
    response = app.test_client().get(f"/verify/{certificate.number}")
    assert response.status_code == 302 and f"number={certificate.number}" in response.headers["Location"]
    form = app.test_client().get(response.headers["Location"]).get_data(as_text=True)
    assert f'value="{certificate.number}"' in form


def test_verification_by_number_is_rate_limited_per_address(
    app, db, holders, document_config, fresh_limits, monkeypatch
):
    monkeypatch.setitem(app.config, "VERIFY_RATE_LIMIT", "3 per minute")
    certificate = pass_exam(db.session, holders.requirement(db.session, holders.workers[0]))
    client = app.test_client()
    answers = [_post(client, certificate.number, f"猜{n}").status_code for n in range(3)]
    assert answers == [404, 404, 404]
    blocked = _post(client, certificate.number, holders.workers[0].name)
    assert blocked.status_code == 429  # even the right name, once over the limit
    assert "查验次数过多" in blocked.get_data(as_text=True)
    assert client.get(f"/verify/{certificate.verify_code}").status_code == 200  # the QR code is not throttled
    elsewhere = app.test_client().post(
        "/verify",
        data={"number": certificate.number, "name": holders.workers[0].name},
        environ_base={"REMOTE_ADDR": "10.9.8.7"},
    )
    assert elsewhere.status_code == 200  # another address has its own allowance


def test_revoked_and_expired_say_so_plainly(app, db, holders, document_config, fresh_limits):
    worker = holders.workers[0]
    certificate = pass_exam(db.session, holders.requirement(db.session, worker))
    client = app.test_client()
    last_day_end = localday.day_start(certificate.valid_until + timedelta(days=1))
    with time_machine.travel(last_day_end - timedelta(minutes=1), tick=False):
        assert "此证书真实有效" in client.get(f"/verify/{certificate.verify_code}").get_data(as_text=True)
    with time_machine.travel(last_day_end + timedelta(minutes=1), tick=False):
        html = _post(client, certificate.number, worker.name).get_data(as_text=True)
        assert "此证书已过有效期" in html and str(certificate.valid_until) in html

    certificate.revoked_at, certificate.revoked_reason = utcnow(), "冒名顶替考试"
    db.session.commit()
    html = client.get(f"/verify/{certificate.verify_code}").get_data(as_text=True)
    assert "此证书已被撤销" in html and "冒名顶替考试" in html and "真实有效" not in html
