"""Certificates after issue: finding one, what the public may see of it, its state, its address and its PDF."""

from __future__ import annotations

import io
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

from flask import Response, current_app, send_file
from sqlalchemy import Select, func, select
from sqlalchemy.orm import joinedload

from exam_server import localday
from exam_server.citizen_id import mask
from exam_server.database import DbSession
from exam_server.models import (
    N_,
    Certificate,
    CertificateState,
    DomainError,
    Enterprise,
    ExamPlan,
    FacePhoto,
    FaceTemplate,
    Sitting,
    User,
    Worker,
)
from exam_server.services import addresses
from exam_server.services.policy import can_see_enterprise, enterprise_filter
from exam_server.services.reporting import certificate_pdf

NUMBER = re.compile(r"^AQ\d{14}$")
EXPIRY_WINDOWS = (30, 60, 90)


def state(certificate: Certificate, today: date, expiring_within: int = 0) -> CertificateState:
    """Return revoked, expired, expiring (within ``expiring_within`` days) or valid, on the bureau's day."""
    if certificate.revoked_at is not None:
        return CertificateState.REVOKED
    if certificate.valid_until < today:
        return CertificateState.EXPIRED
    if expiring_within and certificate.valid_until <= today + timedelta(days=expiring_within):
        return CertificateState.EXPIRING
    return CertificateState.VALID


def normalise_number(number: str) -> str:
    """Return a typed certificate number in its printed form (spaces dropped, letters upper case)."""
    return re.sub(r"\s+", "", number or "").upper()


def by_code(session: DbSession, code: str) -> Certificate | None:
    """Return the certificate whose QR code carries ``code``."""
    return session.scalar(select(Certificate).where(Certificate.verify_code == (code or "")[:32]))


def by_number_and_name(session: DbSession, number: str, name: str) -> Certificate | None:
    """Return the certificate with this printed number only if the holder's name matches too."""
    number = normalise_number(number)
    if not NUMBER.match(number):
        return None
    certificate = session.scalar(
        select(Certificate).options(joinedload(Certificate.worker)).where(Certificate.number == number)
    )
    if certificate is None or certificate.worker.name != (name or "").strip():
        return None  # the same answer for a wrong name as for no such number: a number alone reveals nothing
    return certificate


def masked_name(name: str) -> str:
    return name[0] + "*" * (len(name) - 1) if name else ""


def public_view(session: DbSession, certificate: Certificate, today: date | None = None) -> dict:
    """Return what the public verification page shows: masked holder, the facts, and the plain state."""
    today = today or localday.today()
    plan = session.get(ExamPlan, certificate.plan_id)
    worker = certificate.worker
    return {
        "number": certificate.number,
        "name": masked_name(worker.name),
        "citizen_id": mask(worker.citizen_id),
        "enterprise": worker.enterprise.name,
        "exam": plan.name if plan else "",
        "issued_on": certificate.issued_on,
        "valid_until": certificate.valid_until,
        "authority": current_app.config.get("CERTIFICATE_AUTHORITY") or "",
        "state": state(certificate, today),
        "revoked_reason": certificate.revoked_reason if certificate.revoked_at else None,
    }


def verify_url(code: str) -> str:
    """Return the absolute verification address of a QR code (PUBLIC_BASE_URL, else the request's host)."""
    url = addresses.public_url("public.verify_certificate", code=code)
    if url is None:
        raise DomainError(N_("未配置公开访问地址（EXAM_PUBLIC_BASE_URL），无法生成证书查验二维码"))
    return url


# ---- the document -------------------------------------------------------------------------------------------------


def _facts(session: DbSession, certificate: Certificate, with_photo: bool) -> certificate_pdf.CertificateFacts:
    worker = certificate.worker
    plan = session.get(ExamPlan, certificate.plan_id)
    sitting = session.get(Sitting, certificate.sitting_id)
    photo = None
    if with_photo:
        photo = session.scalar(
            select(FacePhoto.path)
            .join(FaceTemplate, FaceTemplate.photo_id == FacePhoto.id)
            .where(FaceTemplate.worker_id == worker.id, FaceTemplate.active)
            .order_by(FaceTemplate.id.desc())
            .limit(1)
        )
    return certificate_pdf.CertificateFacts(
        number=certificate.number,
        name=worker.name,
        citizen_id=mask(worker.citizen_id),
        enterprise=worker.enterprise.name,
        exam=plan.name if plan else "",
        score=sitting.score if sitting else None,
        max_score=sitting.max_score if sitting else None,
        issued_on=certificate.issued_on,
        valid_until=certificate.valid_until,
        verify_url=verify_url(certificate.verify_code),
        photo_path=str(Path(current_app.config["DATA_DIR"]) / photo) if photo else None,
        revoked=certificate.revoked_at is not None,
    )


def document_settings() -> certificate_pdf.DocumentSettings:
    """Return the document settings from the configuration, refusing to print without an issuing authority."""
    config = current_app.config
    authority = config.get("CERTIFICATE_AUTHORITY") or ""
    if not authority:
        raise DomainError(N_("未配置发证机关名称（EXAM_CERTIFICATE_AUTHORITY），无法生成证书"))
    return certificate_pdf.DocumentSettings(
        authority=authority,
        seal_image=config.get("CERTIFICATE_SEAL_IMAGE"),
        page_size=config["CERTIFICATE_PAGE_SIZE"],
        font_path=config.get("CERTIFICATE_FONT") or "",
    )


@dataclass(frozen=True)
class Document:
    filename: str
    data: bytes


def render(session: DbSession, certificates: Sequence[Certificate], filename: str) -> Document:
    """Render certificates as one PDF, a page each, in the given order."""
    if not certificates:
        raise DomainError(N_("没有可打印的证书"))
    with_photo = bool(current_app.config.get("CERTIFICATE_SHOW_PHOTO"))
    facts = [_facts(session, c, with_photo) for c in certificates]
    return Document(filename, certificate_pdf.render(facts, document_settings()))


def document_for_worker(session: DbSession, worker: Worker, certificate_id: int) -> Document:
    """Return the worker's own certificate as a PDF; another person's certificate is not found."""
    certificate = session.get(Certificate, certificate_id)
    if certificate is None or certificate.worker_id != worker.id:
        raise LookupError("certificate not found")
    return render(session, [certificate], f"{certificate.number}.pdf")


def download_response(document: Document) -> Response:
    """Send a certificate PDF as an attachment that no cache keeps (personal data)."""
    response = send_file(
        io.BytesIO(document.data), mimetype="application/pdf", as_attachment=True, download_name=document.filename
    )
    response.headers["Cache-Control"] = "private, no-store"
    return response


# ---- the console's view: who sees which certificates ---------------------------------------------------------------


def visible(user: User) -> Select:
    """Return the certificates of the user's scope (city: all, county: its enterprises, enterprise: its own)."""
    stmt = (
        select(Certificate)
        .join(Worker, Worker.id == Certificate.worker_id)
        .join(Enterprise, Enterprise.id == Worker.enterprise_id)
    )
    return enterprise_filter(user, stmt, Enterprise.id, Enterprise.county_id)


def find(session: DbSession, user: User, certificate_id: int) -> Certificate | None:
    """Return the certificate if it is inside the user's scope."""
    certificate = session.get(Certificate, certificate_id)
    if certificate is None or not can_see_enterprise(user, certificate.worker.enterprise):
        return None
    return certificate


def of_enterprise(session: DbSession, user: User, enterprise_id: int, today: date) -> list[Certificate]:
    """Return the current (not revoked, not expired) certificates of an enterprise's workers, if in scope."""
    enterprise = session.get(Enterprise, enterprise_id)
    if enterprise is None or not can_see_enterprise(user, enterprise):
        return []
    stmt = (
        select(Certificate)
        .join(Worker, Worker.id == Certificate.worker_id)
        .where(
            Worker.enterprise_id == enterprise_id,
            Worker.active,
            Certificate.revoked_at.is_(None),
            Certificate.valid_until >= today,
        )
        .order_by(Worker.name, Certificate.issued_on.desc())
    )
    return list(session.scalars(stmt))


def expiring(
    user: User, today: date, within_days: int, *, include_expired: bool = False, enterprise_id: int | None = None
) -> Select:
    """Return the user's certificates (not revoked) expiring within ``within_days`` of today, soonest first."""
    stmt = visible(user).where(
        Certificate.revoked_at.is_(None),
        Certificate.valid_until <= today + timedelta(days=within_days),
        Worker.active,
    )
    if not include_expired:
        stmt = stmt.where(Certificate.valid_until >= today)
    if enterprise_id:
        stmt = stmt.where(Enterprise.id == enterprise_id)
    return stmt.order_by(Certificate.valid_until, Certificate.id)


def count(session: DbSession, stmt: Select) -> int:
    """Count the rows a certificate SELECT returns."""
    return session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery())) or 0


def expiring_rows(session: DbSession, stmt: Select, today: date) -> list[dict]:
    """Return the listed certificates as rows for the page and the export (holder, enterprise, renewal)."""
    rows = []
    certificates = session.scalars(
        stmt.options(
            joinedload(Certificate.worker).joinedload(Worker.enterprise), joinedload(Certificate.renewal_requirement)
        )
    ).unique()
    plans = dict(session.execute(select(ExamPlan.id, ExamPlan.name)).all())
    for c in certificates:
        rows.append(
            {
                "id": c.id,
                "number": c.number,
                "name": c.worker.name,
                "citizen_id": c.worker.citizen_id,
                "phone": c.worker.phone,
                "enterprise": c.worker.enterprise.name,
                "enterprise_id": c.worker.enterprise_id,
                "worker_id": c.worker_id,
                "exam": plans.get(c.plan_id, ""),
                "issued_on": c.issued_on,
                "valid_until": c.valid_until,
                "days_left": (c.valid_until - today).days,
                "state": state(c, today, expiring_within=max(EXPIRY_WINDOWS)),
                "renewal": plans.get(c.renewal_requirement.plan_id, "") if c.renewal_requirement else None,
                "renewal_status": c.renewal_requirement.status.value if c.renewal_requirement else None,
            }
        )
    return rows
