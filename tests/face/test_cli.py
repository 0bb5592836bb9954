"""`exam-server face verify|calibrate`, run through click without an app."""

import json
import subprocess
import sys

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
    result = _run("verify", str(FACES_DIR / A), str(FACES_DIR / B))
    assert result.exit_code == 0, result.output
    out = json.loads(result.output)
    assert out["match"] is True and out["decision"] == "match"
    assert isinstance(out["distance"], float) and out["threshold"] == 0.35
    assert out["model_name"] == "dlib_resnet_v1"


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
    assert lines[0]["match"] and not lines[1]["match"] and lines[1]["decision"] == "mismatch"
    assert lines[2]["error"] == "multiple_faces"
    result = _run("verify", "--id-card", "--pairs", str(pairs), "--images", str(FACES_DIR))
    lines = [json.loads(line) for line in result.output.splitlines()]
    assert lines[0]["template_kind"] == "id_card" and lines[0]["threshold"] == 0.38
    assert lines[0]["decision"] != "mismatch" and lines[1]["decision"] == "mismatch"


def test_thresholds_come_from_the_environment():
    result = _run("verify", str(FACES_DIR / A), str(FACES_DIR / B), env={"EXAM_FACE_LIVE_THRESHOLD": "0.2"})
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
    assert report["equal_error"]["rate"] == 0.0
    assert 0.42 < report["equal_error"]["threshold"] < 0.69
    assert {"threshold", "far", "frr"} <= set(report["table"][0])
    table = _run("calibrate", "--pairs", str(pairs), "--images", str(FACES_DIR), "--id-card")
    assert "equal-error point" in table.output and "FAR" in table.output and "ID-card" in table.output


def test_module_runs_as_a_program():
    out = subprocess.run(
        [sys.executable, "-m", "exam_server.face.cli", "verify", "--help"],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "--pairs" in out and "--id-card" in out
