"""Kiosk routes during the exam: the paper, autosave, the clock, face re-checks, submission; after it, the PIN."""

# Autosave and the clock do no face work and no paper assembly: the paper was drawn at check-in.
from __future__ import annotations

from flask import current_app, g, send_file, url_for

from exam_server.api import schemas
from exam_server.api.admission import face_work
from exam_server.api.blueprint import MAX_ID, bp
from exam_server.api.openapi import form_files, form_text, operation, parse_json
from exam_server.api.present import result, sitting_view
from exam_server.extensions import db
from exam_server.models import SittingStatus, utcnow
from exam_server.plaintext import SINGLE_LINE_PATTERN
from exam_server.services import addresses
from exam_server.services.exam import captures, question_images, sittings
from exam_server.services.exam.refusals import Refusal
from exam_server.services.practice import pins, sign_in_codes

SITTING = f"/sittings/<int(min=1, max={MAX_ID}):sitting_id>"
_OWN = ("sitting_not_found", "sitting_elsewhere")
_WRITE = (*_OWN, "sitting_suspended", "sitting_closed")
# After the exam: the sitting submitted here moments ago, its face checks without a doubt.
_AFTER = (*_OWN, "sitting_not_submitted", "pin_window_closed", "face_not_confirmed")
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
    view = sitting_view(db.session, sitting, now, g.kiosk)
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
    view = result(db.session, sitting, now, g.kiosk)
    db.session.commit()
    return view


@bp.post(f"{SITTING}/pin")
@operation(
    summary="Set or reset the worker's practice sign-in PIN on the result screen, after submitting",
    body=schemas.PinRequest,
    response=schemas.PinSet,
    errors=(*_AFTER, "pin_already_set", "invalid_pin"),
    description="Authorised by the kiosk's token for its own sitting, once submitted, within "
    "EXAM_PIN_WINDOW_SECONDS of the submission (the result's pin_until), if the face check that opened or "
    "resumed it here passed and no review case or last in-exam mismatch doubts it; once per sitting. A new "
    "PIN replaces the old one and ends the worker's sessions signed in with it.",
)
def set_pin(sitting_id: int):
    body = parse_json(schemas.PinRequest)
    sitting = sittings.load(db.session, sitting_id, g.kiosk, lock=True)  # one PIN per sitting, even when racing
    worker = pins.set_pin(db.session, g.kiosk, sitting, body.pin, utcnow())
    view = {
        "pin_set": True,
        "worker": {"name_masked": sittings.masked_name(worker)},
        "sign_in_path": url_for("worker.login"),
        # What the kiosk shows and puts in a QR code: the public address, not the one the kiosk reaches us at.
        "sign_in_url": addresses.public_url("worker.login"),
    }
    db.session.commit()
    return view


@bp.post(f"{SITTING}/sign-in-code")
@operation(
    summary="Issue a one-time sign-in address for the worker's phone on the result screen, after submitting",
    response=schemas.SignInCode,
    status=201,
    errors=_AFTER,
    description="Under the same rule as the PIN (without the once per sitting). The address "
    "(/worker/sign-in/<code>) signs the worker in once, within 10 minutes; only the code's SHA-256 is stored.",
)
def sign_in_code(sitting_id: int):
    sitting = sittings.load(db.session, sitting_id, g.kiosk)
    issued = sign_in_codes.issue_at_kiosk(db.session, g.kiosk, sitting, utcnow())
    view = {
        "worker": {"name_masked": sittings.masked_name(issued.worker)},
        "sign_in_url": addresses.public_url("worker.sign_in_code", code=issued.code),
        "expires_at": issued.expires_at,
    }
    db.session.commit()
    return view
