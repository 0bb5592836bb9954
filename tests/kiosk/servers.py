"""Run the real exam server (gunicorn, SQLite) and the real kiosk client as processes on loopback."""

from __future__ import annotations

import json
import os
import re
import secrets
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import requests

from tests.kiosk.media import FACES_DIR

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
RULESET = {
    "id": "kiosk-e2e",
    "name": "终端测试试卷",
    "duration_minutes": 30,
    "pass_mark": 10,
    "points": {"single": 2, "multiple": 3, "truefalse": 1},
    "rules": [
        {"category": "安全生产法律法规", "type": "single", "count": 4},
        {"category": "消防安全", "type": "single", "count": 2},
        {"category": "消防安全", "type": "multiple", "count": 2},
        {"category": "应急救援与疏散", "type": "truefalse", "count": 2},
    ],
}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for(url: str, timeout: float, process: subprocess.Popen | None = None, log: Path | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(
                f"{url}: process exited with {process.returncode}\n{log.read_text()[-3000:] if log else ''}"
            )
        try:
            if requests.get(url, timeout=2).status_code < 500:
                return
        except requests.RequestException:
            pass
        time.sleep(0.2)
    raise TimeoutError(f"{url} did not answer within {timeout} s")


class ExamServer:
    """A data directory with the demo city, enrolled photos and a kiosk token, served by gunicorn."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.data = root / "data"
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {
            **os.environ,
            "EXAM_DATA_DIR": str(self.data),
            "EXAM_SECRET_KEY_FILE": str(self.data / "secret_key"),
            "EXAM_BIND": f"127.0.0.1:{self.port}",
            "EXAM_WORKERS": "2",
            "EXAM_THREADS": "4",
            # Still photos can answer a head turn, never a blink: leave room to film again.
            "EXAM_CHECKIN_MAX_FAILURES": "12",
            # The camera videos loop a few still photos, so every burst repeats frames and answers one move at
            # most: these tests are about the kiosk, the replay and sequence defences have their own (tests/api).
            "EXAM_CHECKIN_CHALLENGE_STEPS": "1",
            "EXAM_REPLAY_MAX_BITS": "-1",
            "EXAM_SWEEP_SECONDS": "5",
        }
        self.process: subprocess.Popen | None = None
        self.log = root / "server.log"

    def cli(self, *args: str) -> str:
        done = subprocess.run(
            [str(BIN / "exam-server"), *args], env=self.env, capture_output=True, text=True, timeout=300, cwd=self.root
        )
        assert done.returncode == 0, f"exam-server {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}"
        return done.stdout

    def prepare(self, photos: list[str]) -> list[str]:
        """Load the demo, enrol the photos on the first workers, register a kiosk; return their citizen IDs."""
        self.data.mkdir(parents=True, exist_ok=True)
        (self.data / "secret_key").write_text(secrets.token_hex(32))
        self.cli("demo", "--no-serve", "--data-dir", str(self.data))
        ids = [row[0] for row in self.sql("SELECT citizen_id FROM worker ORDER BY id LIMIT ?", (len(photos),))]
        enrol = self.root / "enrol"
        enrol.mkdir()
        for photo, citizen_id in zip(photos, ids, strict=False):
            (enrol / f"{citizen_id}{Path(photo).suffix}").write_bytes((FACES_DIR / photo).read_bytes())
        output = self.cli("face", "enroll-batch", str(enrol))
        assert f"enrolled {len(photos)}," in output, output
        token = re.search(r"token \(shown once.*?\): (\S+)", self.cli("kiosk", "register", "e2e-kiosk")).group(1)
        (self.root / "token").write_text(token + "\n")
        (self.root / "token").chmod(0o600)
        # Face re-checks every few seconds, so a short test sees several; a ten-question paper that the
        # bundled bank can fill for every worker (the demo's default rule set currently cannot).
        policy = {"min_interval_seconds": 6, "max_interval_seconds": 10, "window_seconds": 30}
        self.sql(
            "UPDATE exam_plan SET face_policy = ?, ruleset = ?, review_answers = 1",
            (json.dumps(policy), json.dumps(RULESET)),
        )
        return ids

    @property
    def token_file(self) -> Path:
        return self.root / "token"

    def sql(self, query: str, args: tuple = ()) -> list[tuple]:
        with sqlite3.connect(self.data / "exam.db") as db:
            rows = db.execute(query, args).fetchall()
        db.close()
        return rows

    def start(self) -> ExamServer:
        handle = open(self.log, "ab")  # noqa: SIM115  (the server writes to it until stop() closes it)
        self.process = subprocess.Popen(
            [
                str(BIN / "gunicorn"),
                "-c",
                str(REPO / "gunicorn.conf.py"),
                "--no-control-socket",
                "exam_server.wsgi:app",
            ],
            env=self.env,
            cwd=REPO,
            stdout=handle,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        wait_for(self.url + "/api/v1/openapi.json", 60, self.process, self.log)
        return self

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            self.process.wait(timeout=40)
        self.process = None


class KioskProcess:
    """`kiosk-client run` on a loopback port, filming a video file."""

    # More `kiosk-client run` options for one test (set before start()).
    options: tuple[str, ...] = ()

    def __init__(self, root: Path, server: ExamServer, camera: Path) -> None:
        self.root = root
        self.server = server
        self.camera = camera
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/"
        self.journal = root / "journal.sqlite3"
        self.log = root / "kiosk.log"
        self.process: subprocess.Popen | None = None

    def start(self) -> KioskProcess:
        handle = open(self.log, "ab")  # noqa: SIM115  (the server writes to it until stop() closes it)
        self.process = subprocess.Popen(
            [
                str(BIN / "kiosk-client"),
                "run",
                "--server",
                self.server.url,
                "--token-file",
                str(self.server.token_file),
                "--camera",
                str(self.camera),
                "--allow-file-camera",  # the camera is a video made from the shared photos
                "--loop",
                "--port",
                str(self.port),
                "--journal",
                str(self.journal),
                "--voice-cache",
                str(self.server.root / "voice-cache"),
                "--countdown",
                "1",
                "--log-level",
                "info",
                *self.options,
            ],
            cwd=self.root,
            stdout=handle,
            stderr=subprocess.STDOUT,
        )
        wait_for(self.url + "api/state", 60, self.process, self.log)
        return self

    def state(self) -> dict:
        return requests.get(self.url + "api/state", timeout=5).json()

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None
