import datetime as dt
import io
import os
import re

import numpy as np
from PIL import Image

from exam_server.face.batch import enrol_batch
from exam_server.face.evidence import save_evidence

from .conftest import FACES_DIR, encode_jpeg, needs_faces


@needs_faces
def test_batch_enrolment_on_two_processes_keeps_order_and_reasons(tmp_path, photos):
    junk = tmp_path / "junk.jpg"
    junk.write_bytes(b"not a photo")
    paths = [
        FACES_DIR / "single/obama/obama2.jpg",
        FACES_DIR / "multi/two_people.jpg",
        junk,
        FACES_DIR / "single/clapton/clapton2.jpg",
        tmp_path / "missing.jpg",
        FACES_DIR / "single/lin_manuel_miranda/lin1.png",
    ]
    results = list(enrol_batch(paths, source="batch", processes=2))
    assert [r.path for r in results] == [str(p) for p in paths]
    assert [r.error for r in results] == [None, "multiple_faces", "not_an_image", None, "unreadable", None]
    assert results[1].message_zh and not results[1].ok
    first = results[0].sample
    assert first.source == "batch" and first.kind == "upload" and first.landmarks.points.shape == (68, 2)
    # The same vector as analysing in this process.
    assert np.allclose(first.vector, photos.sample("single/obama/obama2.jpg").vector, atol=1e-5)


def test_evidence_is_a_jpeg_under_an_unguessable_name(tmp_path):
    rgb = np.random.default_rng(0).integers(0, 255, (120, 160, 3), dtype=np.uint8)
    image = Image.fromarray(rgb)
    exif = image.getexif()
    exif[0x010F] = "KioskCam serial 1234"
    buf = io.BytesIO()
    image.save(buf, "JPEG", exif=exif.tobytes())
    when = dt.datetime(2025, 3, 4, tzinfo=dt.UTC)
    first = save_evidence(buf.getvalue(), tmp_path, now=when)
    second = save_evidence(rgb, tmp_path, now=when)
    assert first != second
    assert re.fullmatch(r"2025/03/04/[A-Za-z0-9_-]{32}\.jpg", first)
    stored = Image.open(tmp_path / first)
    assert stored.format == "JPEG" and stored.size == (160, 120)
    assert 0x010F not in stored.getexif()  # metadata from the kiosk is not kept
    assert oct(os.stat(tmp_path / first).st_mode & 0o777) == "0o640"
    assert not [p for p in (tmp_path / "2025/03/04").iterdir() if p.name.startswith(".")]
    assert encode_jpeg(rgb)  # sanity: helper works on the same array


def test_a_face_square_is_one_size_and_grey_beyond_the_image():
    from exam_server.face.detection import FaceBox
    from exam_server.face.evidence import face_square

    image = np.full((100, 200, 3), 255, np.uint8)
    inside = face_square(image, FaceBox(80, 30, 120, 70), size=120, margin=0.25)  # a 60 px square, all inside
    assert inside.shape == (120, 120, 3) and (inside == 255).all()
    cut = face_square(image, FaceBox(-20, 20, 40, 80), size=120, margin=0.0)  # a third beyond the left edge
    assert cut.shape == (120, 120, 3)
    assert (cut[:, :35] == 128).all() and (cut[:, 45:] == 255).all()
