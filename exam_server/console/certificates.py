"""Console pages: certificates expiring within 30/60/90 days (and their export), and certificate PDFs.

Who sees what is decided in one place per page: ``_scope_list`` for the list and export (the user's
scope through certificates.visible), ``_certificate_or_404`` and ``_enterprise_or_404`` for downloads.
"""

from __future__ import annotations

from flask import Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from exam_server import localday
from exam_server.console.blueprint import bp
from exam_server.console.helpers import PER_PAGE, page_number
from exam_server.extensions import db
from exam_server.i18n import error_text, translate_label
from exam_server.models import N_, Certificate, DomainError, Enterprise, utcnow
from exam_server.services import audit, policy
from exam_server.services.exam import certificates
from exam_server.services.reporting import exports as ex

# A bundle of more pages would keep a worker busy for longer than a browser waits (about 10 ms a page).
PDF_PAGE_LIMIT = 1000
EXPORT_COLUMNS = [
    ex.Column(N_("企业名称"), width=30),
    ex.Column(N_("姓名")),
    ex.Column(N_("身份证号"), "id"),
    ex.Column(N_("手机号"), width=13),
    ex.Column(N_("证书编号"), width=20),
    ex.Column(N_("考试计划"), width=26),
] + [
    ex.Column(N_("发证日期"), "date"),
    ex.Column(N_("有效期至"), "date"),
    ex.Column(N_("剩余天数"), "int"),
    ex.Column(N_("状态")),
    ex.Column(N_("换证考试计划")),
]


def _filters() -> tuple[int, bool, int | None]:
    """Return (days, include_expired, enterprise id) from the query, refusing what the page does not offer."""
    days = request.args.get("within", 30, type=int)
    if days not in certificates.EXPIRY_WINDOWS:
        days = 30
    return days, request.args.get("expired") == "1", request.args.get("enterprise", type=int)


def _scope_list(days: int, include_expired: bool, enterprise_id: int | None):
    """Return the statement of the list: the user's scope, and an enterprise inside it when one is asked for."""
    if enterprise_id is not None:
        _enterprise_or_404(enterprise_id)
    return certificates.expiring(
        current_user, localday.today(), days, include_expired=include_expired, enterprise_id=enterprise_id
    )


def _enterprise_or_404(enterprise_id: int) -> Enterprise:
    enterprise = db.session.get(Enterprise, enterprise_id)
    if enterprise is None or not policy.can_see_enterprise(current_user, enterprise):
        abort(404)
    return enterprise


def _certificate_or_404(certificate_id: int) -> Certificate:
    return certificates.find(db.session, current_user, certificate_id) or abort(404)


@bp.route("/certificates")
def certificates_page():
    days, include_expired, enterprise_id = _filters()
    stmt = _scope_list(days, include_expired, enterprise_id)
    total, page = certificates.count(db.session, stmt), page_number()
    today = localday.today()
    rows = certificates.expiring_rows(db.session, stmt.limit(PER_PAGE).offset((page - 1) * PER_PAGE), today)
    own_enterprise = current_user.enterprise_id or enterprise_id
    return render_template(
        "console/certificates.html",
        rows=rows,
        total=total,
        page=page,
        pages=max(1, -(-total // PER_PAGE)),
        days=days,
        windows=certificates.EXPIRY_WINDOWS,
        include_expired=include_expired,
        enterprise=db.session.get(Enterprise, own_enterprise) if own_enterprise else None,
    )


@bp.route("/certificates/expiring.<fmt>")
def certificates_export(fmt: str):
    if fmt not in ("csv", "xlsx"):
        abort(404)
    days, include_expired, enterprise_id = _filters()
    today = localday.today()
    rows = [
        [
            r["enterprise"],
            r["name"],
            r["citizen_id"],
            r["phone"] or "",
            r["number"],
            r["exam"],
            r["issued_on"],
            r["valid_until"],
            r["days_left"],
            translate_label(r["state"].label),
            r["renewal"] or "",
        ]
        for r in certificates.expiring_rows(db.session, _scope_list(days, include_expired, enterprise_id), today)
    ]
    audit.record(
        db.session,
        "export",
        user_id=current_user.id,
        ip=request.remote_addr,
        detail={"kind": "certificates_expiring", "format": fmt, "within": days, "expired": include_expired},
    )
    db.session.commit()
    what = _("%(days)d天内到期证书", days=days)
    name = f"{what}_{localday.today(utcnow()):%Y%m%d}.{fmt}"
    columns = ex.translated(EXPORT_COLUMNS, _)
    if fmt == "csv":
        body, content_type = ex.csv_chunks(columns, rows), ex.CSV_CONTENT_TYPE
    else:
        heading = [what, _("导出时间：%(time)s", time=localday.format_local(utcnow()))]
        body = ex.file_chunks(ex.xlsx_file([(_("到期证书"), columns, rows)], heading))
        content_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    response = Response(body, content_type=content_type, direct_passthrough=True)
    response.headers["Content-Disposition"] = ex.content_disposition(name, f"certificates.{fmt}")
    response.headers["Cache-Control"] = "private, no-store"
    return response


def _send(found: list[Certificate], filename: str, back: str):
    try:
        document = certificates.render(db.session, found, filename)
    except DomainError as exc:
        flash(error_text(exc), "error")
        return redirect(back)
    audit.record(
        db.session,
        "certificate_downloaded",
        user_id=current_user.id,
        ip=request.remote_addr,
        detail={"certificates": [c.id for c in found][:50], "count": len(found)},
    )
    db.session.commit()
    return certificates.download_response(document)


@bp.route("/certificates/<int:certificate_id>.pdf")
def certificate_pdf(certificate_id: int):
    certificate = _certificate_or_404(certificate_id)
    back = url_for("console.worker_detail", worker_id=certificate.worker_id)
    return _send([certificate], f"{certificate.number}.pdf", back)


@bp.route("/enterprises/<int:enterprise_id>/certificates.pdf")
def enterprise_certificates_pdf(enterprise_id: int):
    enterprise = _enterprise_or_404(enterprise_id)
    found = certificates.of_enterprise(db.session, current_user, enterprise.id, localday.today())
    back = url_for("console.certificates_page", enterprise=enterprise.id)
    if not found:
        flash(_("“%(name)s”没有在有效期内的证书", name=enterprise.name), "error")
        return redirect(back)
    if len(found) > PDF_PAGE_LIMIT:
        flash(
            _(
                "共 %(count)d 张证书，超过单次下载上限 %(limit)d 张，请按人员分别下载。",
                count=len(found),
                limit=PDF_PAGE_LIMIT,
            ),
            "error",
        )
        return redirect(back)
    return _send(found, f"{enterprise.name}_证书_{localday.today():%Y%m%d}.pdf", back)
