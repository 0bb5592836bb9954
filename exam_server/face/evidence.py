"""Keep a frame as evidence under an unguessable file name."""

from __future__ import annotations

import datetime as dt
import os
import secrets
from pathlib import Path

import cv2
import numpy as np

from .intake import decode_image
from .settings import FaceSettings


def save_evidence(
    frame: bytes | np.ndarray,
    directory: str | os.PathLike[str],
    quality: int = 90,
    now: dt.datetime | None = None,
    settings: FaceSettings | None = None,
) -> str:
    """Write a frame (image bytes or an RGB array) as JPEG and return its path relative to the directory.

    The file goes into a dated folder, ``now``'s date as given: pass an instant on the wall clock whose
    day should name the folder (the server passes the bureau's).
    """
    if isinstance(frame, np.ndarray):
        rgb = frame
    else:
        # Re-encoding drops whatever metadata (GPS, device serials) the upload carried.
        rgb = decode_image(bytes(frame), settings or FaceSettings(), max_side=0).rgb
    if rgb.ndim == 2:
        rgb = cv2.cvtColor(rgb, cv2.COLOR_GRAY2RGB)
    ok, encoded = cv2.imencode(".jpg", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        raise ValueError("cannot encode the frame as JPEG")
    day = (now or dt.datetime.now(dt.UTC)).strftime("%Y/%m/%d")
    relative = Path(day) / f"{secrets.token_urlsafe(24)}.jpg"
    target = Path(directory) / relative
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o640)
    with os.fdopen(fd, "wb") as handle:
        handle.write(encoded.tobytes())
    os.replace(tmp, target)
    return relative.as_posix()
