"""Every kiosk screen fits every kiosk display, in normal and large text, and shows what it says.

The kiosk runs in-process against the real server app (a 50-question paper, graded results from real
submissions); each screen is put up as the flow would and checked in chromium at each size: nothing
leaves the viewport, the page never scrolls, no label is cut off, and every sentence the voice says is on
screen. Screenshots: test-artifacts/kiosk/layout-<size>[-large]-<screen>.png.
"""

from __future__ import annotations

import time

import cv2
import numpy as np
import pytest

from kiosk_client.api import KioskApi
from kiosk_client.app import KioskApp
from kiosk_client.burst import Filming
from kiosk_client.camera import Camera, resolve
from kiosk_client.guidance import FaceGuide, Guidance
from kiosk_client.journal import Journal
from kiosk_client.texts import refusal_view
from kiosk_client.voice import Voice
from kiosk_client.web.server import ScreenServer
from tests.kiosk.browser import SIZES, layout_problems, redraw, shot
from tests.kiosk.live import ThreadServer, build_app, graded_results, open_exam
from tests.kiosk.media import FACES_DIR, FACES_MISSING

pytestmark = pytest.mark.browser
# 50 questions: the paper whose answer card lost rows 41-50 below the fold at 1366x768.
FIFTY = {
    "id": "kiosk-layout",
    "name": "终端版面测试试卷",
    "duration_minutes": 60,
    "pass_mark": 30,
    "points": {"single": 1, "multiple": 2, "truefalse": 1},
    "rules": [
        {"category": "安全生产法律法规", "type": "single", "count": 10},
        {"category": "消防安全", "type": "single", "count": 8},
        {"category": "急救常识", "type": "single", "count": 10},
        {"category": "危险化学品", "type": "single", "count": 8},
        {"category": "职业健康", "type": "single", "count": 6},
        {"category": "消防安全", "type": "multiple", "count": 4},
        {"category": "应急救援与疏散", "type": "truefalse", "count": 4},
    ],
}
WORKER = {"name_masked": "王**", "enterprise": "兰山区安全化工有限公司"}
EXAM = {"plan_id": 1, "name": "2026年危险化学品企业从业人员安全培训考试", "duration_minutes": 60,
        "question_count": 50, "attempts_left": 2, "resuming": False}  # fmt: skip
# A challenge of three moves as the server sends it (exam_server/services/exam/checkin.py challenge_of).
THREE_STEPS = {
    "kind": "turn_left+blink+open_mouth",
    "prompt": "先向左转头再转回，再眨眼，最后张嘴再闭上。",
    "frames": 16,
    "seconds": 6.5,
    "steps": [
        {"kind": "turn_left", "instruction": "请缓慢向左转头，再转回正面。"},
        {"kind": "blink", "instruction": "请正对摄像头眨眼。"},
        {"kind": "open_mouth", "instruction": "请正对摄像头张大嘴，再闭上。"},
    ],
}
ONE_STEP = {"kind": "turn_right", "prompt": "请缓慢向右转头，再转回正面。", "frames": 8, "seconds": 2.5}
# The server's word when an in-exam photo could not confirm the worker (exam_server/services/exam/captures.py).
WARNING = "未能确认是考生本人，请正对摄像头，稍后将再次拍照。"


@pytest.fixture(scope="module")
def rig(tmp_path_factory):
    """The real server app with a 50-question sitting and graded results, and a kiosk app in front of it."""
    tmp = tmp_path_factory.mktemp("layout")
    app = build_app(tmp)
    token, sitting_id, _, _ = open_exam(app, ruleset=FIFTY, review_answers=True)
    server = ThreadServer(app).start()
    api = KioskApi(server.url, token)
    passed, failed = graded_results(app, api)
    # Two people in view: the guidance screen says so by itself (a grey picture where the photos are absent).
    video = tmp / "camera.avi"
    writer = cv2.VideoWriter(str(video), cv2.VideoWriter_fourcc(*"MJPG"), 15, (640, 480))
    two = None if FACES_MISSING else cv2.imread(str(FACES_DIR / "multi/two_people.jpg"))
    for n in range(15):
        writer.write(np.full((480, 640, 3), 90 + n, np.uint8) if two is None else cv2.resize(two, (640, 480)))
    writer.release()
    camera = Camera(resolve(str(video)), loop=True).start()
    journal = Journal(tmp / "journal.sqlite3")
    kiosk = KioskApp(api, Filming(camera, FaceGuide()), journal, [], voice=Voice(tmp / "voice")).start()
    screen = ScreenServer(kiosk, "127.0.0.1", 0).start()
    kiosk.checkin = {"worker": WORKER, "exam": EXAM}
    kiosk.begin_exam(api.sitting(sitting_id))
    for n, question in enumerate(kiosk.exam.questions[:31]):  # some answered, some not
        kiosk.exam.answer(question["item_no"], "A" if n % 2 else "B")
    yield {"kiosk": kiosk, "url": screen.url, "passed": passed, "failed": failed}
    screen.stop()
    kiosk.stop()
    camera.stop()
    journal.close()
    server.stop()


def screens(rig) -> list[tuple[str, object]]:
    """Return (name, put-it-up) for every screen, each as the flow shows it."""
    kiosk: KioskApp = rig["kiosk"]

    def show(screen: str, **data):
        return lambda: kiosk.show(screen, **data)

    def guidance(code: str):
        def put_up():
            kiosk.guidance = Guidance(code)
            kiosk.show("guidance", worker=WORKER, exam=EXAM, challenge=ONE_STEP)
            if not FACES_MISSING:  # the camera's own verdict replaces the one put up
                deadline = time.monotonic() + 10
                while kiosk.guidance is None or kiosk.guidance.code != code:
                    assert time.monotonic() < deadline, kiosk.guidance
                    time.sleep(0.05)

        return put_up

    def exam(index: int, capture: bool = False):
        def put_up():
            kiosk.exam.go(index)
            kiosk.show("exam")
            if capture:
                kiosk.capture_started()
                kiosk.capture_taken()
                kiosk.capture_light_until = time.monotonic() + 1.5
                kiosk.say(WARNING)  # both over the exam; neither may cover the answer card nor the result after it

        return put_up

    def offer_with_code():
        kiosk.sign_in_url = "https://aq.example.cn/worker/sign-in/" + "x" * 22
        kiosk.show("pin_offer", worker=WORKER, code_qr=True)

    return [
        ("welcome", show("welcome")),
        ("consent", show("consent", retention_days=180)),
        ("id-entry", show("id_entry", error="身份证号不对，请再看一下。18位，最后一位可能是X。")),
        ("checking-in", show("checking_in")),
        ("guidance", guidance("many_faces")),
        ("challenge-three-steps", show("challenge", phase="countdown", count=3, challenge=THREE_STEPS, worker=WORKER)),
        ("challenge-recording", show("challenge", phase="recording", challenge=ONE_STEP, worker=WORKER)),
        ("verifying-queued", show("verifying", worker=WORKER, queued=12)),
        ("retry", show("retry", **refusal_view("face_mismatch", "人脸与登记照片不符。"), attempts_left=2)),
        ("pin-offer", show("pin_offer", worker=WORKER)),
        ("pin-offer-code", offer_with_code),
        (
            "pin-entry-refused",
            show(
                "pin_entry",
                phase="first",
                worker=WORKER,
                error="server",
                message="密码不能取自身份证号或出生日期，请换一个。",
            ),
        ),
        ("pin-done", show("pin_done", worker=WORKER, sign_in_url="https://aq.example.cn/worker/login")),
        ("pin-failed", show("pin_failed", worker=WORKER, code="server_unreachable", message="")),
        ("exam-first", exam(0)),
        ("exam-capture", exam(36, capture=True)),
        ("review", show("review")),
        ("submitting", show("submitting")),
        # The practice PIN's offer beside 完成 (a result the server offers it with), and a result without it.
        ("result-passed", show("result", result=rig["passed"], pin_offer=True)),
        ("result-failed", show("result", result=rig["failed"], pin_offer=True)),
        ("result-passed-no-pin", show("result", result=rig["passed"])),
        ("refusal-consent", show("refusal", **refusal_view("consent_declined"))),
    ]


@pytest.mark.parametrize("large", [False, True], ids=["normal", "large"])
@pytest.mark.parametrize("size", list(SIZES))
def test_every_screen_fits_and_shows_what_it_says(rig, browser, size, large):
    kiosk: KioskApp = rig["kiosk"]
    context = browser.new_context(viewport=SIZES[size], locale="zh-CN")
    page = context.new_page()
    try:
        page.goto(rig["url"])
        page.wait_for_selector("#screen > *")
        kiosk.prefs["large"] = large
        problems = {}
        for name, put_up in screens(rig):
            put_up()
            redraw(page)
            if name == "review":
                page.click("#submit")  # the confirmation dialog over the answer card
            state = kiosk.snapshot()
            assert page.evaluate("() => drawnScreen") == state["screen"], name
            shot(page, f"layout-{size}{'-large' if large else ''}-{name}")
            found = layout_problems(page)
            if found:
                problems[name] = found
            shown = page.inner_text("body").replace("\n", "")
            for role in state["say"]:
                text = state["lines"][role]["text"]
                assert text.replace(" ", "") in shown.replace(" ", ""), f"{name}: says {text!r} but does not show it"
            assert page.evaluate("() => document.documentElement.classList.contains('large')") is large
            if name == "review":
                page.click("#cancel-submit")
        assert not problems, problems
    finally:
        kiosk.prefs["large"] = False
        context.close()


def test_the_exam_warning_and_capture_notice_stay_on_the_question_screen(rig):
    """Over a question they say what happened; on the answer card and after the exam they are gone."""
    kiosk: KioskApp = rig["kiosk"]
    try:
        kiosk.exam.go(0)
        kiosk.show("exam")
        kiosk.capture_started()
        kiosk.capture_taken()
        kiosk.say(WARNING)
        state = kiosk.snapshot()
        assert state["banner"] == WARNING and state["lines"]["banner"]["text"] == WARNING
        assert state["capturing"]  # the light stays on for its minimum time after the frame
        assert "notice" in state["lines"] and state["say"][-2:] == ["banner", "notice"]
        kiosk.show("review")
        state = kiosk.snapshot()
        assert state["banner"] is None and "notice" not in state["lines"] and "banner" not in state["say"]
        kiosk.show("exam")  # back to the questions within the time: still told
        assert kiosk.snapshot()["banner"] == WARNING
        kiosk.show("result", result=rig["failed"])
        state = kiosk.snapshot()
        assert state["banner"] is None and not {"banner", "notice"} & set(state["lines"])
        assert not state["capturing"]  # the exam is over: no capture light on the result
        kiosk.show("exam")  # a later sitting on this kiosk starts without the last one's warning
        state = kiosk.snapshot()
        assert state["banner"] is None and not {"banner", "notice"} & set(state["lines"])
    finally:
        kiosk.banner, kiosk.notice_until, kiosk.capture_light_until = None, 0.0, 0.0
