"""Find faces and their landmarks; dlib HOG and the iBUG 68-point model are one implementation."""

from __future__ import annotations

import threading
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np


@dataclass(frozen=True)
class FaceBox:
    """A detected face rectangle in image pixels (right and bottom exclusive)."""

    left: int
    top: int
    right: int
    bottom: int
    score: float = 0.0

    @property
    def width(self) -> int:
        return self.right - self.left

    @property
    def height(self) -> int:
        return self.bottom - self.top

    def clipped(self, width: int, height: int) -> FaceBox:
        """Return the box cut to the image bounds."""
        return FaceBox(
            max(0, self.left), max(0, self.top), min(width, self.right), min(height, self.bottom), self.score
        )

    def grown(self, factor: float) -> FaceBox:
        """Return the box scaled by factor about its centre (not clipped to any image)."""
        half_w, half_h = self.width * factor / 2.0, self.height * factor / 2.0
        cx, cy = (self.left + self.right) / 2.0, (self.top + self.bottom) / 2.0
        return FaceBox(
            int(round(cx - half_w)),
            int(round(cy - half_h)),
            int(round(cx + half_w)),
            int(round(cy + half_h)),
            self.score,
        )

    def to_list(self) -> list[int]:
        return [self.left, self.top, self.right, self.bottom]


class Landmarks(ABC):
    """Facial landmark points with the named groups the quality and liveness checks use."""

    scheme: str = ""

    def __init__(self, points: np.ndarray, native: Any = None) -> None:
        self.points = np.asarray(points, dtype=np.float64)
        # A provider-specific object (dlib's full_object_detection) a matching embedder can reuse.
        self.native = native

    @abstractmethod
    def eye(self, side: str) -> np.ndarray:
        """Return six eye contour points (outer corner, 2 upper, inner corner, 2 lower) of "image_left" or "image_right"."""

    @abstractmethod
    def pose_points(self) -> np.ndarray:
        """Return nose tip, chin, image-left eye outer corner, image-right eye outer corner, image-left and image-right mouth corners."""

    def eye_distance(self) -> float:
        """Return the distance between the outer eye corners in pixels."""
        pts = self.pose_points()
        return float(np.linalg.norm(pts[3] - pts[2]))


class Ibug68Landmarks(Landmarks):
    """Landmarks in the iBUG 300-W 68-point layout."""

    scheme = "ibug68"
    _EYES = {"image_left": list(range(36, 42)), "image_right": list(range(42, 48))}
    _POSE = [30, 8, 36, 45, 48, 54]

    def eye(self, side: str) -> np.ndarray:
        return self.points[self._EYES[side]]

    def pose_points(self) -> np.ndarray:
        return self.points[self._POSE]


@dataclass(frozen=True)
class DetectedFace:
    """A face box with its landmarks."""

    box: FaceBox
    landmarks: Landmarks


class FaceDetector(ABC):
    """Find face rectangles in an RGB image."""

    name: str = ""

    @abstractmethod
    def detect(self, rgb: np.ndarray, upsample: int) -> list[FaceBox]:
        """Return every face box, strongest first."""


class LandmarkProvider(ABC):
    """Locate landmarks inside a face box."""

    name: str = ""
    licence_note: str = ""

    @abstractmethod
    def landmarks(self, rgb: np.ndarray, box: FaceBox) -> Landmarks:
        """Return the landmarks of the face in the box."""


_load_lock = threading.Lock()


def dlib_models() -> Any:
    """Return face_recognition.api with its dlib models loaded (on first call only)."""
    with _load_lock:
        import face_recognition.api as api  # loads the dlib models: kept off import time on purpose

        return api


class DlibHogDetector(FaceDetector):
    """Detect faces with dlib's HOG + linear SVM frontal face detector."""

    name = "dlib_hog"
    # dlib's HOG detector releases the GIL but is not thread-safe: two calls at once in one
    # gthread worker crashed the process under the load benchmark (scripts/bench_load.py).
    _lock = threading.Lock()

    def detect(self, rgb: np.ndarray, upsample: int) -> list[FaceBox]:
        with self._lock:
            rects, scores, _ = dlib_models().face_detector.run(rgb, upsample, 0.0)
        boxes = [
            FaceBox(r.left(), r.top(), r.right() + 1, r.bottom() + 1, float(s))
            for r, s in zip(rects, scores, strict=False)
        ]
        return sorted(boxes, key=lambda b: -b.score)


class DlibShape68Provider(LandmarkProvider):
    """Locate 68 points with dlib's shape predictor trained on iBUG 300-W."""

    name = "dlib_shape_predictor_68"
    licence_note = (
        "The iBUG 300-W training data (and so shape_predictor_68_face_landmarks.dat) "
        "excludes commercial use; replace this provider for commercial deployments."
    )

    def landmarks(self, rgb: np.ndarray, box: FaceBox) -> Landmarks:
        import dlib

        rect = dlib.rectangle(box.left, box.top, box.right - 1, box.bottom - 1)
        shape = dlib_models().pose_predictor_68_point(rgb, rect)
        points = np.array([(p.x, p.y) for p in shape.parts()], dtype=np.float64)
        return Ibug68Landmarks(points, native=shape)


# A generic adult head in millimetres, image axes (x right, y down, z away from the camera),
# nose tip at the origin and nearest to the camera.
_MODEL_3D = np.array(
    [
        (0.0, 0.0, 0.0),  # nose tip
        (0.0, 63.6, 12.5),  # chin
        (-43.3, -32.7, 26.0),  # image-left eye outer corner
        (43.3, -32.7, 26.0),  # image-right eye outer corner
        (-28.9, 28.9, 24.1),  # image-left mouth corner
        (28.9, 28.9, 24.1),  # image-right mouth corner
    ],
    dtype=np.float64,
)


def head_pose(landmarks: Landmarks, width: int, height: int) -> tuple[float, float, float]:
    """Return (yaw, pitch, roll) in degrees; yaw > 0 when the nose points to the image's right."""
    image_points = landmarks.pose_points().astype(np.float64)
    focal = float(max(width, height))
    camera = np.array([[focal, 0, width / 2.0], [0, focal, height / 2.0], [0, 0, 1]], dtype=np.float64)
    ok, rvec, _ = cv2.solvePnP(_MODEL_3D, image_points, camera, np.zeros(4), flags=cv2.SOLVEPNP_ITERATIVE)
    if not ok:
        return 0.0, 0.0, 0.0
    rotation, _ = cv2.Rodrigues(rvec)
    # The face's forward axis is -z in the model frame (towards the camera).
    forward = rotation @ np.array([0.0, 0.0, -1.0])
    yaw = float(np.degrees(np.arctan2(forward[0], -forward[2])))
    pitch = float(np.degrees(np.arctan2(-forward[1], -forward[2])))
    right = rotation @ np.array([1.0, 0.0, 0.0])
    roll = float(np.degrees(np.arctan2(right[1], right[0])))
    return yaw, pitch, roll


def eye_aspect_ratio(landmarks: Landmarks) -> float:
    """Return the mean eye aspect ratio of both eyes (Soukupova and Cech, 2016)."""
    ratios = []
    for side in ("image_left", "image_right"):
        p = landmarks.eye(side)
        vertical = np.linalg.norm(p[1] - p[5]) + np.linalg.norm(p[2] - p[4])
        horizontal = 2.0 * np.linalg.norm(p[0] - p[3])
        ratios.append(float(vertical / horizontal) if horizontal > 0 else 0.0)
    return float(np.mean(ratios))
