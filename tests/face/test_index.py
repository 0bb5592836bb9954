"""The memory-mapped 1:N index: exactness, updates, other processes, and a search among real faces."""

import multiprocessing

import numpy as np
import pytest

from exam_server.face import Embedding, ModelMismatchError
from exam_server.face.index import FaceIndex, index_path

from .conftest import needs_faces

KEY = "dlib_resnet_v1/face_recognition_models-0.3.0"


def _vectors(n: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    # Roughly dlib-like: norms around 1.4, impostor distances around 0.6-1.0.
    return (rng.normal(0, 0.12, (n, 128)) + rng.normal(0, 0.05, 128)).astype(np.float32)


def _brute(vectors: np.ndarray, ids: np.ndarray, query: np.ndarray, k: int):
    d = np.linalg.norm(vectors.astype(np.float64) - query, axis=1)
    order = np.argsort(d)[:k]
    return ids[order].tolist(), d[order]


def test_search_is_exact(tmp_path):
    vectors = _vectors(5000)
    ids = np.arange(10, 5010, dtype=np.int64)
    index = FaceIndex.build(tmp_path / "x.faceidx", KEY, ids, vectors)
    rng = np.random.default_rng(1)
    for _ in range(20):
        query = vectors[rng.integers(0, 5000)] + rng.normal(0, 0.05, 128).astype(np.float32)
        hits = index.search(query, k=7)
        want_ids, want_d = _brute(vectors, ids, query, 7)
        assert [h.worker_id for h in hits] == want_ids
        assert np.allclose([h.distance for h in hits], want_d, atol=1e-5)
        assert [h.rank for h in hits] == list(range(1, 8))


def test_upsert_replace_remove_and_grow(tmp_path):
    index = FaceIndex(tmp_path / "face" / "x.faceidx", KEY, 128)
    vectors = _vectors(2500, seed=2)
    for i, v in enumerate(vectors):  # crosses the initial capacity twice
        index.upsert(i, v)
    assert len(index) == 2500 and 2499 in index
    assert index.search(vectors[1234], k=1)[0].worker_id == 1234
    index.upsert(1234, vectors[7])  # re-enrol: replaced, not duplicated
    assert len(index) == 2500
    assert {h.worker_id for h in index.search(vectors[7], k=2)} == {7, 1234}
    assert index.remove(7) and not index.remove(7)
    assert 7 not in index and len(index) == 2499
    assert index.search(vectors[7], k=1)[0].worker_id == 1234
    assert np.allclose(index.vector(1234), vectors[7], atol=1e-6)
    assert index.search(vectors[7], k=1, exclude=1234)[0].worker_id != 1234


def test_threshold_marks_hits(tmp_path):
    vectors = _vectors(100)
    index = FaceIndex.build(tmp_path / "x.faceidx", KEY, np.arange(100), vectors)
    hits = index.search(vectors[5] + 0.001, k=3, threshold=0.18)
    assert hits[0].worker_id == 5 and hits[0].within_threshold and not hits[1].within_threshold


def test_refuses_other_models_and_bad_vectors(tmp_path):
    path = tmp_path / "x.faceidx"
    index = FaceIndex(path, KEY, 128)
    with pytest.raises(ModelMismatchError):
        index.search(Embedding(np.ones(128, np.float32), "sface", "1"))
    with pytest.raises(ModelMismatchError):
        FaceIndex(path, "sface/1", 128)
    with pytest.raises(ValueError):
        index.upsert(1, np.ones(64, np.float32))
    with pytest.raises(ValueError):
        index.upsert(1, np.zeros(128, np.float32))
    assert index.search(np.ones(128, np.float32)) == []


def test_index_path_is_per_model(tmp_path):
    assert index_path(tmp_path, KEY).parent == tmp_path / "face"
    assert index_path(tmp_path, KEY) != index_path(tmp_path, "sface/2021dec")


def _writer(path: str, start: int, count: int, seed: int) -> None:
    index = FaceIndex(path, KEY, 128)
    for i, v in enumerate(_vectors(count, seed)):
        index.upsert(start + i, v)


def test_other_processes_see_updates_and_growth(tmp_path):
    path = str(tmp_path / "x.faceidx")
    reader = FaceIndex(path, KEY, 128)
    ctx = multiprocessing.get_context("fork")
    workers = [
        ctx.Process(target=_writer, args=(path, 0, 700, 3)),
        ctx.Process(target=_writer, args=(path, 10_000, 700, 4)),
    ]
    for w in workers:
        w.start()
    for w in workers:
        w.join(60)
        assert w.exitcode == 0
    # Both writers grew the file (1024 -> 2048 rows) while this process kept its old mapping.
    assert len(reader) == 1400
    assert reader.search(_vectors(700, 4)[5], k=1)[0].worker_id == 10_005
    assert reader.search(_vectors(700, 3)[699], k=1)[0].worker_id == 699


@needs_faces
def test_one_to_n_finds_the_right_person_among_distractors(tmp_path, photos, engine):
    paths = photos.paths("single")
    enrolled = {}  # worker id -> photo: the first photo of every person
    for path in paths:
        if photos.identity(path) not in {photos.identity(p) for p in enrolled.values()}:
            enrolled[len(enrolled) + 1] = path
    real = np.stack([photos.sample(p).vector for p in enrolled.values()])
    # Distractors: random vectors around the real ones' mean, at impostor-like distances.
    rng = np.random.default_rng(5)
    spread = real.std(axis=0).mean()
    distractors = (real.mean(axis=0) + rng.normal(0, spread, (50_000, 128))).astype(np.float32)
    ids = np.concatenate([np.arange(1, len(real) + 1), np.arange(1_000_000, 1_050_000)])
    index = FaceIndex.build(tmp_path / "x.faceidx", engine.model.key, ids, np.concatenate([real, distractors]))
    s = engine.settings
    # dlib's own 1:N cut (the server now searches SFace with settings.search_threshold on SFace's scale).
    DLIB_CUT = 0.18  # noqa: N806
    found = 0
    for path in paths:
        if path in enrolled.values():
            continue
        owner = next(i for i, p in enrolled.items() if photos.identity(p) == photos.identity(path))
        hits = index.search(photos.sample(path, "live"), k=s.search_k, threshold=DLIB_CUT)
        assert hits[0].worker_id == owner, (path, hits[:3])
        found += 1
    assert found >= 8
    # The same picture enrolled twice (a duplicate enrolment) is a hit under the strict 1:N threshold.
    dup = index.search(photos.sample("resolutions/obama-720p.jpg", "live"), k=3, threshold=DLIB_CUT)
    obama = next(i for i, p in enrolled.items() if photos.identity(p) == "obama")
    assert dup[0].worker_id == obama and dup[0].within_threshold and not dup[1].within_threshold


def test_spread_samples_the_index_evenly_without_the_excluded_id(tmp_path):
    """The cohort sample of cohort normalisation: evenly spread stored vectors, the claimed worker left out."""
    vectors = np.random.default_rng(3).normal(size=(1000, 64)).astype(np.float32)
    index = FaceIndex.build(tmp_path / "s.faceidx", "m/1", np.arange(1000), vectors)
    sample = index.spread(10, exclude=0)
    assert sample.shape == (10, 64)
    assert np.allclose(sample[0], vectors[1], atol=1e-5)  # evenly from the first row after the excluded one
    assert not np.any(np.all(np.isclose(sample, vectors[0], atol=1e-5), axis=1))  # id 0 was left out
    assert index.spread(5000).shape == (1000, 64)
