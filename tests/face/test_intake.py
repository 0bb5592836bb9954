import io

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from exam_server.face import FaceRefusal, FaceSettings
from exam_server.face.intake import decode_image

from .conftest import encode_jpeg, needs_faces

SETTINGS = FaceSettings()


def _pil_bytes(image: Image.Image, fmt: str, **kwargs) -> bytes:
    buf = io.BytesIO()
    image.save(buf, fmt, **kwargs)
    return buf.getvalue()


def _refusal(data: bytes, settings: FaceSettings = SETTINGS) -> str:
    with pytest.raises(FaceRefusal) as info:
        decode_image(data, settings)
    return info.value.code


@pytest.mark.parametrize(
    "data", [b"", b"hello world, not a picture", bytes(range(256)) * 4, b"\xff\xd8\xff" + b"\0" * 50]
)
def test_non_images_are_refused(data):
    assert _refusal(data) == "not_an_image"


def test_other_formats_are_named_unsupported():
    gif = _pil_bytes(Image.new("RGB", (20, 20), "red"), "GIF")
    assert _refusal(gif) == "unsupported_format"


def test_byte_and_pixel_limits():
    jpeg = encode_jpeg(np.full((300, 400, 3), 128, np.uint8))
    assert _refusal(jpeg, SETTINGS.replace(max_bytes=len(jpeg) - 1)) == "too_large"
    assert _refusal(jpeg, SETTINGS.replace(max_pixels=400 * 300 - 1)) == "too_large"
    assert decode_image(jpeg, SETTINGS.replace(max_pixels=400 * 300)).width == 400


def test_truncated_jpeg_is_refused():
    jpeg = encode_jpeg(np.random.default_rng(1).integers(0, 255, (240, 320, 3), dtype=np.uint8))
    for cut in (100, len(jpeg) // 2, len(jpeg) - 10):
        assert _refusal(jpeg[:cut]) == "not_an_image"


def test_exif_rotation_is_applied():
    rgb = np.zeros((100, 200, 3), np.uint8)
    rgb[:, :50] = 255  # white band on the left of a landscape picture
    image = Image.fromarray(rgb)
    exif = image.getexif()
    exif[0x0112] = 6  # display rotated 90 degrees clockwise
    decoded = decode_image(_pil_bytes(image, "JPEG", exif=exif.tobytes()), SETTINGS)
    assert (decoded.height, decoded.width) == (200, 100)
    assert decoded.rgb[:50].mean() > 200 and decoded.rgb[150:].mean() < 50  # the band is now on top


def test_rgba_and_greyscale_png():
    rgba = np.zeros((40, 60, 4), np.uint8)
    rgba[..., 0] = 200
    rgba[:, :30, 3] = 255  # left half opaque red, right half transparent
    decoded = decode_image(_pil_bytes(Image.fromarray(rgba, "RGBA"), "PNG"), SETTINGS)
    assert decoded.rgb.shape == (40, 60, 3)
    assert tuple(decoded.rgb[20, 10]) == (200, 0, 0) and tuple(decoded.rgb[20, 50]) == (255, 255, 255)
    grey = decode_image(_pil_bytes(Image.fromarray(np.full((30, 30), 77, np.uint8), "L"), "PNG"), SETTINGS)
    assert grey.rgb.shape == (30, 30, 3) and int(grey.rgb[0, 0, 0]) == 77


def test_large_images_are_downscaled_for_analysis():
    jpeg = encode_jpeg(np.full((3000, 4000, 3), 100, np.uint8))
    decoded = decode_image(jpeg, SETTINGS)
    assert max(decoded.width, decoded.height) == SETTINGS.work_max_side
    assert (decoded.original_width, decoded.original_height) == (4000, 3000)


@needs_faces
def test_real_rgba_png_decodes_and_matches_its_jpeg(photos, engine):
    png = photos.sample("odd/obama2_rgba.png")
    jpeg = photos.sample("single/obama/obama2.jpg")
    assert engine.verify(png, jpeg.template()).decision == "match"


def test_bytes_appended_after_the_end_marker_are_accepted():
    jpeg = encode_jpeg(np.full((60, 80, 3), 90, np.uint8))
    assert decode_image(jpeg + b"SAMSUNG-TRAILER\x00\x01", SETTINGS).width == 80


_VALID = encode_jpeg(np.random.default_rng(3).integers(0, 255, (48, 64, 3), dtype=np.uint8))
_PNG = _pil_bytes(Image.fromarray(np.random.default_rng(4).integers(0, 255, (30, 40, 4), dtype=np.uint8)), "PNG")


@settings(max_examples=150, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    base=st.sampled_from([_VALID, _PNG]),
    cut=st.integers(0, 5000),
    flips=st.lists(st.tuples(st.integers(0, 5000), st.integers(0, 255)), max_size=6),
)
def test_damaged_uploads_decode_or_are_refused_never_crash(base, cut, flips):
    data = bytearray(base[: max(0, len(base) - cut)] if cut < len(base) else base[: cut % 97])
    for position, value in flips:
        if data:
            data[position % len(data)] = value
    try:
        decoded = decode_image(bytes(data), SETTINGS)
    except FaceRefusal as refusal:
        assert refusal.code in {"not_an_image", "unsupported_format", "too_large"}
    else:
        assert decoded.rgb.dtype == np.uint8 and decoded.rgb.ndim == 3 and decoded.rgb.shape[2] == 3
