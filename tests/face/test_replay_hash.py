"""The replay hash: copies of one frame collide, different photos of one person do not (real photos)."""

import itertools

import cv2
import numpy as np

from exam_server.face import replay

from .conftest import encode_jpeg, needs_faces


def _decoded(data: bytes) -> np.ndarray:
    return cv2.cvtColor(cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)


@needs_faces
def test_re_encoded_and_resized_copies_collide_and_different_photos_do_not(photos):
    people = {k: v for k, v in photos.by_identity().items() if len(v) >= 2}
    for paths in people.values():
        for path in paths:
            rgb = photos.rgb(path, 640)
            own = replay.phash(rgb)
            h, w = rgb.shape[:2]
            for copy in (
                _decoded(encode_jpeg(rgb, 40)),
                _decoded(encode_jpeg(cv2.resize(rgb, (w // 2, h // 2), interpolation=cv2.INTER_AREA), 85)),
                _decoded(encode_jpeg(cv2.resize(rgb, (w * 3 // 2, h * 3 // 2)), 95)),
            ):
                assert replay.distance(own, replay.phash(copy)) <= replay.REPLAY_MAX_BITS // 2
        hashes = [replay.phash(photos.rgb(p, 640)) for p in paths]
        for a, b in itertools.combinations(hashes, 2):
            assert replay.distance(a, b) > 2 * replay.REPLAY_MAX_BITS  # genuine different frames: far apart


def test_a_flat_picture_has_no_hash_and_an_empty_list_is_no_replay():
    assert replay.phash(np.full((48, 64, 3), 128, np.uint8)) is None
    assert replay.nearest(b"\x00" * 32, []) is None and not replay.is_replay(b"\x00" * 32, [])
    assert replay.distance(b"\x00" * 32, b"\xff" * 32) == 256
