"""Fixtures of the kiosk tests: chromium through Playwright (see browser.py), the server, a kiosk and its screen."""

import cv2
import numpy as np
import pytest

from kiosk_client.api import KioskApi
from kiosk_client.app import KioskApp
from kiosk_client.burst import Filming
from kiosk_client.camera import Camera, resolve
from kiosk_client.guidance import FaceGuide
from kiosk_client.journal import Journal
from kiosk_client.voice import Voice
from kiosk_client.web.server import ScreenServer
from tests.kiosk.browser import browser  # noqa: F401  (a fixture)
from tests.kiosk.live import Live, ThreadServer, build_app, open_exam


@pytest.fixture()
def live(tmp_path):
    """The real exam server app on a loopback port, with a kiosk token and an open sitting."""
    app = build_app(tmp_path)
    token, sitting_id, paper, other = open_exam(app)
    server = ThreadServer(app).start()
    yield Live(server, token, sitting_id, paper, other)
    server.stop()
    with app.app_context():
        from exam_server.extensions import db

        db.engine.dispose()


@pytest.fixture()
def screen(live, tmp_path):
    """A kiosk app (a grey camera, a journal, a voice) talking to the live server, and its touch screen's server."""
    path = tmp_path / "grey.avi"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 15, (320, 240))
    for n in range(15):
        writer.write(np.full((240, 320, 3), 100 + n, np.uint8))
    writer.release()
    camera = Camera(resolve(str(path)), loop=True).start()
    journal = Journal(tmp_path / "journal.sqlite3")
    api = KioskApi(live.server.url, live.token)
    kiosk = KioskApp(api, Filming(camera, FaceGuide()), journal, [], voice=Voice(tmp_path / "voice")).start()
    server = ScreenServer(kiosk, "127.0.0.1", 0).start()
    yield server, kiosk
    server.stop()
    kiosk.stop()
    camera.stop()
    journal.close()
