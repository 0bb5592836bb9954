"""Cropping frames around the face for upload: smaller files, never a face below what the server needs."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from kiosk_client.frames import MAX_SENT_FACE_PX, MIN_SENT_FACE_PX, crop_jpegs, crop_region, scale_for, union
from kiosk_client.guidance import FaceGuide
from tests.kiosk.media import camera_frame, needs_faces


def decode(data: bytes) -> np.ndarray:
    return cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)


def test_the_region_grows_by_the_margin_and_stays_inside_the_frame():
    assert crop_region((100, 100, 200, 200), (480, 640), margin=0.5) == (50, 50, 250, 250)
    assert crop_region((10, 20, 110, 120), (480, 640), margin=0.5) == (0, 0, 160, 170)
    assert union([(10, 10, 50, 50), (30, 5, 80, 40)]) == (10, 5, 80, 50) and union([]) is None


def test_faces_are_scaled_down_to_the_upload_size_but_never_below_the_minimum():
    assert scale_for(150) == 1.0  # small enough: untouched, never enlarged
    assert scale_for(440) == MAX_SENT_FACE_PX / 440
    assert 440 * scale_for(440, max_face_px=40) == pytest.approx(MIN_SENT_FACE_PX) and MIN_SENT_FACE_PX > 80


def test_without_a_face_the_whole_frame_is_sent():
    frame = np.full((480, 640, 3), 90, np.uint8)
    assert decode(crop_jpegs([frame], None, 0)[0]).shape == (480, 640, 3)


@needs_faces
def test_a_cropped_burst_is_smaller_shares_one_region_and_keeps_the_face_detectable():
    guide = FaceGuide()
    big = [
        cv2.resize(camera_frame(p, face_px=200), (1280, 960))
        for p in ("single/obama/obama1.jpg", "single/obama/obama3.jpg")
    ]
    verdicts = [guide.judge(f) for f in big]
    box = union([v.box for v in verdicts])
    sent = crop_jpegs(big, box, max(v.face_px for v in verdicts))
    whole = cv2.imencode(".jpg", big[0], [cv2.IMWRITE_JPEG_QUALITY, 90])[1].tobytes()
    assert len(sent[0]) < len(whole) / 3
    shapes = {decode(data).shape for data in sent}
    assert len(shapes) == 1  # the same region in every frame: the server compares them
    face = guide.judge(decode(sent[0]))
    assert face.face_px >= MIN_SENT_FACE_PX * 0.9 and face.face_px <= MAX_SENT_FACE_PX * 1.15
