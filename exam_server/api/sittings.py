"""Kiosk routes during the exam: the paper, autosave, the clock, face re-checks and submission."""

# Autosave and the clock do no face work and no paper assembly: the paper was drawn at check-in.
from __future__ import annotations

from flask import current_app, g, send_file

from exam_server.api import schemas
from exam_server.api.admission import face_work
from exam_server.api.blueprint import MAX_ID, bp
from exam_server.api.openapi import form_files, form_text, operation, parse_json
from exam_server.api.present import result, sitting_view
from exam_server.extensions import db
from exam_server.models import SittingStatus, utcnow
from exam_server.plaintext import SINGLE_LINE_PATTERN
from exam_server.services.exam import captures, question_images, sittings
from exam_server.services.exam.refusals import Refusal

SITTING = f"/sittings/<int(min=1, max={MAX_ID}):sitting_id>"
_OWN = ("sitting_not_found", "sitting_elsewhere")
_WRITE = (*_OWN, "sitting_suspended", "sitting_closed")
CAPTURE_FORM = {
    "schema": {
        "type": "object",
        "required": ["nonce", "frame"],
        "properties": {
            "nonce": {"type": "string", "minLength": 1, "maxLength": 64, "pattern": SINGLE_LINE_PATTERN},
            "frame": {"type": "string", "format": "binary"},
        },
    },
    "encoding": {"frame": {"contentType": "image/jpeg, image/png"}},
}


@bp.get(SITTING)
@operation(
    summary="The sitting: paper without answers, saved responses, result", response=schemas.SittingView, errors=_OWN
)
def get_sitting(sitting_id: int):
    now = utcnow()
    sitting = sittings.load(db.session, sitting_id, g.kiosk)
    sittings.close_if_overdue(db.session, sitting, now)
    view = sitting_view(db.session, sitting, now)
    db.session.commit()
    return view


@bp.get(f"{SITTING}/items/<int(min=1, max=1000):item_no>/image")
@operation(
    summary="The picture an item of the paper shows (a safety sign, a hazard label)",
    binary=("image/png", "image/jpeg"),
    errors=(*_OWN, "question_not_on_paper", "question_has_no_image"),
)
def item_image(sitting_id: int, item_no: int):
    sitting = sittings.load(db.session, sitting_id, g.kiosk)
    item = sittings.paper_item(sitting, item_no)
    path = question_images.path_of(current_app.config["DATA_DIR"], item.get("image") or "")
    if path is None:
        raise Refusal("question_has_no_image")
    response = send_file(path, mimetype="image/png" if path.suffix == ".png" else "image/jpeg", max_age=0)
    response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.put(f"{SITTING}/answers/<int(min=1, max=1000):item_no>")
@operation(
    summary="Save the response to one item (the same answer twice is stored once)",
    body=schemas.AnswerRequest,
    response=schemas.AnswerSaved,
    errors=(*_WRITE, "question_not_on_paper"),
)
def save_answer(sitting_id: int, item_no: int):
    body = parse_json(schemas.AnswerRequest)
    now = utcnow()
    sitting = sittings.load(db.session, sitting_id, g.kiosk, lock=True)
    answer = sittings.save_answer(db.session, sitting, item_no, body.response, body.idempotency_key, now)
    view = {
        "item_no": answer.item_no,
        "response": answer.response,
        "revision": answer.revision,
        "saved_at": answer.answered_at,
        "server_time": now,
        "remaining_seconds": sittings.remaining_seconds(sitting, now),
    }
    db.session.commit()
    return view


@bp.get(f"{SITTING}/clock")
@operation(
    summary="The server's clock and the face capture due now, if any (poll every 5 s)",
    response=schemas.Clock,
    errors=_OWN,
)
def clock(sitting_id: int):
    now = utcnow()
    sitting = sittings.load(db.session, sitting_id, g.kiosk)
    sittings.close_if_overdue(db.session, sitting, now)
    due = captures.current(db.session, sitting, now) if sitting.status is SittingStatus.IN_PROGRESS else None
    view = {
        "status": sitting.status.value,
        "remaining_seconds": sittings.remaining_seconds(sitting, now),
        "deadline_at": sitting.deadline_at,
        "server_time": now,
        "capture": due,
    }
    db.session.commit()
    return view


@bp.post(f"{SITTING}/captures")
@operation(
    summary="Answer a capture request with one frame",
    multipart=CAPTURE_FORM,
    response=schemas.CaptureResult,
    errors=(*_WRITE, "nonce_invalid", "nonce_used", "nonce_expired"),
)
# A capture waits its turn but is never turned away: its sitting is under way and its nonce would expire.
@face_work("frame", may_refuse=False)
def capture(sitting_id: int):
    nonce = form_text("nonce", 64)
    frame = form_files("frame", 1, 1)[0]
    # The nonce is judged at the frame's arrival: its 30 s must not run out while it queued for analysis.
    sitting = sittings.load(db.session, sitting_id, g.kiosk, lock=True)
    sittings.require_writable(db.session, sitting, g.arrived_at)
    sitting, decision = captures.take(db.session, sitting, nonce, frame, g.arrived_at)
    now = utcnow()
    view = {
        "decision": decision,
        "message": captures.MESSAGES[decision],
        "status": sitting.status.value,
        "server_time": now,
        "remaining_seconds": sittings.remaining_seconds(sitting, now),
    }
    db.session.commit()
    return view


@bp.post(f"{SITTING}/submit")
@operation(
    summary="Submit for grading; submitting again returns the same result",
    body=schemas.SubmitRequest,
    response=schemas.Result,
    errors=_WRITE,
)
def submit(sitting_id: int):
    parse_json(schemas.SubmitRequest)
    now = utcnow()
    sitting = sittings.load(db.session, sitting_id, g.kiosk, lock=True)
    sittings.submit(db.session, sitting, now)
    view = result(db.session, sitting, now)
    db.session.commit()
    return view
