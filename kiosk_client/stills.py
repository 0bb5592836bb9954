"""Film a still photo as the kiosk camera would: a trial or a benchmark without a webcam or a person."""

from __future__ import annotations

from functools import cache

import cv2
import dlib
import numpy as np

FRAME_SIZE = (640, 480)


@cache
def _detector():
    """Return dlib's HOG detector, loaded on first use (importing this module loads nothing)."""
    return dlib.get_frontal_face_detector()


def camera_frame(image: np.ndarray, face_px: int = 190, size: tuple[int, int] = FRAME_SIZE) -> np.ndarray:
    """Return the BGR photo of one person as a camera would film them: the face about face_px wide, centred."""
    factor = min(1.0, 1280 / max(image.shape[:2]))
    work = cv2.resize(image, None, fx=factor, fy=factor, interpolation=cv2.INTER_AREA)
    faces = _detector()(cv2.cvtColor(work, cv2.COLOR_BGR2GRAY), 1)
    if len(faces) != 1:
        raise ValueError(f"the photo must show one face, found {len(faces)}")
    face = faces[0]
    scale = face_px / face.width()
    scaled = cv2.resize(work, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_CUBIC)
    cx, cy = (face.left() + face.right()) / 2 * scale, (face.top() + face.bottom()) / 2 * scale
    width, height = size
    left, top = int(cx - width / 2), int(cy - height * 0.45)
    pad = max(width, height)
    padded = cv2.copyMakeBorder(scaled, pad, pad, pad, pad, cv2.BORDER_REPLICATE)
    return np.ascontiguousarray(padded[top + pad : top + pad + height, left + pad : left + pad + width])
