"""Judge a camera frame locally (one face, near enough, lit, facing the camera) and say what to do."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np

from kiosk_client.texts import HINTS

# Detection runs on a smaller grey copy, at least this wide; dlib's HOG finds faces from about 70 px in it.
DETECT_WIDTH = 400
# The server refuses faces under 80 px; asking for 120 keeps a margin for blur and a slight turn.
MIN_FACE_PX = 120
# The copy is never scaled so far down that a face of MIN_FACE_PX falls under HOG's reach: on a 1280 or
# 1920 px camera a fixed 400 px copy missed two 150 px faces (no_face instead of many_faces).
HOG_MIN_FACE_PX = 80
MAX_FACE_SHARE = 0.65
MIN_BRIGHTNESS, MAX_BRIGHTNESS = 60.0, 210.0
# With no face found, only a really dark or washed-out scene is blamed on the light.
SCENE_DARK, SCENE_BRIGHT = 40.0, 225.0
MAX_YAW_DEG = 12.0

TEXTS = HINTS  # the instruction for each code, as kiosk_client/texts.py words it
ICONS = {
    "ok": "check",
    "no_face": "person",
    "many_faces": "people",
    "come_closer": "closer",
    "too_close": "back",
    "more_light": "light",
    "too_bright": "light",
    "look_at_camera": "eye",
    "no_camera": "camera",
}

# A generic adult head in millimetres (nose tip at the origin), the same points the server's pose uses.
_MODEL_3D = np.array(
    [
        (0.0, 0.0, 0.0),
        (0.0, 63.6, 12.5),
        (-43.3, -32.7, 26.0),
        (43.3, -32.7, 26.0),
        (-28.9, 28.9, 24.1),
        (28.9, 28.9, 24.1),
    ],
    dtype=np.float64,
)
# iBUG 68 indices: nose tip, chin, outer eye corners, mouth corners (image left first).
_POSE_POINTS = [30, 8, 36, 45, 48, 54]


@dataclass(frozen=True)
class Guidance:
    """The verdict on one frame: an instruction code, its Chinese text, and the face found."""

    code: str
    box: tuple[int, int, int, int] | None = None  # left, top, right, bottom in frame pixels
    face_px: int = 0
    yaw: float = 0.0
    brightness: float = 0.0
    millis: float = 0.0  # CPU time of this thread: the cost on one core, whatever else the machine runs
    wall_millis: float = 0.0

    @property
    def ok(self) -> bool:
        """Tell whether the frame is good for filming."""
        return self.code == "ok"

    @property
    def text(self) -> str:
        """Return the instruction in Chinese."""
        return TEXTS[self.code]

    def to_dict(self) -> dict:
        """Return the verdict for the screen."""
        return {
            "code": self.code,
            "text": self.text,
            "icon": ICONS[self.code],
            "face_px": self.face_px,
            "yaw": round(self.yaw, 1),
            "brightness": round(self.brightness, 1),
            "millis": round(self.millis, 1),
            "wall_millis": round(self.wall_millis, 1),
        }


def _models():
    """Load dlib's HOG detector and 68-point shape predictor once per process."""
    global _loaded
    with _load_lock:
        if _loaded is None:
            import dlib
            import face_recognition_models

            _loaded = (
                dlib.get_frontal_face_detector(),
                dlib.shape_predictor(face_recognition_models.pose_predictor_model_location()),
                dlib,
            )
        return _loaded


_loaded: tuple[Any, Any, Any] | None = None  # detector, shape predictor, the dlib module
_load_lock = threading.Lock()


def head_yaw(points: np.ndarray, width: int, height: int) -> float:
    """Return the yaw in degrees from 68 landmarks; positive when the nose points to the image's right."""
    focal = float(max(width, height))
    camera = np.array([[focal, 0, width / 2.0], [0, focal, height / 2.0], [0, 0, 1]], dtype=np.float64)
    ok, rvec, _ = cv2.solvePnP(_MODEL_3D, points[_POSE_POINTS], camera, np.zeros(4), flags=cv2.SOLVEPNP_ITERATIVE)
    if not ok:
        return 0.0
    forward = cv2.Rodrigues(rvec)[0] @ np.array([0.0, 0.0, -1.0])
    return float(np.degrees(np.arctan2(forward[0], -forward[2])))


class FaceGuide:
    """Turn frames into instructions, detecting on a downscaled grey copy."""

    def __init__(self, detect_width: int = DETECT_WIDTH, min_face_px: int = MIN_FACE_PX) -> None:
        self.detect_width = detect_width
        self.min_face_px = min_face_px
        self.detector, self.predictor, self._dlib = _models()

    def faces(self, frame: np.ndarray) -> tuple[np.ndarray, float, list]:
        """Return the grey working copy, its scale from the frame, and the dlib rectangles found in it."""
        grey = cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY) if frame.ndim == 3 else frame
        scale = min(1.0, max(self.detect_width / grey.shape[1], HOG_MIN_FACE_PX / self.min_face_px))
        small = cv2.resize(grey, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA) if scale < 1 else grey
        return small, scale, list(self.detector(small, 0))

    def judge(self, frame: np.ndarray) -> Guidance:
        """Return the instruction for this frame."""
        started, cpu_started = time.perf_counter(), time.thread_time()
        small, scale, rects = self.faces(frame)
        height, width = frame.shape[:2]
        scene = float(small.mean())

        def verdict(code: str, **extra) -> Guidance:
            """Return the Guidance for a code, timed."""
            return Guidance(
                code,
                brightness=extra.pop("brightness", scene),
                millis=(time.thread_time() - cpu_started) * 1000,
                wall_millis=(time.perf_counter() - started) * 1000,
                **extra,
            )

        if not rects:
            return verdict("more_light" if scene < SCENE_DARK else "too_bright" if scene > SCENE_BRIGHT else "no_face")
        if len(rects) > 1:
            return verdict("many_faces")
        rect = rects[0]
        box = (
            max(0, int(rect.left() / scale)),
            max(0, int(rect.top() / scale)),
            min(width, int(rect.right() / scale)),
            min(height, int(rect.bottom() / scale)),
        )
        face_px = box[2] - box[0]
        patch = small[max(0, rect.top()) : rect.bottom(), max(0, rect.left()) : rect.right()]
        light = float(patch.mean()) if patch.size else scene
        found = {"box": box, "face_px": face_px, "brightness": light}
        if face_px < self.min_face_px:
            return verdict("come_closer", **found)
        if face_px > MAX_FACE_SHARE * min(width, height):
            return verdict("too_close", **found)
        if light < MIN_BRIGHTNESS:
            return verdict("more_light", **found)
        if light > MAX_BRIGHTNESS:
            return verdict("too_bright", **found)
        shape = self.predictor(small, rect)
        points = np.array([(p.x, p.y) for p in shape.parts()], dtype=np.float64)
        yaw = head_yaw(points, small.shape[1], small.shape[0])
        return verdict("look_at_camera" if abs(yaw) > MAX_YAW_DEG else "ok", yaw=yaw, **found)
