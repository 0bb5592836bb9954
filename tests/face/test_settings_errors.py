import ast
import dataclasses
import subprocess
import sys
from pathlib import Path

import pytest

import exam_server.face
from exam_server.face import FaceRefusal, FaceSettings, ModelMismatchError
from exam_server.face.errors import MESSAGES_ZH


def test_defaults_are_strict_and_three_valued():
    s = FaceSettings()
    assert s.live_threshold < 0.6 and s.id_card_threshold < 0.6
    assert s.search_threshold < s.live_threshold
    assert s.review_above > 0
    assert s.min_face_px_live == 80


def test_settings_are_frozen():
    with pytest.raises(dataclasses.FrozenInstanceError):
        FaceSettings().live_threshold = 0.9  # type: ignore[misc]


def test_from_env_reads_prefixed_variables_only():
    s = FaceSettings.from_env(
        {
            "EXAM_FACE_LIVE_THRESHOLD": "0.41",
            "EXAM_FACE_MAX_BYTES": "1000",
            "EXAM_FACE_MIRRORED_FRAMES": "true",
            "EXAM_FACE_ALLOWED_FORMATS": "jpeg",
            "EXAM_LIVE_THRESHOLD": "0.99",
            "OTHER": "x",
        }
    )
    assert s.live_threshold == 0.41 and s.max_bytes == 1000 and s.mirrored_frames is True
    assert s.allowed_formats == ("JPEG",)


def test_from_mapping_takes_flask_style_keys_and_rejects_bad_numbers():
    assert FaceSettings.from_mapping({"FACE_SEARCH_K": 5}, prefix="FACE_").search_k == 5
    with pytest.raises(ValueError, match="EXAM_FACE_SEARCH_K"):
        FaceSettings.from_env({"EXAM_FACE_SEARCH_K": "five"})


def test_every_refusal_has_a_chinese_message():
    for code in [
        "not_an_image",
        "too_large",
        "no_face",
        "multiple_faces",
        "face_too_small",
        "too_blurry",
        "too_dark",
        "overexposed",
        "model_mismatch",
    ]:
        refusal = FaceRefusal(code, "detail")
        assert refusal.code == code and refusal.message_zh == MESSAGES_ZH[code]
        assert refusal.to_dict() == {"error": code, "message_zh": MESSAGES_ZH[code], "detail": "detail"}
    assert ModelMismatchError("a/1", "b/2").code == "model_mismatch"


def test_importing_the_package_loads_no_model():
    code = (
        "import sys, exam_server.face, exam_server.face.cli, exam_server.face.index, "
        "exam_server.face.liveness, exam_server.face.batch, exam_server.face.calibration, "
        "exam_server.face.evidence\n"
        "print([m for m in ('dlib', 'face_recognition', 'face_recognition_models') if m in sys.modules])"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_the_face_package_imports_no_web_framework_or_orm():
    package = Path(exam_server.face.__file__).parent
    for source in package.rglob("*.py"):
        for node in ast.walk(ast.parse(source.read_text(encoding="utf-8"))):
            names = (
                [a.name for a in node.names]
                if isinstance(node, ast.Import)
                else ([node.module or ""] if isinstance(node, ast.ImportFrom) and not node.level else [])
            )
            for name in names:
                assert name.split(".")[0] not in {"flask", "sqlalchemy", "flask_sqlalchemy"}, (source, name)
                assert not name.startswith("exam_server") or name.startswith("exam_server.face"), (source, name)
