"""Console pages: the face review queue, one case with its photos and time line, and the decision."""

from __future__ import annotations

import io
import mimetypes
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

from flask import abort, current_app, flash, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import func, or_, select

from exam_server.console.blueprint import bp
from exam_server.extensions import db
from exam_server.i18n import error_text, translate_label
from exam_server.i18n import refusal_reason as refusal_label
from exam_server.models import (
    CheckIn,
    DomainError,
    FaceCheck,
    FacePhoto,
    FaceTemplate,
    Kiosk,
    ReviewCase,
    ReviewStatus,
    Sitting,
    User,
    utcnow,
)
from exam_server.services import policy
from exam_server.services.faces import face_service
from exam_server.services.faces import review as review_service

PER_PAGE, TIMELINE = 50, 50


def visible_case(case_id: int) -> ReviewCase:
    case = db.session.scalar(policy.review_cases(current_user).where(ReviewCase.id == case_id))
    if case is None:
        abort(404)
    return case


@bp.route("/review")
def review_queue():
    status = ReviewStatus.OPEN if request.args.get("status", "open") == "open" else None
    query = policy.review_cases(current_user)
    query = (
        query.where(ReviewCase.status == ReviewStatus.OPEN)
        if status
        else query.where(ReviewCase.status != ReviewStatus.OPEN)
    )
    total = db.session.scalar(select(func.count()).select_from(query.subquery()))
    page = max(1, request.args.get("page", 1, type=int))
    order = ReviewCase.created_at.asc() if status else ReviewCase.decided_at.desc()
    cases = db.session.scalars(query.order_by(order, ReviewCase.id).limit(PER_PAGE).offset((page - 1) * PER_PAGE)).all()
    return render_template(
        "console/review_queue.html",
        cases=cases,
        total=total,
        page=page,
        pages=max(1, -(-total // PER_PAGE)),
        open_only=bool(status),
        waited=waited,
        deciders=_users(c.decided_by_id for c in cases),
        checks=_checks(c.face_check_id for c in cases),
        measures=review_service.measures,
        summary=lambda case: review_service.summary(case, _),
    )


def waited(since: datetime) -> str:
    """Return how long ago a case opened, in the largest whole unit."""
    minutes = max(int((utcnow() - since).total_seconds() // 60), 0)
    if minutes < 60:
        return _("%(n)d分钟", n=minutes) if minutes else _("不到1分钟")
    return _("%(n)d小时", n=minutes // 60) if minutes < 48 * 60 else _("%(n)d天", n=minutes // 1440)


def _users(ids) -> dict[int, User]:
    ids = {i for i in ids if i}
    return {u.id: u for u in db.session.scalars(select(User).where(User.id.in_(ids)))} if ids else {}


def _checks(check_ids) -> dict[int, FaceCheck]:
    ids = {i for i in check_ids if i}
    return {c.id: c for c in db.session.scalars(select(FaceCheck).where(FaceCheck.id.in_(ids)))} if ids else {}


def _enrolled_photo(worker_id: int | None) -> FacePhoto | None:
    """Return the photo behind the worker's active template, else their newest photo."""
    if worker_id is None:
        return None
    return db.session.scalar(
        select(FacePhoto)
        .outerjoin(FaceTemplate, (FaceTemplate.photo_id == FacePhoto.id) & FaceTemplate.active)
        .where(FacePhoto.worker_id == worker_id)
        .order_by(FaceTemplate.id.is_(None), FacePhoto.created_at.desc())
        .limit(1)
    )


def _case_checks(case: ReviewCase) -> Sequence[FaceCheck]:
    """Return the face checks behind the case: its own, its check-in's and its sitting's."""
    related = [FaceCheck.id == case.face_check_id]
    related += [FaceCheck.checkin_id == case.checkin_id] if case.checkin_id else []
    related += [FaceCheck.sitting_id == case.sitting_id] if case.sitting_id else []
    return db.session.scalars(
        select(FaceCheck).where(or_(*related)).order_by(FaceCheck.created_at.desc()).limit(12)
    ).all()


@bp.route("/review/<int:case_id>")
def review_case(case_id: int):
    case = visible_case(case_id)
    checkin = db.session.get(CheckIn, case.checkin_id) if case.checkin_id else None
    timeline = db.session.scalars(
        select(FaceCheck)
        .where(FaceCheck.worker_id == case.worker_id)
        .order_by(FaceCheck.created_at.desc())
        .limit(TIMELINE)
    ).all()
    sitting = db.session.get(Sitting, case.sitting_id) if case.sitting_id else None
    kiosk_id = sitting.kiosk_id if sitting else checkin.kiosk_id if checkin else None
    return render_template(
        "console/review_case.html",
        case=case,
        checkin=checkin,
        photo=_enrolled_photo(case.worker_id),
        other_photo=_enrolled_photo(case.other_worker_id),
        checks=_case_checks(case),
        timeline=timeline,
        sitting=sitting,
        refusal_label=refusal_label,
        measures=review_service.measures,
        case_measures=review_service.measures(
            db.session.get(FaceCheck, case.face_check_id) if case.face_check_id else None
        ),
        summary=review_service.summary(case, _),
        kiosk=db.session.get(Kiosk, kiosk_id) if kiosk_id else None,
        decider=db.session.get(User, case.decided_by_id) if case.decided_by_id else None,
        can_decide=case.status is ReviewStatus.OPEN and policy.may_decide(current_user, case.worker),
    )


@bp.route("/review/<int:case_id>/decide", methods=["POST"])
def review_decide(case_id: int):
    case = visible_case(case_id)  # another county's case: 404, nothing is written
    outcome = request.form.get("outcome", "")
    try:
        if outcome not in (ReviewStatus.CONFIRMED.value, ReviewStatus.DISMISSED.value):
            raise DomainError(_("请选择确认或驳回 / choose confirm or dismiss"))
        review_service.decide(db.session, case, outcome, request.form.get("reason", ""), current_user)
        db.session.commit()
    except DomainError as exc:
        db.session.rollback()
        flash(error_text(exc), "error")
        return redirect(url_for("console.review_case", case_id=case_id))
    flash(
        _(
            "告警 #%(id)s %(outcome)s，处理结果已记入操作日志",
            id=case_id,
            outcome=translate_label(ReviewStatus(outcome).label),
        ),
        "success",
    )
    return redirect(url_for("console.review_queue"))


# How each kind of image is decoded to find its face: the chip's face is small and found with more upsampling.
IMAGE_KINDS = {"photo": "upload", "check": "live", "chip": "id_card"}


def _image_row(source: str, item_id: int) -> tuple[int, str | None]:
    """Return (worker id, path under DATA_DIR) of a photo, an evidence frame or a chip photo."""
    row: tuple[int, str | None] | None
    if source == "photo":
        row = db.session.execute(select(FacePhoto.worker_id, FacePhoto.path).where(FacePhoto.id == item_id)).first()
    elif source == "check":
        row = db.session.execute(
            select(FaceCheck.worker_id, FaceCheck.evidence_path).where(
                FaceCheck.id == item_id, FaceCheck.evidence_purged_at.is_(None)
            )
        ).first()
    elif source == "chip":
        row = db.session.execute(
            select(CheckIn.worker_id, CheckIn.chip_photo_path).where(CheckIn.id == item_id)
        ).first()
    else:
        row = None
    return (row[0], row[1]) if row else (0, None)


@bp.route("/review/image/<source>/<int:item_id>")
def review_image(source: str, item_id: int):
    """Serve a face image only when its worker is in the user's scope and part of a case they may see.

    With ``?crop=face`` the face is cut out of it as a square of one size (the whole image when it holds
    not exactly one face), so the enrolled photo and the live frames are compared at one scale.
    """
    worker_id, relative = _image_row(source, item_id)
    if not relative or not db.session.scalar(select(policy.may_see_face_image(current_user, worker_id))):
        abort(404)
    root = Path(current_app.config["DATA_DIR"]).resolve()
    path = (root / relative).resolve()
    if not path.is_relative_to(root) or not path.is_file():
        abort(404)
    crop = (
        face_service.face_crop(path.read_bytes(), IMAGE_KINDS[source]) if request.args.get("crop") == "face" else None
    )
    response = send_file(
        io.BytesIO(crop) if crop else path,
        mimetype="image/jpeg" if crop else mimetypes.guess_type(path.name)[0] or "application/octet-stream",
        max_age=0,
        conditional=False,
        etag=False,
    )
    response.headers["Cache-Control"] = "private, no-store"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response
