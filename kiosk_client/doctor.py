"""Checks a technician runs on a kiosk: camera rate and resolution, local guidance cost, server, token."""

from __future__ import annotations

import statistics
import time
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path

import requests

from kiosk_client.api import KioskApi, Refusal, ServerUnreachable
from kiosk_client.camera import Camera, CameraError, resolve

MIN_FPS = 10.0
MIN_WIDTH = 640


@dataclass
class Check:
    """One line of the report: what was checked, whether it is fine, and what to do if not."""

    name: str
    ok: bool
    detail: str
    fix: str = ""

    def line(self) -> str:
        """Return the report line."""
        mark = "OK  " if self.ok else "FAIL"
        return f"[{mark}] {self.name}: {self.detail}" + (f"\n       -> {self.fix}" if self.fix else "")


def check_camera(spec: str, fps: float | None, seconds: float) -> list[Check]:
    """Watch the camera for a few seconds and time local guidance on its frames."""
    from kiosk_client.guidance import FaceGuide

    try:
        camera = Camera(resolve(spec), loop=True, fps=fps).start()
    except CameraError as exc:
        return [
            Check(
                "camera",
                False,
                str(exc),
                "check the cable and that this user may open /dev/video* "
                "(group 'video'), or give --camera another index",
            )
        ]
    try:
        number, frame = camera.next_frame(0, timeout=5.0)
        guide, costs = FaceGuide(), []
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            number, frame = camera.next_frame(number, timeout=5.0)
            costs.append(guide.judge(frame).millis)
        rate = camera.measured_fps()
    except CameraError as exc:
        return [Check("camera", False, str(exc), "the camera opened but sends no frames: reconnect it")]
    finally:
        camera.stop()
    height, width = frame.shape[:2]
    checks = [
        Check(
            "camera",
            rate >= MIN_FPS and width >= MIN_WIDTH,
            f"{camera.source.description}: {width}x{height} at {rate:.1f} frames/s",
            ""
            if rate >= MIN_FPS and width >= MIN_WIDTH
            else f"needs at least {MIN_WIDTH} px wide and {MIN_FPS:.0f} frames/s: use another camera or USB port",
        )
    ]
    median = statistics.median(costs) if costs else 0.0
    checks.append(
        Check(
            "guidance",
            median < 30.0,
            f"local face check {median:.1f} ms per frame (median of {len(costs)})",
            "" if median < 30.0 else "this computer is too slow or busy: close other programs",
        )
    )
    return checks


def check_server(server: str, token_file: Path | None) -> list[Check]:
    """Reach the server, then prove the token with /ping and compare the clocks."""
    try:
        response = requests.get(server.rstrip("/") + "/api/v1/openapi.json", timeout=5)
        reachable = response.status_code == 200
    except requests.RequestException as exc:
        return [
            Check(
                "server",
                False,
                f"{server} unreachable: {type(exc).__name__}",
                "check the network cable and the server address (--server)",
            )
        ]
    checks = [
        Check(
            "server",
            reachable,
            f"{server} answered HTTP {response.status_code}",
            "" if reachable else "the address answers but is not the exam server's API",
        )
    ]
    if token_file is None:
        return [*checks, Check("token", False, "no --token-file given", "pass --token-file PATH")]
    try:
        token = token_file.read_text(encoding="utf-8").strip()
    except OSError as exc:
        return [*checks, Check("token", False, f"cannot read {token_file}: {exc.strerror}", "check the path")]
    try:
        body = KioskApi(server, token).ping()
    except Refusal as refusal:
        fix = (
            "register this kiosk: exam-server kiosk register NAME, and put the token in the file"
            if refusal.code == "kiosk_unauthorized"
            else "ask the administrator to enable this kiosk"
        )
        return [*checks, Check("token", False, f"refused: {refusal.code} ({refusal.message})", fix)]
    except ServerUnreachable as exc:
        return [*checks, Check("token", False, str(exc), "the server failed; try again later")]
    server_time = datetime.fromisoformat(body["server_time"].replace("Z", "+00:00"))
    skew = abs((server_time - datetime.now(UTC)).total_seconds())
    return [
        *checks,
        Check("token", True, f"kiosk {body['kiosk']['name']} (id {body['kiosk']['id']}) recognised"),
        Check(
            "clock",
            skew < 60,
            f"differs from the server's by {skew:.0f} s",
            "" if skew < 60 else "set the time (NTP): the exam uses the server's clock, logs use this one",
        ),
    ]


def run_checks(
    camera_spec: str,
    fps: float | None,
    server: str | None,
    token_file: Path | None,
    seconds: float,
    face_server: str | None = None,
) -> list[Check]:
    """Run every check and return the report lines."""
    results = check_camera(camera_spec, fps, seconds)
    if server:
        results += check_server(server, token_file)
    else:
        results.append(Check("server", False, "no --server given", "pass --server URL"))
    if face_server:
        # The face pool is the same application: the same checks, reported under their own names.
        results += [
            replace(check, name=f"face pool {check.name}", fix=check.fix.replace("--server", "--face-server"))
            for check in check_server(face_server, token_file)
            if check.name != "clock"
        ]
    return results
