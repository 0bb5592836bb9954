"""dlib's ResNet face recognition model (dlib_face_recognition_resnet_model_v1)."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..detection import DetectedFace, dlib_models
from .base import EmbeddingModel


class DlibResNetModel(EmbeddingModel):
    """Embed faces with dlib's 128-d ResNet, reusing the landmark shape already computed."""

    name = "dlib_resnet_v1"
    version = "face_recognition_models-0.3.0"
    dim = 128
    metric = "euclidean"

    def __init__(self, num_jitters: int = 1) -> None:
        self.num_jitters = num_jitters

    def embed(self, rgb_image: np.ndarray, face: DetectedFace) -> np.ndarray:
        shape = face.landmarks.native
        if shape is None or type(shape).__name__ != "full_object_detection":
            shape = _shape_from_points(face)
        descriptor = dlib_models().face_encoder.compute_face_descriptor(rgb_image, shape, self.num_jitters)
        return np.asarray(descriptor, dtype=np.float32)


def _shape_from_points(face: DetectedFace) -> Any:
    # Another landmark provider: dlib aligns its chip from 5 or 68 points given in its own order.
    import dlib

    box = face.box
    rect = dlib.rectangle(box.left, box.top, box.right - 1, box.bottom - 1)
    points = [dlib.point(int(round(x)), int(round(y))) for x, y in face.landmarks.points]
    return dlib.full_object_detection(rect, points)
