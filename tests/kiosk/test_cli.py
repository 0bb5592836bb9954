"""`kiosk-client run` refusals and `kiosk-client doctor` against the real server app."""

from __future__ import annotations

import re

import cv2
import numpy as np
import pytest
from click.testing import CliRunner

from kiosk_client.camera import live_only, resolve
from kiosk_client.cli import main


@pytest.fixture()
def clip(tmp_path):
    path = tmp_path / "clip.avi"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 25, (640, 480))
    for n in range(25):
        writer.write(np.full((480, 640, 3), 80 + n, np.uint8))
    writer.release()
    return path


def test_run_refuses_a_bind_address_other_machines_reach(tmp_path, clip):
    token = tmp_path / "token"
    token.write_text("abc")
    result = CliRunner().invoke(
        main,
        [
            "run",
            "--server",
            "http://127.0.0.1:9",
            "--token-file",
            str(token),
            "--camera",
            str(clip),
            "--host",
            "0.0.0.0",
        ],
    )
    assert result.exit_code != 0 and "loopback only" in result.output


def test_run_refuses_a_recording_as_camera_unless_in_development(tmp_path, clip, monkeypatch):
    token = tmp_path / "token"
    token.write_text("abc")
    folder = tmp_path / "frames"
    folder.mkdir()
    (folder / "frame_000.jpg").write_bytes(b"")
    monkeypatch.delenv("KIOSK_DEV", raising=False)
    for source in (clip, folder):
        result = CliRunner().invoke(
            main, ["run", "--server", "http://127.0.0.1:9", "--token-file", str(token), "--camera", str(source)]
        )
        assert result.exit_code != 0, result.output
        assert "is a recording, not a camera" in result.output and "--allow-file-camera" in result.output
        assert "KIOSK_DEV=1" in result.output
    assert live_only(resolve(str(clip)), allow_files=True).is_file  # the development flag lets it through
    assert not live_only(resolve("0"), allow_files=False).is_file  # a camera device needs no flag


def test_run_refuses_an_empty_token_file(tmp_path, clip):
    token = tmp_path / "token"
    token.write_text("\n")
    result = CliRunner().invoke(
        main, ["run", "--server", "http://127.0.0.1:9", "--token-file", str(token), "--camera", str(clip)]
    )
    assert result.exit_code != 0 and "is empty" in result.output


def test_doctor_reports_camera_server_and_token(live, tmp_path, clip):
    token = tmp_path / "token"
    token.write_text(live.token)
    result = CliRunner().invoke(
        main,
        ["doctor", "--server", live.server.url, "--token-file", str(token), "--camera", str(clip), "--seconds", "1.5"],
    )
    out = result.output
    assert "[OK  ] server:" in out and "[OK  ] token: kiosk 单元测试终端" in out and "[OK  ] clock:" in out, out
    assert re.search(r"\] camera: video file .*clip\.avi: 640x480 at [\d.]+ frames/s", out), out
    assert re.search(r"\] guidance: local face check [\d.]+ ms per frame \(median of \d+\)", out), out
    # The rate a file plays at and the face check's speed are this machine's at this moment (CI runs the suite
    # on 2 busy cores): whatever they are, the exit code says whether any check failed.
    assert result.exit_code == (1 if "[FAIL]" in out else 0), out


def test_doctor_refuses_a_camera_slower_than_ten_frames_a_second(live, tmp_path, clip):
    token = tmp_path / "token"
    token.write_text(live.token)
    result = CliRunner().invoke(
        main,
        ["doctor", "--server", live.server.url, "--token-file", str(token), "--camera", str(clip), "--fps", "5"],
    )
    assert result.exit_code == 1, result.output
    assert "[FAIL] camera:" in result.output and "needs at least 640 px wide and 10 frames/s" in result.output


def test_doctor_says_what_is_wrong(live, tmp_path):
    token = tmp_path / "token"
    token.write_text("revoked-or-mistyped")
    result = CliRunner().invoke(
        main, ["doctor", "--server", live.server.url, "--token-file", str(token), "--camera", "57"]
    )
    assert result.exit_code == 1
    assert "[FAIL] camera: cannot open camera device 57" in result.output
    assert (
        "[FAIL] token: refused: kiosk_unauthorized" in result.output and "exam-server kiosk register" in result.output
    )
    result = CliRunner().invoke(main, ["doctor", "--server", "http://127.0.0.1:9", "--camera", "57"])
    assert "[FAIL] server: http://127.0.0.1:9 unreachable" in result.output


def test_doctor_checks_the_face_pool_too(live, tmp_path):
    token = tmp_path / "token"
    token.write_text(live.token)
    result = CliRunner().invoke(
        main,
        [
            "doctor",
            "--server",
            live.server.url,
            "--face-server",
            "http://127.0.0.1:9",
            "--token-file",
            str(token),
            "--camera",
            "57",
        ],
    )
    assert "[OK  ] token: kiosk 单元测试终端" in result.output
    assert "[FAIL] face pool server: http://127.0.0.1:9 unreachable" in result.output
    assert "(--face-server)" in result.output and result.exit_code == 1
    result = CliRunner().invoke(
        main,
        [
            "doctor",
            "--server",
            live.server.url,
            "--face-server",
            live.server.url,
            "--token-file",
            str(token),
            "--camera",
            "57",
        ],
    )
    assert "[OK  ] face pool token: kiosk 单元测试终端" in result.output
