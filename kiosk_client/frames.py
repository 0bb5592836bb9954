"""Crop camera frames to a margin around the face and encode them as JPEG for the server."""

from __future__ import annotations

import cv2
import numpy as np

# The server refuses faces under 80 px wide; a cropped face is never scaled below this.
MIN_SENT_FACE_PX = 120
# Faces wider than this are scaled down: identity needs no more, and the upload shrinks.
MAX_SENT_FACE_PX = 220
MARGIN = 0.6  # of the face width on each side: hair, ears and the neck stay in the picture
JPEG_QUALITY = 90

Box = tuple[int, int, int, int]


def union(boxes: list[Box]) -> Box | None:
    """Return the smallest box holding every box given, or None for none."""
    if not boxes:
        return None
    return (min(b[0] for b in boxes), min(b[1] for b in boxes), max(b[2] for b in boxes), max(b[3] for b in boxes))


def crop_region(box: Box, shape: tuple[int, ...], margin: float = MARGIN) -> Box:
    """Grow a face box by the margin on every side, clipped to the frame."""
    height, width = shape[:2]
    side = max(box[2] - box[0], box[3] - box[1])
    pad = int(round(side * margin))
    return (max(0, box[0] - pad), max(0, box[1] - pad), min(width, box[2] + pad), min(height, box[3] + pad))


def encode(frame: np.ndarray, quality: int = JPEG_QUALITY) -> bytes:
    """Encode a frame as JPEG."""
    ok, data = cv2.imencode(".jpg", frame, [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        raise ValueError("JPEG encoding failed")
    return data.tobytes()


def scale_for(face_px: int, max_face_px: int = MAX_SENT_FACE_PX) -> float:
    """Return the downscale factor that brings the face to max_face_px, never below MIN_SENT_FACE_PX, never up."""
    if face_px <= max_face_px:
        return 1.0
    return max(max_face_px, MIN_SENT_FACE_PX) / face_px


def crop_jpegs(frames: list[np.ndarray], face_box: Box | None, face_px: int) -> list[bytes]:
    """Return the frames as JPEGs cut to one shared region around the face (whole frames if none was found)."""
    if face_box is None:
        # Nothing to centre on: send the frame whole and let the server say what is wrong.
        return [encode(frame) for frame in frames]
    left, top, right, bottom = crop_region(face_box, frames[0].shape)
    factor = scale_for(face_px)
    out = []
    for frame in frames:
        part = frame[top:bottom, left:right]
        if factor < 1.0:
            part = cv2.resize(part, None, fx=factor, fy=factor, interpolation=cv2.INTER_AREA)
        out.append(encode(part))
    return out
