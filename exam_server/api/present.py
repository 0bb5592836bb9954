"""Turn sittings into the JSON the kiosk sees (never the answers or the option mapping)."""

from __future__ import annotations

from datetime import datetime

from exam_server.database import DbSession
from exam_server.models import Kiosk, Sitting, SittingStatus
from exam_server.services.exam import certificates, feedback, sittings
from exam_server.services.practice import pins

LETTERS = "ABCDEF"


def result(session: DbSession, sitting: Sitting, now: datetime, kiosk: Kiosk) -> dict | None:
    """Return the graded result of a submitted sitting, with its certificate when it passed, as this kiosk sees it."""
    if sitting.status is not SittingStatus.SUBMITTED:
        return None
    certificate = sittings.certificate_of(session, sitting.id)
    return {
        "status": "submitted",
        "score": sitting.score,
        "max_score": sitting.max_score,
        "pass_mark": sitting.paper["pass_mark"],
        "passed": bool(sitting.passed),
        "certificate": None
        if certificate is None
        else {
            "number": certificate.number,
            "issued_on": certificate.issued_on,
            "valid_until": certificate.valid_until,
            # The address the printed certificate's QR code carries (EXAM_PUBLIC_BASE_URL, else this host).
            "verify_url": certificates.verify_url(certificate.verify_code),
        },
        **feedback.feedback(session, sitting, now),
        # The result screen offers the practice PIN only when the server would take it.
        "pin_until": pins.offer_until(session, kiosk, sitting, now),
        "server_time": now,
        "remaining_seconds": 0,
    }


def sitting_view(session: DbSession, sitting: Sitting, now: datetime, kiosk: Kiosk) -> dict:
    """Return the sitting with its presented paper and the responses saved so far."""
    questions = [
        {
            "item_no": item["number"],
            "type": item["type"],
            "stem": item["stem"],
            "points": item["points"],
            "options": [{"letter": LETTERS[i], "text": text} for i, text in enumerate(item["options"])],
            "image": bool(item.get("image")),
        }
        for item in sitting.paper["items"]
    ]
    return {
        "id": sitting.id,
        "status": sitting.status.value,
        "deadline_at": sitting.deadline_at,
        "server_time": now,
        "remaining_seconds": sittings.remaining_seconds(sitting, now),
        "questions": questions,
        "answers": {str(k): v for k, v in sorted(sittings.answers_of(session, sitting.id).items())},
        "result": result(session, sitting, now, kiosk),
    }
