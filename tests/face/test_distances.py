"""Distances never go below 0: identical vectors are at exactly 0.0, and the 1:N ranking is unchanged."""

import math

import numpy as np
import pytest

from exam_server.face import FaceEngine
from exam_server.face.fusion import load_params
from exam_server.face.index import FaceIndex
from exam_server.face.models import EmbeddingModel

from .conftest import needs_faces

KEY = "cosine_test/1"


class CosineModel(EmbeddingModel):
    """The base class's cosine distance, without weights to load."""

    name, version, dim, metric = "cosine_test", "1", 128, "cosine"

    def embed(self, rgb_image, face):
        raise NotImplementedError


def exactly_zero(value: float) -> bool:
    return value == 0.0 and math.copysign(1.0, value) == 1.0  # not -0.0 either


def unit_vectors(n: int, seed: int) -> np.ndarray:
    vectors = np.random.default_rng(seed).normal(size=(n, 128))
    return (vectors / np.linalg.norm(vectors, axis=1, keepdims=True)).astype(np.float32)


def test_cosine_distance_of_a_vector_with_itself_is_exactly_zero():
    model = CosineModel()
    vectors = np.random.default_rng(0).normal(size=(200, 128)).astype(np.float32)
    # 1 - a.b / (|a| |b|) gave 46 of these -1.1e-16 or -2.2e-16, and others +1.1e-16.
    assert all(exactly_zero(model.distance(v, v)) for v in vectors)
    assert model.distance(vectors[0], -vectors[0]) == pytest.approx(2.0, abs=1e-12)
    a, b = vectors[:2].astype(np.float64)
    assert model.distance(a, b) == pytest.approx(1 - a @ b / np.linalg.norm(a) / np.linalg.norm(b), abs=1e-12)


def test_fused_distance_of_identical_vectors_is_its_floor_and_keeps_its_order():
    fusion = load_params().fused
    # Never below 0 (the old weights gave -0.0013 unclamped); with the East-Asian fit identical faces sit
    # at the formula's floor, well inside the match region.
    floor = fusion.distance([0.0, 0.0])
    assert 0.0 <= floor < fusion.point.live_threshold
    # Each model's distance growing from 0 up to typical impostor distances.
    rows = np.linspace([0.0, 0.0], [0.9, 0.9], 50)
    fused = fusion.distances(rows)
    assert (fused >= 0).all() and (np.diff(fused) >= 0).all()
    raw = 1.0 + 0.1 * ((rows - fusion.centre) / fusion.scale) @ fusion.direction
    assert np.allclose(fused, np.maximum(raw, 0.0), rtol=0, atol=1e-12)  # the clamp touches only a negative part
    assert 0.9 < fusion.distance([fusion.centre[0], fusion.centre[1]]) < 1.1  # impostors still sit near 1


def test_one_to_n_cosine_search_is_never_negative_and_ranks_as_an_exact_search(tmp_path):
    vectors = unit_vectors(3000, seed=1)  # unit length, as SFace's are
    ids = np.arange(100, 3100, dtype=np.int64)
    index = FaceIndex.build(tmp_path / "c.faceidx", KEY, ids, vectors, metric="cosine")
    exact = 1.0 - vectors.astype(np.float64) @ vectors.astype(np.float64).T
    for row in range(0, 3000, 60):
        hits = index.search(vectors[row], k=8)
        # The index keeps each vector as float32 unit vector and norm, so its own vector comes back
        # within rounding of 0: it was as low as -7e-8 before, now never below 0.
        assert hits[0].worker_id == ids[row] and 0.0 <= hits[0].distance < 1e-12
        ranked = np.argsort(exact[row], kind="stable")[:8]
        assert [h.worker_id for h in hits] == ids[ranked].tolist()
        assert np.allclose([h.distance for h in hits[1:]], exact[row][ranked[1:]], rtol=0, atol=1e-6)


def test_one_to_n_euclidean_search_of_a_stored_vector_is_within_rounding_of_zero(tmp_path):
    vectors = unit_vectors(500, seed=3) * 1.4  # dlib's vectors are about 1.4 long
    index = FaceIndex.build(tmp_path / "e.faceidx", "euclid_test/1", np.arange(500), vectors)
    for row in range(0, 500, 10):
        hit = index.search(vectors[row], k=1)[0]
        assert hit.worker_id == row and 0.0 <= hit.distance < 1e-6


@needs_faces
def test_a_real_face_against_its_own_templates_is_at_exactly_zero(photos, engine):
    sample = photos.sample("single/obama/obama1.jpg")
    every_model = FaceEngine(engine.settings.replace(fused_lead_first=False))
    fused = every_model.verify_fused(sample, sample.templates())
    assert fused.distance == engine.fusion.distance([0.0, 0.0]) and fused.decision == "match"
    # Asked first, SFace settles it alone: the fused distance is then the bound with dlib at its worst.
    settled = engine.verify_fused(sample, sample.templates())
    dlib_worst = engine.fusion.members[0].band("live")[2]
    assert settled.decision == "match" and settled.distance == engine.fusion.distance([dlib_worst, 0.0])
    assert all(exactly_zero(engine.verify(sample, t).distance) for t in sample.templates())
