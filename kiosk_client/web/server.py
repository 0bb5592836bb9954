"""Serve the screen, its state and the camera preview on 127.0.0.1 only; hold the token on this side."""

from __future__ import annotations

import io
import ipaddress
import logging
import threading
from pathlib import Path

import cv2
import segno
from flask import Flask, abort, jsonify, request, send_file, send_from_directory
from werkzeug.serving import make_server

from kiosk_client.api import ServerUnreachable
from kiosk_client.app import KioskApp
from kiosk_client.texts import PHRASES
from kiosk_client.voice import VoiceError

log = logging.getLogger(__name__)
STATIC = Path(__file__).resolve().parent / "static"
PREVIEW_WIDTH = 640


class NotLoopback(ValueError):
    """Raise when asked to listen on an address other machines could reach."""


def check_loopback(host: str) -> None:
    """Refuse any bind address but a loopback one: the camera and the token stay on this machine."""
    try:
        if ipaddress.ip_address(host).is_loopback:
            return
    except ValueError:
        pass
    raise NotLoopback(f"the kiosk screen listens on loopback only (127.0.0.1), not on {host!r}")


def preview_jpeg(kiosk: KioskApp) -> bytes | None:
    """Return the newest frame as the worker sees it: mirrored, scaled, with the face box drawn."""
    _, frame = kiosk.filming.camera.latest()
    if frame is None:
        return None
    scale = min(1.0, PREVIEW_WIDTH / frame.shape[1])
    shown = cv2.resize(frame, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA) if scale < 1 else frame.copy()
    verdict = kiosk.guidance
    if verdict is not None and verdict.box is not None and kiosk.screen in ("guidance", "challenge"):
        left, top, right, bottom = (int(v * scale) for v in verdict.box)
        colour = (80, 200, 60) if verdict.ok else (0, 160, 255)
        cv2.rectangle(shown, (left, top), (right, bottom), colour, 4)
    # A mirror is what people expect: turning left moves the picture left.
    ok, data = cv2.imencode(".jpg", cv2.flip(shown, 1), [cv2.IMWRITE_JPEG_QUALITY, 80])
    return data.tobytes() if ok else None


def _add_words_routes(web: Flask, kiosk: KioskApp) -> None:
    """Add the routes of the screen's words: its phrases, their audio, a question read aloud, the QR code."""

    @web.get("/api/texts")
    def phrases():
        """Return every fixed phrase of the screen by key (the sentences of a screen come with its state)."""
        return jsonify(PHRASES)

    @web.get("/api/read/<int:item_no>")
    def read_question(item_no: int):
        """Return the phrase that reads a question of the paper on screen aloud."""
        try:
            return jsonify(kiosk.read_question(item_no).to_dict())
        except ValueError as exc:
            return jsonify({"error": str(exc)}), 404

    @web.get("/voice/<key>")
    def voice(key: str):
        """Return the audio of a phrase the screen showed (a bureau's recording, else espeak-ng's)."""
        if kiosk.voice is None:
            abort(404)
        try:
            path = kiosk.voice.audio(key)
        except VoiceError as exc:
            log.error("voice: %s", exc)
            path = None
        if path is None:
            abort(404)
        return send_file(path, mimetype=kiosk.voice.media_type(path), conditional=False, etag=False)

    @web.get("/qr.svg")
    def qr_code():
        """Return the QR code of the screen's address: a certificate's verification, or the worker's sign-in."""
        if kiosk.screen == "pin_done":
            url = kiosk.data.get("sign_in_url")
        elif kiosk.screen == "pin_offer":
            url = kiosk.sign_in_url  # the one-time address: in the picture only
        else:
            result = (kiosk.data.get("result") or {}) if kiosk.screen == "result" else {}
            url = (result.get("certificate") or {}).get("verify_url")
        if not url:
            abort(404)
        svg = io.BytesIO()
        segno.make(url, error="m").save(svg, kind="svg", scale=10, border=2, xmldecl=False)
        return svg.getvalue(), 200, {"Content-Type": "image/svg+xml"}


def _add_picture_route(web: Flask, kiosk: KioskApp) -> None:
    """Add the route of the pictures some questions show (safety signs, hazard labels)."""
    pictures: dict[tuple[int, int], tuple[bytes, str]] = {}

    @web.get("/api/paper/image/<int:item_no>")
    def paper_image(item_no: int):
        """Return the picture of an item of the paper on screen, fetched from the server once per sitting."""
        exam = kiosk.exam
        if exam is None or not any(q["item_no"] == item_no and q.get("image") for q in exam.questions):
            return jsonify({"error": "no_image"}), 404
        key = (exam.id, item_no)
        if key not in pictures:
            try:
                found = kiosk.api.item_image(exam.id, item_no)
            except ServerUnreachable:
                return jsonify({"error": "image_unavailable"}), 503
            for old in [k for k in pictures if k[0] != exam.id]:  # keep the pictures of this sitting only
                del pictures[old]
            pictures[key] = found
        data, kind = pictures[key]
        return data, 200, {"Content-Type": kind}


def create_web_app(kiosk: KioskApp) -> Flask:
    """Build the Flask app that the kiosk browser talks to (set config KIOSK_PORT once bound)."""
    web = Flask(__name__, static_folder=None)

    @web.before_request
    def _guard():
        port = web.config["KIOSK_PORT"]
        # A page elsewhere could point a browser here through DNS rebinding; its Host header gives it away.
        if request.host not in (f"127.0.0.1:{port}", f"localhost:{port}", f"[::1]:{port}"):
            abort(403)
        if request.method == "POST" and not request.is_json:
            abort(415)

    @web.after_request
    def _headers(response):
        response.headers["Cache-Control"] = "no-store"
        response.headers["X-Frame-Options"] = "DENY"
        response.headers["Content-Security-Policy"] = "default-src 'self'; img-src 'self' data:"
        return response

    @web.get("/")
    def index():
        """Serve the page."""
        return send_from_directory(STATIC, "index.html")

    @web.get("/static/<path:name>")
    def static_file(name: str):
        """Serve a script, style sheet or icon file."""
        return send_from_directory(STATIC, name)

    @web.get("/api/state")
    def state():
        """Return the current screen's state."""
        return jsonify(kiosk.snapshot())

    @web.get("/api/paper")
    def paper():
        """Return the paper of the sitting on screen."""
        exam = kiosk.exam
        if exam is None:
            return jsonify({"error": "no_exam"}), 404
        return jsonify({"sitting_id": exam.id, "questions": exam.questions})

    @web.post("/api/action/<name>")
    def action(name: str):
        """Carry out a button press and return the new state."""
        try:
            kiosk.act(name, request.get_json(silent=True) or {})
        except (ValueError, KeyError, TypeError) as exc:
            return jsonify({"error": str(exc), **kiosk.snapshot()}), 409
        return jsonify(kiosk.snapshot())

    _add_words_routes(web, kiosk)
    _add_picture_route(web, kiosk)

    @web.get("/preview.jpg")
    def preview():
        """Return the newest camera frame as JPEG."""
        data = preview_jpeg(kiosk)
        if data is None:
            return "", 503
        return data, 200, {"Content-Type": "image/jpeg"}

    return web


class ScreenServer:
    """The web app on a loopback port, served by threads so the preview never blocks an action."""

    def __init__(self, kiosk: KioskApp, host: str = "127.0.0.1", port: int = 8080) -> None:
        check_loopback(host)
        web = create_web_app(kiosk)
        self._server = make_server(host, port, web, threaded=True)
        self.port = web.config["KIOSK_PORT"] = self._server.server_port
        self.url = f"http://{host}:{self.port}/"
        self._thread = threading.Thread(target=self._server.serve_forever, name="screen", daemon=True)

    def start(self) -> ScreenServer:
        """Start serving."""
        self._thread.start()
        log.info("screen served at %s", self.url)
        return self

    def stop(self) -> None:
        """Stop serving."""
        self._server.shutdown()
        self._server.server_close()
