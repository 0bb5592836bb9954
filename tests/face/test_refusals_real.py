"""Each refusal code triggered by a real photo or a copy derived from one."""

import cv2
import numpy as np
import pytest

from exam_server.face import FaceRefusal

from .conftest import encode_jpeg, needs_faces

pytestmark = needs_faces

BASE = "single/obama/obama1.jpg"


def _code(engine, data: bytes, kind: str = "live") -> str:
    with pytest.raises(FaceRefusal) as info:
        engine.analyse(data, kind)
    assert info.value.message_zh
    return info.value.code


def test_every_multi_photo_is_refused(photos, engine):
    paths = photos.paths("multi")
    assert len(paths) >= 2
    for path in paths:
        assert _code(engine, photos.data(path), "upload") == "multiple_faces", path


def test_crop_without_a_face(photos, engine):
    rgb = photos.rgb(BASE)
    box = photos.sample(BASE).box
    below_chin = rgb[min(rgb.shape[0] - 50, box.bottom + 40) :, :]
    assert _code(engine, encode_jpeg(below_chin)) == "no_face"


def test_downscaled_face_is_too_small(photos, engine):
    rgb = photos.rgb(BASE)
    width = photos.sample(BASE).box.width
    factor = 55 / width  # a 55 px face: HOG still finds it with one upsampling, the kiosk limit is 80
    small = cv2.resize(rgb, None, fx=factor, fy=factor, interpolation=cv2.INTER_AREA)
    assert _code(engine, encode_jpeg(small)) == "face_too_small"


def test_blurred_copy_is_too_blurry(photos, engine):
    rgb = photos.rgb(BASE)
    sigma = photos.sample(BASE).box.width / 40
    assert _code(engine, encode_jpeg(cv2.GaussianBlur(rgb, (0, 0), sigma))) == "too_blurry"


def test_darkened_copy_is_too_dark(photos, engine):
    dark = (photos.rgb(BASE).astype(np.float32) * 0.15).astype(np.uint8)
    assert _code(engine, encode_jpeg(dark)) == "too_dark"


def test_overexposed_copy(photos, engine):
    bright = cv2.convertScaleAbs(photos.rgb(BASE), alpha=1.0, beta=150)
    assert _code(engine, encode_jpeg(bright)) == "overexposed"


def test_truncated_jpeg_bytes(photos, engine):
    data = photos.data(BASE)
    assert _code(engine, data[: len(data) // 3]) == "not_an_image"
    assert _code(engine, data[:500]) == "not_an_image"


def test_every_single_photo_is_accepted_with_quality_figures(photos):
    for path in photos.paths("single"):
        sample = photos.sample(path)
        q = sample.quality_dict()
        assert q["face_width"] >= 80 and q["sharpness"] > 20 and 45 < q["brightness"] < 240 and q["clipped"] < 0.25, (
            path
        )
        assert sample.vector.shape == (128,) and sample.vector.dtype == np.float32


def test_a_face_cut_by_the_frame_is_refused_as_an_enrolment_photo(photos, engine):
    paths = photos.paths("partial")
    assert len(paths) >= 2
    for path in paths:
        with pytest.raises(FaceRefusal) as info:
            engine.analyse(photos.data(path), "upload")
        assert info.value.code == "face_cut_off", path
        assert "outside the photo" in info.value.detail
        assert info.value.photo_message_zh.startswith("照片中人脸被边缘截断")


def test_no_whole_face_is_refused_as_cut_off(photos, engine):
    """Every single-face photo keeps its whole face inside: none is refused for the frame's edge."""
    paths = photos.paths("single") + photos.paths("resolutions") + photos.paths("odd")
    assert len(paths) >= 20
    for path in paths:
        try:
            sample = engine.analyse(photos.data(path), "upload")
        except FaceRefusal as refusal:
            assert refusal.code != "face_cut_off", path
        else:
            assert sample.quality.in_frame >= engine.settings.min_face_in_frame_upload, path


def test_the_kiosk_camera_is_not_held_to_the_whole_face_rule(photos, engine):
    path = photos.paths("partial")[0]
    try:
        engine.analyse(photos.data(path), "live")
    except FaceRefusal as refusal:  # the camera guides the worker into view; its own checks may still refuse
        assert refusal.code != "face_cut_off"
