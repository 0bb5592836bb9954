"""Kiosk routes before the exam: ping, check-in and the liveness burst."""

from __future__ import annotations

import base64

from flask import g

from exam_server.api import schemas
from exam_server.api.admission import face_work
from exam_server.api.blueprint import MAX_ID, bp
from exam_server.api.openapi import cached_document, form_files, form_text, operation, parse_json
from exam_server.api.present import sitting_view
from exam_server.extensions import db
from exam_server.face.errors import IMAGE_CODES
from exam_server.models import utcnow
from exam_server.plaintext import SINGLE_LINE_PATTERN
from exam_server.services.exam import checkin, consent, sittings
from exam_server.services.exam.refusals import Refusal

FRAMES_FORM = {
    "schema": {
        "type": "object",
        "required": ["checkin_token", "frames"],
        "properties": {
            "checkin_token": {"type": "string", "minLength": 1, "maxLength": 128, "pattern": SINGLE_LINE_PATTERN},
            "frames": {
                "type": "array",
                "minItems": checkin.MIN_FRAMES,
                "maxItems": checkin.MAX_FRAMES,
                "items": {"type": "string", "format": "binary"},
            },
        },
    },
    "encoding": {"frames": {"contentType": "image/jpeg, image/png"}},
}


@bp.get("/openapi.json")
@operation(summary="This document (no token needed)", public=True, tags=("meta",))
def openapi_document():
    return cached_document()


@bp.get("/ping")
@operation(summary="Check the token and read the server's clock", response=schemas.Ping)
def ping():
    return {"kiosk": {"id": g.kiosk.id, "name": g.kiosk.name}, "server_time": utcnow()}


@bp.get("/consent-notice")
@operation(
    summary="What the kiosk's consent notice must tell before filming (the retention of kiosk frames)",
    response=schemas.ConsentNotice,
)
def consent_notice():
    return consent.notice()


@bp.post("/checkins")
@operation(
    summary="Start a check-in: find the worker's exam and issue a liveness challenge",
    body=schemas.CheckinRequest,
    response=schemas.CheckinCreated,
    status=201,
    errors=(
        "worker_not_found",
        "invalid_citizen_id",
        "not_enrolled",
        "no_open_exam",
        "no_attempts_left",
        "already_passed",
        "sitting_suspended",
        "checkin_refused",
        "consent_required",
        "consent_outdated",
        *IMAGE_CODES,
    ),
)
def create_checkin():
    body = parse_json(schemas.CheckinRequest)
    now = utcnow()
    if body.consent is not None:
        consent.check(body.consent.notice_version, body.consent.retention_days)
    elif body.chip_photo:
        raise Refusal("consent_required")
    started = checkin.begin(db.session, g.kiosk, body.citizen_id, _chip_photo(body.chip_photo), now)
    if body.consent is not None:
        consent.record(db.session, started.checkin, body.consent.notice_version, body.consent.retention_days, now)
    view = {
        "checkin_id": started.checkin.id,
        "checkin_token": started.token,
        "expires_at": started.checkin.expires_at,
        "worker": {"name_masked": sittings.masked_name(started.worker)},
        "exam": {
            "name": started.plan.name,
            "duration_minutes": started.duration_minutes,
            "question_count": started.question_count,
            "resuming": started.resuming,
        },
        "challenge": checkin.challenge_of(started.checkin.challenge),
    }
    db.session.commit()
    return view


def _chip_photo(encoded: str | None) -> bytes | None:
    if not encoded:
        return None
    return base64.b64decode(encoded, validate=True)  # the request schema took only base64 (schemas.Base64Text)


@bp.post(f"/checkins/<int(min=1, max={MAX_ID}):checkin_id>/frames")
@operation(
    summary="Answer the challenge with a burst of frames; opens or resumes the sitting",
    multipart=FRAMES_FORM,
    response=schemas.FramesPassed,
    errors=(
        "checkin_not_found",
        "checkin_expired",
        "checkin_refused",
        "not_enrolled",
        "face_mismatch",
        "liveness_failed",
        "replayed_frames",
        "sitting_suspended",
        "sitting_elsewhere",
        "sitting_closed",
        "no_open_exam",
        "no_attempts_left",
        "consent_required",
        "face_busy",
        *IMAGE_CODES,
    ),
    description="Refused with consent_required unless the check-in carried the worker's consent. On a 422 the body also carries attempts_left and a new challenge to film. "
    "On a 503 face_busy nothing was analysed or counted: send the same burst again after "
    "retry_after seconds (also the Retry-After header).",
)
@face_work("frames", since=lambda checkin_id: checkin.started_at(db.session, g.kiosk, checkin_id))
def checkin_frames(checkin_id: int):
    token = form_text("checkin_token")
    frames = form_files("frames", checkin.MIN_FRAMES, checkin.MAX_FRAMES)
    now = utcnow()
    found = checkin.find(db.session, g.kiosk, checkin_id, token)
    consent.require(db.session, found)
    sitting = checkin.answer_challenge(db.session, g.kiosk, found, frames, now)
    consent.attach(db.session, found, sitting)
    view = {"result": "passed", "sitting": sitting_view(db.session, sitting, now, g.kiosk)}
    db.session.commit()
    return view
