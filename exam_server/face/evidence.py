"""Keep a frame as evidence under an unguessable file name; cut a face out of an image for a reviewer."""

from __future__ import annotations

import datetime as dt
import os
import secrets
from pathlib import Path

import cv2
import numpy as np

from .detection import FaceBox
from .intake import decode_image
from .settings import FaceSettings


def face_square(rgb: np.ndarray, box: FaceBox, size: int = 240, margin: float = 0.4) -> np.ndarray:
    """Return a size x size RGB crop centred on the face, ``margin`` of its size added on each side.

    Every face a reviewer compares (enrolled photo, chip, live frames) then fills the same square at the
    same scale, whatever the image it came from; parts of the square outside the image stay grey.
    """
    side = round(max(box.width, box.height) * (1 + 2 * margin))
    left = round((box.left + box.right - side) / 2)
    top = round((box.top + box.bottom - side) / 2)
    height, width = rgb.shape[:2]
    region = rgb[max(top, 0) : max(min(top + side, height), 0), max(left, 0) : max(min(left + side, width), 0)]
    if region.size == 0:
        return np.full((size, size, 3), 128, np.uint8)
    square = cv2.copyMakeBorder(  # the part of the square beyond the image's edges
        region,
        max(-top, 0),
        side - region.shape[0] - max(-top, 0),
        max(-left, 0),
        side - region.shape[1] - max(-left, 0),
        cv2.BORDER_CONSTANT,
        value=(128, 128, 128),
    )
    interpolation = cv2.INTER_AREA if side > size else cv2.INTER_LINEAR
    return cv2.resize(square, (size, size), interpolation=interpolation)


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
