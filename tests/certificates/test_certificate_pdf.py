"""The certificate PDF: Chinese text that extracts, an embedded font, a QR code that decodes to its address, who may download."""

from __future__ import annotations

import io
from datetime import timedelta
from urllib.parse import urlparse

import numpy as np
import pypdf
import pypdfium2
import pytest
import time_machine
from reportlab.lib.units import mm

from exam_server.citizen_id import mask
from exam_server.models import FacePhoto, FaceTemplate, PhotoSource
from exam_server.services.exam import certificates
from tests.certificates.conftest import AUTHORITY, ISSUED_AT, PUBLIC, pass_exam
from tests.qr import read_qr


def text_of(data: bytes) -> list[str]:
    return [page.extract_text() for page in pypdf.PdfReader(io.BytesIO(data)).pages]


def qr_of(data: bytes, page: int = 0, dpi: int = 150) -> str:
    """Render a page as a printer would (grey, at ``dpi``) and decode its QR code with OpenCV."""
    image = pypdfium2.PdfDocument(data)[page].render(scale=dpi / 72).to_pil().convert("L")
    return read_qr(np.array(image))


def embedded_fonts(data: bytes) -> list[str]:
    """Return the base names of the page's fonts whose glyphs are embedded (a FontFile2 stream)."""
    out = []
    fonts = pypdf.PdfReader(io.BytesIO(data)).pages[0]["/Resources"]["/Font"]
    for ref in fonts.values():
        font = ref.get_object()
        descriptor = font.get("/FontDescriptor")
        if descriptor is not None and "/FontFile2" in descriptor.get_object():
            out.append(str(font["/BaseFont"]))
    return out


@time_machine.travel(ISSUED_AT + timedelta(days=1))  # inside the validity, whatever day the tests run
def test_the_pdf_is_chinese_text_in_an_embedded_font_with_a_qr_of_its_address(app, db, holders, document_config):
    worker = holders.workers[0]
    certificate = pass_exam(db.session, holders.requirement(db.session, worker))
    document = certificates.render(db.session, [certificate], "c.pdf")

    (page,) = text_of(document.data)
    flat = page.replace("\n", "").replace(" ", "")
    for expected in (
        "安全生产培训合格证书",
        worker.name,
        mask(worker.citizen_id),
        "兰山化工有限公司",
        holders.plan.name,
        certificate.number,
        AUTHORITY,
        "发证日期：2026年12月02日",  # the bureau's day of a pass at 02:17 Beijing time
        f"有效期至：{certificate.valid_until.year}年{certificate.valid_until.month:02d}月",
        "经考核合格，特发此证。",
    ):
        assert expected.replace(" ", "") in flat, expected
    assert worker.citizen_id not in flat  # only the masked number is printed
    assert "分" in flat and "合格" in flat  # the score line
    assert embedded_fonts(document.data), "the CJK font must be embedded, not left to the reader"

    url = qr_of(document.data)
    assert url == f"{PUBLIC}/verify/{certificate.verify_code}"
    page_html = app.test_client().get(urlparse(url).path).get_data(as_text=True)
    assert "此证书真实有效" in page_html and AUTHORITY in page_html


def test_the_card_size_and_the_photo_are_settings(app, db, holders, document_config, monkeypatch):
    worker = holders.workers[1]
    certificate = pass_exam(db.session, holders.requirement(db.session, worker))
    without = certificates.render(db.session, [certificate], "c.pdf").data
    assert len(pypdf.PdfReader(io.BytesIO(without)).pages[0].images) == 1  # the seal only: no photo by default

    photo = app.config["DATA_DIR"] + f"/photo-{worker.id}.png"
    from PIL import Image

    Image.new("RGB", (300, 400), (180, 150, 130)).save(photo)
    record = FacePhoto(
        worker_id=worker.id,
        source=PhotoSource.CONSOLE,
        path=f"photo-{worker.id}.png",
        sha256="0" * 64,
        width=300,
        height=400,
    )
    db.session.add(record)
    db.session.flush()
    db.session.add(
        FaceTemplate(worker_id=worker.id, photo_id=record.id, model_name="m", model_version="1", vector=b"\0" * 8)
    )
    db.session.commit()
    monkeypatch.setitem(app.config, "CERTIFICATE_SHOW_PHOTO", True)
    monkeypatch.setitem(app.config, "CERTIFICATE_PAGE_SIZE", "148x105")
    card = certificates.render(db.session, [certificate], "c.pdf").data
    reader = pypdf.PdfReader(io.BytesIO(card))
    width, height = float(reader.pages[0].mediabox.width), float(reader.pages[0].mediabox.height)
    assert (round(width / mm), round(height / mm)) == (148, 105)
    assert len(reader.pages[0].images) == 2  # seal and photo
    # A card's 17 mm code has half-millimetre modules: a 300 dpi print (and a phone camera) reads it.
    assert qr_of(card, 0, dpi=300) == f"{PUBLIC}/verify/{certificate.verify_code}"
    assert worker.name in text_of(card)[0]


def test_an_enterprise_downloads_all_its_workers_as_one_pdf_and_nothing_of_others(db, holders, document_config, login):
    issued = {w.name: pass_exam(db.session, holders.requirement(db.session, w)) for w in holders.workers}
    outsider = pass_exam(db.session, holders.requirement(db.session, holders.outsider))
    manager = login(holders.users["manager"])

    response = manager.get(f"/console/enterprises/{holders.enterprise.id}/certificates.pdf")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    assert response.headers["Cache-Control"] == "private, no-store"
    pages = text_of(response.data)
    assert len(pages) == 3
    assert {name for name in issued if any(name in page for page in pages)} == set(issued)
    assert not any("赵强" in page for page in pages)

    one = manager.get(f"/console/certificates/{issued['王芳'].id}.pdf")
    assert one.status_code == 200 and "王芳" in text_of(one.data)[0]
    assert manager.get(f"/console/certificates/{outsider.id}.pdf").status_code == 404
    assert manager.get(f"/console/enterprises/{holders.other.id}/certificates.pdf").status_code == 404
    county_b = login(holders.users["county_b"])
    assert county_b.get(f"/console/certificates/{issued['张伟'].id}.pdf").status_code == 404
    assert county_b.get(f"/console/certificates/{outsider.id}.pdf").status_code == 200
    reviewer = login(holders.users["reviewer"])
    assert reviewer.get(f"/console/certificates/{outsider.id}.pdf").status_code == 403


def test_the_worker_building_block_gives_only_the_workers_own_certificate(app, db, holders, document_config):
    mine = pass_exam(db.session, holders.requirement(db.session, holders.workers[0]))
    theirs = pass_exam(db.session, holders.requirement(db.session, holders.workers[1]))
    document = certificates.document_for_worker(db.session, holders.workers[0], mine.id)
    assert document.filename == f"{mine.number}.pdf" and holders.workers[0].name in text_of(document.data)[0]
    with pytest.raises(LookupError):
        certificates.document_for_worker(db.session, holders.workers[0], theirs.id)
    with app.test_request_context("/"):
        response = certificates.download_response(document)
    assert response.headers["Cache-Control"] == "private, no-store"
    assert f"{mine.number}.pdf" in response.headers["Content-Disposition"]


def test_without_an_issuing_authority_the_console_says_so_instead_of_printing(app, db, holders, login, monkeypatch):
    certificate = pass_exam(db.session, holders.requirement(db.session, holders.workers[0]))
    monkeypatch.setitem(app.config, "CERTIFICATE_AUTHORITY", "")
    admin = login(holders.users["city"])
    response = admin.get(f"/console/certificates/{certificate.id}.pdf", follow_redirects=True)
    assert response.status_code == 200
    assert "未配置发证机关名称" in response.get_data(as_text=True)


def test_the_kiosk_result_carries_the_address_the_printed_qr_code_does(app, db, holders, document_config):
    from exam_server.api import present
    from exam_server.models import Kiosk, Sitting

    certificate = pass_exam(db.session, holders.requirement(db.session, holders.workers[0]))
    sitting = db.session.get(Sitting, certificate.sitting_id)
    kiosk = db.session.get_one(Kiosk, sitting.kiosk_id)
    with app.test_request_context("/api/v1/sittings/1", base_url="http://10.0.0.5:8000"):  # a kiosk's LAN address
        result = present.result(db.session, sitting, sitting.submitted_at, kiosk)
    printed = qr_of(certificates.render(db.session, [certificate], "c.pdf").data)
    assert result["certificate"]["verify_url"] == printed == f"{PUBLIC}/verify/{certificate.verify_code}"


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("CERTIFICATE_PAGE_SIZE", "letter", "CERTIFICATE_PAGE_SIZE"),
        ("CERTIFICATE_SEAL_IMAGE", "/no/such/seal.png", "CERTIFICATE_SEAL_IMAGE"),
        ("SMTP_SECURITY", "tls", "SMTP_SECURITY"),
        ("SMS_GATEWAY_URL", "http://127.0.0.1:9/", "SMS_ACCESS_KEY_ID"),
    ],
)
def test_certificate_and_reminder_settings_that_cannot_work_are_refused_at_start(key, value, message):
    from exam_server import create_app
    from exam_server.config import ConfigError

    with pytest.raises(ConfigError, match=message):
        create_app({"TESTING": True, "SECRET_KEY": "k", key: value})
