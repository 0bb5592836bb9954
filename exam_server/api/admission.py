"""Face routes take their turn on this process's face queue; a request that would wait too long gets 503 face_busy."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from functools import wraps

from flask import Flask, current_app, g, request
from flask.sansio.app import App

from exam_server.extensions import db
from exam_server.face.admission import FaceBusy, FaceQueue
from exam_server.models import utcnow
from exam_server.services.exam.refusals import Refusal

EXTENSION = "face_queue"


def install(app: App) -> None:
    """Give the app its per-process face queue, sized by the ANALYSIS_* settings."""
    app.extensions.setdefault(
        EXTENSION, FaceQueue(float(app.config["ANALYSIS_MAX_WAIT_SECONDS"]), int(app.config["ANALYSIS_CONCURRENCY"]))
    )


def face_queue(app: Flask | None = None) -> FaceQueue:
    return (app or current_app).extensions[EXTENSION]


def face_work(field: str, may_refuse: bool = True, since: Callable[..., datetime | None] | None = None):
    """Run the view in its turn, weighed by the images uploaded in `field`; refuse at once when busy if allowed.

    since: given the view's arguments, when the work began (a check-in's start), so that a request sent
    again after face_busy keeps its place among newer ones; default when the request arrived.
    """

    def decorate(view):
        @wraps(view)
        def wrapper(*args, **kwargs):
            g.arrived_at = utcnow()  # what the kiosk sent in time stays in time, however long the queue
            # Read the whole upload before any reply: answering a kiosk that is still sending breaks its
            # connection (measured: 8 of 200 check-in bursts lost that way when busy replies came first).
            frames = max(1, len(request.files.getlist(field)))  # the view validates the count itself
            queue = face_queue()
            began = since(**kwargs) if since is not None else None
            age = (began or g.arrived_at).replace(tzinfo=UTC).timestamp()
            if may_refuse:
                try:
                    queue.admit(age)
                except FaceBusy as busy:
                    raise Refusal("face_busy", retry_after=busy.retry_after) from None
            # End the kiosk lookup's read transaction: a request waiting its turn holds no pooled connection.
            db.session.rollback()
            with queue.turn(frames, f"{field}:{frames}", age):
                return view(*args, **kwargs)

        return wrapper

    return decorate
