"""Local camera guidance on real faces: the instruction a worker gets, and its cost per frame."""

from __future__ import annotations

import statistics

import cv2
import numpy as np
import pytest

from kiosk_client.guidance import TEXTS, FaceGuide
from tests.kiosk.media import FACES_DIR, camera_frame, needs_faces

pytestmark = needs_faces


@pytest.fixture(scope="module")
def guide():
    return FaceGuide()


def test_a_person_facing_the_camera_is_told_to_hold_still(guide):
    verdict = guide.judge(camera_frame("single/obama/obama1.jpg"))
    assert verdict.code == "ok" and verdict.text == TEXTS["ok"]
    assert 150 < verdict.face_px < 240 and abs(verdict.yaw) < 12


@pytest.mark.parametrize("photo", ["single/obama/obama4.jpg", "single/obama/obama2.jpg"])
def test_a_turned_head_is_asked_to_look_at_the_camera(guide, photo):
    verdict = guide.judge(camera_frame(photo))
    assert verdict.code == "look_at_camera" and abs(verdict.yaw) > 20


def test_two_people_are_asked_to_leave_one(guide):
    frame = cv2.imread(str(FACES_DIR / "multi/two_people.jpg"))
    assert guide.judge(cv2.resize(frame, (640, 376))).code == "many_faces"


def test_a_distant_face_is_asked_to_come_closer(guide):
    assert guide.judge(camera_frame("single/obama/obama1.jpg", face_px=100)).code == "come_closer"


def test_a_face_filling_the_frame_is_asked_to_step_back(guide):
    assert guide.judge(camera_frame("single/obama/obama1.jpg", face_px=400)).code == "too_close"


def test_a_dark_frame_asks_for_light(guide):
    dim = (camera_frame("single/obama/obama1.jpg").astype(np.float32) * 0.3).astype(np.uint8)
    assert guide.judge(dim).code == "more_light"


def test_an_empty_scene_asks_the_worker_to_stand_in_front(guide):
    wall = np.full((480, 640, 3), 128, np.uint8)
    verdict = guide.judge(wall)
    assert verdict.code == "no_face" and verdict.box is None


def test_guidance_costs_under_30_ms_of_one_core_per_640x480_frame(guide):
    frames = [
        camera_frame(p)
        for p in (
            "single/obama/obama1.jpg",
            "single/obama/obama3.jpg",
            "single/obama/obama4.jpg",
            "single/biden/biden2.jpg",
        )
    ]
    guide.judge(frames[0])  # first call warms caches
    costs = [guide.judge(frames[n % len(frames)]).millis for n in range(24)]
    assert statistics.median(costs) < 30.0, costs
