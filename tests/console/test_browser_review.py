"""In a real browser: enrol a worker's photo, decide a face alert raised by the kiosk API, keep managers out."""

from __future__ import annotations

import io
from datetime import timedelta

import cv2
import pytest
from sqlalchemy import select

from exam_server.extensions import db
from exam_server.models import (
    AuditLog,
    CaptureRequest,
    Enterprise,
    ExamPlan,
    ExamRequirement,
    FacePhoto,
    FaceTemplate,
    PhotoSource,
    ReviewCase,
    ReviewKind,
    ReviewStatus,
    Sitting,
    SittingStatus,
    User,
    Worker,
    utcnow,
)
from exam_server.services.exam import kiosks
from exam_server.services.faces import face_service
from tests.api.conftest import CONSENT, SMALL_RULESET, TURN_LEFT, KioskClient, frame
from tests.console.browser import log_in, shot

pytestmark = pytest.mark.browser

ENROLLED = "single/obama/obama1.jpg"  # the worker
IMPOSTOR = "single/biden/biden2.jpg"  # someone else sitting down at the kiosk
CLEAR = "single/lennon/lennon2.jpg"  # a frontal face, one person, even light
IMMEDIATE = {"min_interval_seconds": 0, "max_interval_seconds": 0, "retry_after_seconds": 0}


def first_worker(app, credit_code: str) -> tuple[int, str]:
    with app.app_context():
        worker = db.session.scalars(
            select(Worker).join(Enterprise).where(Enterprise.credit_code == credit_code).order_by(Worker.id)
        ).first()
        return worker.id, worker.name


def stored_faces(app, worker_id: int) -> tuple[list[FacePhoto], list[FaceTemplate]]:
    with app.app_context():
        return (
            db.session.scalars(select(FacePhoto).where(FacePhoto.worker_id == worker_id)).all(),
            db.session.scalars(
                select(FaceTemplate).where(FaceTemplate.worker_id == worker_id, FaceTemplate.active)
            ).all(),
        )


def upload(page, path) -> None:
    page.set_input_files("#photo", str(path))
    page.click("button:has-text('上传并检测')")


def test_manager_enrols_a_real_photo_and_bad_images_are_refused_with_the_reason(served, page, faces_dir, tmp_path):
    worker_id, name = first_worker(served.app, served.enterprise["credit_code"])
    original = (faces_dir / CLEAR).read_bytes()
    corrupt = tmp_path / "损坏.jpg"
    corrupt.write_bytes(original[:2000])  # an upload cut short
    faceless = tmp_path / "背景.jpg"
    image = cv2.imread(str(faces_dir / IMPOSTOR))
    faceless.write_bytes(cv2.imencode(".jpg", image[0:400, 0:300])[1].tobytes())  # the painting behind him
    clear = tmp_path / "登记照.jpg"
    clear.write_bytes(original)

    log_in(page, served.url, "ent_a")
    page.click("nav.mainnav >> text=人员管理")
    page.click(f"table.list >> text={name}")
    page.wait_for_selector("text=尚未登记照片")
    upload(page, corrupt)
    page.wait_for_selector("p.flash.error >> text=照片未通过检测：无法读取图像")
    upload(page, faceless)
    page.wait_for_selector("p.flash.error >> text=照片未通过检测：照片中未检测到人脸：请上传本人正面免冠")
    shot(page, "enrol-1-refused")
    assert page.locator("text=尚未登记照片").count() == 1
    assert stored_faces(served.app, worker_id) == ([], [])

    upload(page, clear)
    flash = page.wait_for_selector("p.flash.success >> text=照片已登记")
    assert "人脸宽度" in flash.inner_text() and "要求不小于 80 像素" in flash.inner_text()
    page.wait_for_function("() => document.querySelector('img.photo')?.complete")
    assert page.eval_on_selector("img.photo", "img => img.naturalWidth") == 1200
    shot(page, "enrol-2-enrolled")
    photos, templates = stored_faces(served.app, worker_id)
    assert len(photos) == 1 and photos[0].source is PhotoSource.CONSOLE and photos[0].width == 1200
    assert photos[0].quality["face_width"] >= 120
    assert templates and {t.photo_id for t in templates} == {photos[0].id}
    assert (tmp_path / photos[0].path).read_bytes() == original  # stored privately under DATA_DIR
    with served.app.app_context():
        manager = db.session.scalar(select(User.id).where(User.username == "ent_a"))
        assert db.session.scalar(select(AuditLog.user_id).where(AuditLog.action == "face_enrolled")) == manager


def kiosk_mismatch(app, faces_dir, credit_code: str) -> tuple[int, int]:
    """Enrol the worker, check them in at a kiosk, then let someone else face the camera until a case opens."""
    worker_id, _ = first_worker(app, credit_code)
    app.config["CHECKIN_CHALLENGES"] = ("turn_left",)  # still photos can answer a turn honestly, never a blink
    app.config["CHECKIN_CHALLENGE_STEPS"] = 1
    with app.app_context():
        worker = db.session.get(Worker, worker_id)
        face_service.enrol(db.session, worker, (faces_dir / ENROLLED).read_bytes(), PhotoSource.CONSOLE)
        now = utcnow()
        plan = ExamPlan(
            name="2026年安全生产培训考试",
            ruleset=SMALL_RULESET,
            face_policy=IMMEDIATE,
            opens_at=now - timedelta(days=1),
            closes_at=now + timedelta(days=30),
        )
        db.session.add(plan)
        db.session.flush()
        e = worker.enterprise
        db.session.add(
            ExamRequirement(
                plan_id=plan.id,
                worker_id=worker.id,
                enterprise_id=e.id,
                county_id=e.county_id,
                township_id=e.township_id,
                industry_id=e.industry_id,
            )
        )
        kiosk, token = kiosks.register(
            db.session, "兰山区考点1号机", location="兰山区应急管理局一楼", county_id=e.county_id
        )
        db.session.commit()
        citizen_id, kiosk_id = worker.citizen_id, kiosk.id
    client = KioskClient(app, token, kiosk_id)
    started = client.post("/api/v1/checkins", json={"citizen_id": citizen_id, "consent": CONSENT}).get_json()
    burst = [(io.BytesIO(frame(faces_dir, path)), f"f{n}.jpg") for n, path in enumerate(TURN_LEFT)]
    passed = client.post(
        f"/api/v1/checkins/{started['checkin_id']}/frames",
        content_type="multipart/form-data",
        data={"checkin_token": started["checkin_token"], "frames": burst},
    ).get_json()
    assert passed.get("result") == "passed", passed  # the worker themself checked in
    sitting_id = passed["sitting"]["id"]
    decisions = []
    for filming in (4, 5, 6):  # someone else filmed three times (the same frame again would be a replay)
        nonce = client.get(f"/api/v1/sittings/{sitting_id}/clock").get_json()["capture"]["nonce"]
        answer = client.post(
            f"/api/v1/sittings/{sitting_id}/captures",
            content_type="multipart/form-data",
            data={"nonce": nonce, "frame": (io.BytesIO(frame(faces_dir, IMPOSTOR, filming=filming)), "frame.jpg")},
        )
        decisions.append(answer.get_json()["decision"])
    assert decisions == ["retry", "retry", "suspended"]
    with app.app_context():
        case_id = db.session.scalar(
            select(ReviewCase.id).where(
                ReviewCase.sitting_id == sitting_id, ReviewCase.kind == ReviewKind.IN_EXAM_MISMATCH
            )
        )
    return case_id, sitting_id


def test_reviewer_sees_both_faces_and_confirms_the_impostor(served, page, faces_dir):
    case_id, sitting_id = kiosk_mismatch(served.app, faces_dir, served.enterprise["credit_code"])
    with served.app.app_context():
        distance = db.session.get(ReviewCase, case_id).distance
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))

    log_in(page, served.url, "reviewer_1")
    page.click("nav.mainnav >> text=人脸审核")
    row = page.wait_for_selector(f"tr[data-case='{case_id}']")
    assert "考试中人脸不符" in row.inner_text() and f"{distance:.3f}" in row.inner_text()
    shot(page, "review-1-queue")
    row.query_selector("a").click()
    page.wait_for_selector("text=照片比对")
    page.wait_for_function("() => [...document.querySelectorAll('.case-images img')].every(i => i.complete)")
    images = page.eval_on_selector_all(".case-images img", "all => all.map(i => [i.alt, i.naturalWidth])")
    assert images[0][0] == "登记照片" and images[0][1] > 0
    live = [width for alt, width in images if alt == "现场画面"]
    assert len(live) >= 3 and all(live)  # the three frames of the impostor, loaded through the checked route
    captions = page.inner_text(".case-images")
    assert f"{distance:.3f}" in captions and "比对不符" in captions and "mismatch" not in captions
    shot(page, "review-2-case")

    reason = "现场画面与登记照片明显不是同一人，系替考"
    page.fill("textarea[name=reason]", reason)
    page.click("button[value=confirmed]")
    page.wait_for_selector(f"p.flash.success >> text=告警 #{case_id}")
    assert page.locator(f"tr[data-case='{case_id}']").count() == 0  # gone from the open queue
    page.click("text=已处理")
    page.wait_for_selector(f"tr[data-case='{case_id}'] >> text=已确认")
    shot(page, "review-3-decided")
    assert not errors

    with served.app.app_context():
        case = db.session.get(ReviewCase, case_id)
        reviewer = db.session.scalar(select(User.id).where(User.username == "reviewer_1"))
        assert case.status is ReviewStatus.CONFIRMED and case.reason == reason
        assert case.decided_by_id == reviewer and case.decided_at is not None
        entry = db.session.scalar(select(AuditLog).where(AuditLog.action == "review_confirmed"))
        assert entry.user_id == reviewer and entry.detail["reason"] == reason and entry.ip == "127.0.0.1"
        sitting = db.session.get(Sitting, sitting_id)
        assert sitting.status is SittingStatus.VOIDED and sitting.status_reason == reason
        assert db.session.scalar(select(AuditLog.user_id).where(AuditLog.action == "sitting_voided")) == reviewer
        assert db.session.scalar(select(ExamRequirement.attempts)) == 1  # the voided attempt still counts
        assert not db.session.scalars(
            select(CaptureRequest).where(CaptureRequest.sitting_id == sitting_id, CaptureRequest.used_at.is_(None))
        ).all()


def test_enterprise_manager_cannot_open_the_review_queue(served, page):
    log_in(page, served.url, "ent_a")
    assert page.locator("nav.mainnav >> text=人脸审核").count() == 0
    response = page.goto(f"{served.url}/console/review")
    assert response.status == 403 and page.locator("table#cases").count() == 0
    assert "无权打开此页面" in page.inner_text("main") and "企业管理员" in page.inner_text("main")
    shot(page, "review-4-manager-refused")
