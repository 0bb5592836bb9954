"""Replayed frames: a kiosk frame near-identical to one already sent for the worker, or to a stored photo."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import numpy as np
from flask import current_app
from sqlalchemy import select

from exam_server.database import DbSession
from exam_server.face import FaceEngine, FaceRefusal, replay
from exam_server.models import CheckIn, CheckKind, FacePhoto, FrameHash
from exam_server.services.faces import face_service

# Hashes compared per worker: years of visits (a few check-ins and a hundred captures a year).
_RECENT = 5000


def hash_frames(decoded: Sequence[np.ndarray | FaceRefusal]) -> list[bytes | None]:
    """Return each decoded frame's perceptual hash (None for one refused at decoding: liveness refuses it later)."""
    return [None if isinstance(rgb, FaceRefusal) else replay.phash(rgb) for rgb in decoded]


def photo_hashes(session: DbSession, engine: FaceEngine, worker_id: int) -> list[bytes]:
    """Return the hashes of the worker's enrolment photos and kept ID-card chip photos."""
    chips = select(CheckIn.chip_photo_path).where(CheckIn.worker_id == worker_id, CheckIn.chip_photo_path.is_not(None))
    paths = [*session.scalars(select(FacePhoto.path).where(FacePhoto.worker_id == worker_id)), *session.scalars(chips)]
    root = face_service.data_dir()
    found = []
    for path in paths:
        if path is None:
            continue
        try:
            digest = replay.phash(engine.decode((root / path).read_bytes(), "upload").rgb)
        except (OSError, FaceRefusal):  # purged evidence, or a photo the engine no longer reads
            continue
        if digest is not None:
            found.append(digest)
    return found


def seen_hashes(session: DbSession, worker_id: int) -> list[bytes]:
    """Return the hashes of the frames kiosks sent for the worker, newest first."""
    return list(
        session.scalars(
            select(FrameHash.phash)
            .where(FrameHash.worker_id == worker_id)
            .order_by(FrameHash.created_at.desc(), FrameHash.id.desc())
            .limit(_RECENT)
        )
    )


def judge(
    session: DbSession, engine: FaceEngine, worker_id: int, hashes: list[bytes | None], burst: bool
) -> dict | None:
    """Return why these frames are a replay ({"photo": [...], "seen": [...]} frame numbers), or None."""
    max_bits = current_app.config["REPLAY_MAX_BITS"]
    if max_bits < 0:
        return None
    photos = photo_hashes(session, engine, worker_id)
    like_photo = [n for n, h in enumerate(hashes) if h is not None and replay.is_replay(h, photos, max_bits)]
    like_seen: list[int] = []
    if burst:
        seen, copy_bits = seen_hashes(session, worker_id), min(max_bits, replay.COPY_MAX_BITS)
        like_seen = [n for n, h in enumerate(hashes) if h is not None and replay.is_replay(h, seen, copy_bits)]
    # A recording sent again, re-encoded or spliced from earlier ones has every frame within the copy bound of
    # a frame already seen; a worker filmed again at the same kiosk, moving as the challenge asks, may repeat
    # a few poses (a frontal frame before the first move) but not three quarters of the burst.
    # An in-exam capture is compared with the stored photos only: a seated worker whose head moves 4-8 px
    # between two captures, before the same background, films frames 4-54 bits apart (median 12-24,
    # scripts/measure_replay_hash.py), as close as a re-encoded copy, so comparing captures with earlier
    # frames would refuse honest workers until their sitting is suspended.
    replayed = like_photo or (4 * len(like_seen) >= 3 * len(hashes) if burst else [])
    if not replayed:
        return None
    return {"photo": like_photo, "seen": like_seen, "max_bits": max_bits}


def remember(
    session: DbSession,
    worker_id: int,
    hashes: list[bytes | None],
    kind: CheckKind,
    now: datetime,
    *,
    checkin_id: int | None = None,
    sitting_id: int | None = None,
) -> None:
    """Keep the hashes of frames a kiosk sent, to recognise them if they are sent again."""
    session.add_all(
        FrameHash(worker_id=worker_id, kind=kind, checkin_id=checkin_id, sitting_id=sitting_id, phash=h, created_at=now)
        for h in hashes
        if h is not None
    )
