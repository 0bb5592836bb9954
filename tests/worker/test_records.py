"""My exams and certificates: the worker's own sittings, results and certificate PDFs, nobody else's."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from exam_server.models import Certificate
from tests.certificates.conftest import ISSUED_AT, build_holders, pass_exam, plan
from tests.console_stats.conftest import add_requirement, finish_real_sitting, start_real_sitting
from tests.worker.conftest import give_pin


def test_the_worker_sees_their_sittings_and_downloads_their_own_certificate(db, sign_in, document_config):
    holders = build_holders(db.session)
    mine, other = holders.workers[0], holders.workers[1]
    second = plan(
        db.session, "2026年度消防安全补充考试", ISSUED_AT - timedelta(days=30), ISSUED_AT + timedelta(days=30)
    )
    failed = start_real_sitting(db.session, add_requirement(db.session, mine, second), ISSUED_AT - timedelta(days=2))
    finish_real_sitting(db.session, failed, correct=False, now=ISSUED_AT - timedelta(days=2, minutes=-20))
    certificate = pass_exam(db.session, holders.requirement(db.session, mine))
    others = pass_exam(db.session, holders.requirement(db.session, other))
    give_pin(db.session, mine)
    client = sign_in(mine)
    html = client.get("/worker/exams").get_data(as_text=True)
    assert certificate.number in html and others.number not in html
    assert html.count(holders.plan.name) == 2 and second.name in html  # the certificate and the two sittings
    assert "不合格" in html and "合格" in html and "下载证书" in html
    pdf = client.get(f"/worker/certificates/{certificate.id}.pdf")
    assert (
        pdf.status_code == 200 and pdf.data.startswith(b"%PDF") and pdf.headers["Cache-Control"] == "private, no-store"
    )
    assert client.get(f"/worker/certificates/{others.id}.pdf").status_code == 404
    assert client.get("/worker/certificates/999999.pdf").status_code == 404


def test_without_exams_the_page_says_what_to_do(db, world, bank, sign_in):
    worker = world.workers_a[0]
    give_pin(db.session, worker)
    html = sign_in(worker).get("/worker/exams").get_data(as_text=True)
    assert "还没有证书" in html and "还没有考试记录" in html
    assert db.session.scalars(select(Certificate)).first() is None


def test_a_missing_authority_is_a_message_not_an_error(db, sign_in, app, monkeypatch):
    holders = build_holders(db.session)
    certificate = pass_exam(db.session, holders.requirement(db.session, holders.workers[0]))
    give_pin(db.session, holders.workers[0])
    monkeypatch.setitem(app.config, "CERTIFICATE_AUTHORITY", "")
    client = sign_in(holders.workers[0])
    response = client.get(f"/worker/certificates/{certificate.id}.pdf", follow_redirects=True)
    assert response.status_code == 200 and "证书暂时无法下载" in response.get_data(as_text=True)
