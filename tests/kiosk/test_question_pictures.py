"""A question's picture reaches the kiosk screen: the screen server fetches it from the exam server once per sitting."""

from __future__ import annotations

import io

import cv2
import numpy as np
import pytest
import requests
from PIL import Image
from sqlalchemy import select

from exam_server.models import Question, Role
from kiosk_client.api import KioskApi
from kiosk_client.app import KioskApp
from kiosk_client.burst import Filming
from kiosk_client.camera import Camera, resolve
from kiosk_client.exam import ExamSession
from kiosk_client.guidance import FaceGuide
from kiosk_client.journal import Journal
from kiosk_client.web.server import ScreenServer
from tests import factories
from tests.console.test_question_images import sign
from tests.kiosk.live import ThreadServer, build_app, open_exam

PICTURED = {"category": "应急救援与疏散", "qtype": "truefalse"}  # every question the paper's true/false rule draws


@pytest.fixture()
def pictured_exam(tmp_path):
    """The exam server with a picture on every question of one rule, a sitting drawn after, and a kiosk screen on it."""
    from exam_server.extensions import db
    from exam_server.services.exam import question_images, question_store

    app = build_app(tmp_path)
    with app.app_context():
        question_store.load_bundled(db.session)
        author = factories.user(db.session, Role.CITY, username="picture_author")
        for row in db.session.scalars(select(Question).filter_by(**PICTURED)):
            question_images.attach(db.session, row, sign(), app.config["DATA_DIR"], author)
        db.session.commit()
    token, sitting_id, paper, _ = open_exam(app)
    server = ThreadServer(app).start()
    video = tmp_path / "grey.avi"
    writer = cv2.VideoWriter(str(video), cv2.VideoWriter_fourcc(*"MJPG"), 15, (320, 240))
    for n in range(15):
        writer.write(np.full((240, 320, 3), 100 + n, np.uint8))
    writer.release()
    camera = Camera(resolve(str(video)), loop=True).start()
    journal = Journal(tmp_path / "journal.sqlite3")
    api = KioskApi(server.url, token)
    kiosk = KioskApp(api, Filming(camera, FaceGuide()), journal, []).start()
    with kiosk.lock:
        kiosk.exam = ExamSession.open(journal, api.sitting(sitting_id), {"name": "考生"}, {"name": "考试"})
    screen = ScreenServer(kiosk, "127.0.0.1", 0).start()
    yield screen, server, paper, kiosk
    screen.stop()
    kiosk.stop()
    camera.stop()
    journal.close()
    server.stop()
    with app.app_context():
        db.engine.dispose()


def test_the_screen_shows_the_picture_of_its_paper_even_when_the_server_is_gone(pictured_exam):
    screen, server, paper, _ = pictured_exam
    questions = requests.get(screen.url + "api/paper", timeout=5).json()["questions"]
    pictured = [q["item_no"] for q in questions if q["image"]]
    plain = [q["item_no"] for q in questions if not q["image"]]
    assert (
        pictured == [i["number"] for i in paper["items"] if i["category"] == PICTURED["category"]]
        and len(pictured) == 2
    )
    shown = requests.get(screen.url + f"api/paper/image/{pictured[0]}", timeout=5)
    assert shown.status_code == 200 and shown.headers["Content-Type"] == "image/png"
    assert Image.open(io.BytesIO(shown.content)).size == Image.open(io.BytesIO(sign())).size
    assert requests.get(screen.url + f"api/paper/image/{plain[0]}", timeout=5).status_code == 404
    assert requests.get(screen.url + "api/paper/image/99", timeout=5).status_code == 404
    server.stop()  # an outage mid-exam: a picture already seen stays, one not yet fetched is unavailable
    assert requests.get(screen.url + f"api/paper/image/{pictured[0]}", timeout=5).content == shown.content
    assert requests.get(screen.url + f"api/paper/image/{pictured[1]}", timeout=10).status_code == 503
    script = requests.get(screen.url + "static/app.js", timeout=5).text
    assert 'src="/api/paper/image/${q.item_no}"' in script


def test_the_worker_sees_the_picture_under_the_stem(pictured_exam, browser):
    from tests.kiosk.browser import shot

    screen, _, paper, kiosk = pictured_exam
    index = next(n for n, item in enumerate(paper["items"]) if item["category"] == PICTURED["category"])
    with kiosk.lock:
        kiosk.exam.state["current"] = index
        kiosk.show("exam")
    page = browser.new_page(viewport={"width": 1280, "height": 800})
    try:
        page.goto(screen.url)
        picture = page.locator("img.qimage")
        picture.wait_for(timeout=10_000)
        page.wait_for_function("() => document.querySelector('img.qimage').naturalWidth > 0", timeout=10_000)
        assert page.evaluate("() => document.querySelector('img.qimage').naturalWidth") == 200
        assert picture.bounding_box()["height"] > 50  # shown at a readable size, not collapsed
        shot(page, "question_picture")
    finally:
        page.close()
