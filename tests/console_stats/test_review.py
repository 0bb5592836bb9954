"""The face review queue: scoped cases, images only through the role-checked route, decisions that act."""

import json
import re
from pathlib import Path

import cv2
import numpy as np
import pytest
from sqlalchemy import select

from exam_server.face.errors import reason_zh
from exam_server.models import (
    N_,
    AuditLog,
    CheckKind,
    Decision,
    DomainError,
    FaceCheck,
    FacePhoto,
    FaceTemplate,
    PhotoSource,
    ReviewCase,
    ReviewKind,
    ReviewStatus,
    Sitting,
    SittingStatus,
    summary_fields,
    utcnow,
)
from exam_server.services.exam import captures
from exam_server.services.faces import review
from tests.console_stats.conftest import start_real_sitting


def jpeg(shade: int) -> bytes:
    image = np.full((48, 40, 3), shade, dtype=np.uint8)
    return cv2.imencode(".jpg", image)[1].tobytes()


def write(app, relative: str, data: bytes) -> str:
    path = Path(app.config["DATA_DIR"]) / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return relative


def enrol(app, session, worker, shade: int) -> FacePhoto:
    photo = FacePhoto(
        worker_id=worker.id,
        source=PhotoSource.CONSOLE,
        sha256="0" * 64,
        width=40,
        height=48,
        path=write(app, f"photos/{worker.id}/enrolled.jpg", jpeg(shade)),
    )
    session.add(photo)
    session.flush()
    session.add(
        FaceTemplate(worker_id=worker.id, photo_id=photo.id, model_name="dlib", model_version="1", vector=b"\0" * 512)
    )
    session.flush()
    return photo


@pytest.fixture()
def cases(app, db, city):
    """A suspended sitting of w4 (兰山区) with its mismatch case, and a check-in case of w9 (罗庄区)."""
    session = db.session
    w4 = city.requirements["w4"]
    photo = enrol(app, session, city.workers["w4"], 120)
    sitting = start_real_sitting(session, w4)
    session.add(
        FaceCheck(
            kind=CheckKind.CHECKIN,
            worker_id=w4.worker_id,
            checkin_id=None,
            model_name="dlib",
            model_version="1",
            distance=0.28,
            threshold=0.5,
            decision=Decision.MATCH,
            created_at=sitting.started_at,
        )
    )
    check = FaceCheck(
        kind=CheckKind.IN_EXAM,
        worker_id=w4.worker_id,
        sitting_id=sitting.id,
        model_name="dlib",
        model_version="1",
        distance=0.71,
        threshold=0.5,
        decision=Decision.MISMATCH,
        evidence_path=write(app, "evidence/2026/11/29/frame-a.jpg", jpeg(30)),
    )
    session.add(check)
    session.flush()
    assert captures.suspend(session, sitting, check, utcnow(), mismatches=3)  # opens the case, as the API does
    other = enrol(app, session, city.workers["w9"], 200)
    b_check = FaceCheck(
        kind=CheckKind.CHECKIN,
        worker_id=city.workers["w9"].id,
        model_name="dlib",
        model_version="1",
        distance=0.66,
        threshold=0.5,
        decision=Decision.MISMATCH,
        evidence_path=write(app, "evidence/2026/11/29/frame-b.jpg", jpeg(60)),
    )
    session.add(b_check)
    session.flush()
    session.add(
        ReviewCase(
            kind=ReviewKind.CHECKIN_REFUSED,
            worker_id=city.workers["w9"].id,
            face_check_id=b_check.id,
            distance=0.66,
            summary="入场核验三次不符",
        )
    )
    session.commit()
    a_case = session.scalar(select(ReviewCase).where(ReviewCase.sitting_id == sitting.id))
    b_case = session.scalar(select(ReviewCase).where(ReviewCase.kind == ReviewKind.CHECKIN_REFUSED))
    return {
        "a": a_case,
        "b": b_case,
        "sitting": sitting,
        "photo": photo,
        "check": check,
        "other": other,
        "b_check": b_check,
    }


def test_queue_is_scoped_and_the_case_page_shows_photos_and_time_line(db, city, cases, login):
    reviewer = login(city.users["reviewer"])
    queue = reviewer.get("/console/review").get_data(as_text=True)
    assert f'data-case="{cases["a"].id}"' in queue and f'data-case="{cases["b"].id}"' in queue
    county = login(city.users["county_a"]).get("/console/review").get_data(as_text=True)
    assert f'data-case="{cases["a"].id}"' in county and f'data-case="{cases["b"].id}"' not in county
    page = reviewer.get(f"/console/review/{cases['a'].id}").get_data(as_text=True)
    assert f"/console/review/image/photo/{cases['photo'].id}" in page
    assert f"/console/review/image/check/{cases['check'].id}" in page
    assert "0.710" in page and "比对不符" in page and "入场核验" in page  # distances and the check-in in the time line
    assert 'name="reason" required' in page


def test_images_are_served_only_to_allowed_roles_and_never_cached(app, db, city, cases, login, client):
    url = f"/console/review/image/photo/{cases['photo'].id}"
    response = login(city.users["reviewer"]).get(url)
    assert response.status_code == 200 and response.mimetype == "image/jpeg"
    assert response.get_data() == (Path(app.config["DATA_DIR"]) / cases["photo"].path).read_bytes()
    assert response.headers["Cache-Control"] == "private, no-store"
    assert login(city.users["city"]).get(f"/console/review/image/check/{cases['check'].id}").status_code == 200
    assert login(city.users["county_a"]).get(url).status_code == 200
    assert login(city.users["county_a"]).get(f"/console/review/image/photo/{cases['other'].id}").status_code == 404
    assert login(city.users["county_a"]).get(f"/console/review/image/check/{cases['b_check'].id}").status_code == 404
    assert login(city.users["e1"]).get(url).status_code == 403
    anonymous = client.get(url)
    assert anonymous.status_code == 302 and "/auth/login" in anonymous.headers["Location"]
    assert client.get("/static/../photos").status_code == 404  # nothing of DATA_DIR on a public URL


def test_an_image_unrelated_to_any_case_or_outside_data_dir_is_refused(app, db, city, cases, login):
    reviewer = login(city.users["reviewer"])
    lone = enrol(app, db.session, city.workers["w1"], 90)
    escape = FacePhoto(
        worker_id=city.workers["w4"].id,
        source=PhotoSource.CONSOLE,
        sha256="0" * 64,
        width=1,
        height=1,
        path="../../../../etc/passwd",
    )
    db.session.add(escape)
    db.session.commit()
    assert reviewer.get(f"/console/review/image/photo/{lone.id}").status_code == 404
    assert reviewer.get(f"/console/review/image/photo/{escape.id}").status_code == 404
    assert reviewer.get("/console/review/image/other/1").status_code == 404


def test_dismissing_a_mismatch_resumes_the_sitting_and_is_audited(db, city, cases, login):
    reviewer = login(city.users["reviewer"])
    case_id, sitting_id = cases["a"].id, cases["sitting"].id
    refused = reviewer.post(f"/console/review/{case_id}/decide", data={"outcome": "dismissed", "reason": ""})
    assert refused.status_code == 302 and refused.headers["Location"].endswith(f"/console/review/{case_id}")
    assert db.session.get(ReviewCase, case_id).status is ReviewStatus.OPEN  # a reason is required
    done = reviewer.post(
        f"/console/review/{case_id}/decide", data={"outcome": "dismissed", "reason": "本人戴口罩导致误报，现场核实无误"}
    )
    assert done.status_code == 302 and done.headers["Location"].endswith("/console/review")
    db.session.expire_all()
    case = db.session.get(ReviewCase, case_id)
    assert case.status is ReviewStatus.DISMISSED and case.decided_by_id == city.users["reviewer"].id
    assert case.reason == "本人戴口罩导致误报，现场核实无误"
    assert db.session.get(Sitting, sitting_id).status is SittingStatus.IN_PROGRESS
    actions = set(db.session.scalars(select(AuditLog.action)))
    assert {"review_dismissed", "sitting_resumed_by_review"} <= actions
    again = reviewer.post(f"/console/review/{case_id}/decide", data={"outcome": "confirmed", "reason": "再次处理"})
    assert "已被处理" in reviewer.get(again.headers["Location"]).get_data(as_text=True)


def test_confirming_a_mismatch_voids_the_sitting(db, city, cases, login):
    city_admin = login(city.users["city"])
    city_admin.post(
        f"/console/review/{cases['a'].id}/decide", data={"outcome": "confirmed", "reason": "替考，现场确认"}
    )
    db.session.expire_all()
    assert db.session.get(ReviewCase, cases["a"].id).status is ReviewStatus.CONFIRMED
    assert db.session.get(Sitting, cases["sitting"].id).status is SittingStatus.VOIDED


def test_county_admin_decides_own_county_cases_only(db, city, cases, login):
    county = login(city.users["county_a"])
    page = county.get(f"/console/review/{cases['a'].id}").get_data(as_text=True)
    assert 'name="outcome"' in page  # 兰山区's case: the form is offered
    refused = county.post(
        f"/console/review/{cases['b'].id}/decide", data={"outcome": "dismissed", "reason": "区县试图处理外区告警"}
    )
    assert refused.status_code == 404  # as for the case page: outside the scope it does not exist
    db.session.expire_all()
    assert db.session.get(ReviewCase, cases["b"].id).status is ReviewStatus.OPEN
    assert not db.session.scalars(select(AuditLog).where(AuditLog.action.like("review_%"))).all()
    assert county.get(f"/console/review/{cases['b'].id}").status_code == 404  # nor may it look
    with pytest.raises(DomainError):  # the service refuses too, whatever route calls it
        review.decide(
            db.session, db.session.get(ReviewCase, cases["b"].id), "dismissed", "外区处理", city.users["county_a"]
        )
    db.session.rollback()

    done = county.post(
        f"/console/review/{cases['a'].id}/decide", data={"outcome": "dismissed", "reason": "本区核实为本人"}
    )
    assert done.status_code == 302 and done.headers["Location"].endswith("/console/review")
    db.session.expire_all()
    case = db.session.get(ReviewCase, cases["a"].id)
    assert case.status is ReviewStatus.DISMISSED and case.decided_by_id == city.users["county_a"].id
    assert db.session.get(Sitting, cases["sitting"].id).status is SittingStatus.IN_PROGRESS
    assert login(city.users["e1"]).get("/console/review").status_code == 403


def test_reviewer_and_city_decide_in_any_county(db, city, cases, login):
    for user, case in (("reviewer", "b"), ("city", "a")):
        login(city.users[user]).post(
            f"/console/review/{cases[case].id}/decide", data={"outcome": "confirmed", "reason": "跨区县处理"}
        )
    db.session.expire_all()
    assert db.session.get(ReviewCase, cases["b"].id).decided_by_id == city.users["reviewer"].id
    assert db.session.get(ReviewCase, cases["a"].id).decided_by_id == city.users["city"].id


def test_the_monitor_and_the_review_page_name_a_face_state_alike(db, city, cases, login):
    """The monitor's words for a check come from the page, which takes them from the enums the review page uses."""
    db.session.add(
        FaceCheck(
            kind=CheckKind.IN_EXAM,
            worker_id=cases["sitting"].worker_id,
            sitting_id=cases["sitting"].id,
            model_name="dlib",
            model_version="1",
            decision=Decision.REFUSED,
            refusal_code="too_dark",
        )
    )
    db.session.commit()
    admin = login(city.users["city"])
    monitor = admin.get("/console/monitor").get_data(as_text=True)
    blob = re.search(r'<script type="application/json" id="monitor-states">(.*?)</script>', monitor, re.S)
    labels = dict(json.loads(blob.group(1)))
    page = admin.get(f"/console/review/{cases['a'].id}").get_data(as_text=True)
    for state in ("refused", "mismatch", "match"):
        assert f'<span class="state {state}">{labels[state]}</span>' in page
    assert labels["suspended"] == SittingStatus.SUSPENDED.label and SittingStatus.SUSPENDED.label in page
    script = admin.get("/static/monitor.js").get_data(as_text=True)
    assert "monitor-states" in script and not any(label in script for label in labels.values())


def test_cases_name_the_look_alike_and_give_reasons_in_chinese(db, city, cases, login):
    """Older summaries stored an internal id and an English code; the pages show the name and the reason."""
    w1, w4 = city.workers["w1"], city.workers["w4"]
    duplicate = ReviewCase(
        kind=ReviewKind.DUPLICATE_ENROLMENT,
        worker_id=w4.id,
        other_worker_id=w1.id,
        distance=0.18,
        summary=f"新登记照片与工人{w1.id}的人脸相似（距离0.180）",
    )
    db.session.add(duplicate)
    cases["b"].summary = "入场人证核验连续3次未通过（最后一次：face_mismatch）"
    db.session.commit()
    reviewer = login(city.users["reviewer"])
    for html in (
        reviewer.get("/console/review").get_data(as_text=True),
        reviewer.get(f"/console/review/{duplicate.id}").get_data(as_text=True),
    ):
        assert f"与从业人员{w1.name}的人脸相似" in html and f"工人{w1.id}的" not in html
    for html in (
        reviewer.get("/console/review").get_data(as_text=True),
        reviewer.get(f"/console/review/{cases['b'].id}").get_data(as_text=True),
    ):
        assert "（最后一次：人脸与登记信息不符）" in html and "face_mismatch" not in html
    assert "<dt>从业人员</dt>" in reviewer.get(f"/console/review/{duplicate.id}").get_data(as_text=True)


def test_a_refused_check_in_shows_every_models_distance_against_its_threshold(app, db, city, cases, login, faces_dir):
    """A mismatch keeps no distance on its row; its judgement (fused and per model) is shown from the detail."""
    from exam_server.services.faces import face_service, face_verify

    engine = face_service.engine()
    enrolled = engine.analyse((faces_dir / "single/obama/obama1.jpg").read_bytes(), "upload")
    live = engine.analyse((faces_dir / "single/biden/biden1.jpg").read_bytes(), "live")
    verdict = face_verify.judge(engine, [live], enrolled.templates())
    assert verdict.decision == "mismatch" and verdict.fused
    check = cases["b_check"]
    check.model_name, check.distance, check.threshold = face_verify.FUSED, None, None
    check.detail = {"identity": verdict.to_dict()}
    cases["b"].distance = None
    db.session.commit()
    reviewer = login(city.users["reviewer"])
    page = reviewer.get(f"/console/review/{cases['b'].id}").get_data(as_text=True)
    detail = verdict.to_dict()
    assert f"融合 {detail['distance']:.3f}（阈值 {detail['threshold']:.3f}，超过）" in page
    assert len(detail["per_model"]) == 2
    for model, label in zip(detail["per_model"], ("dlib", "SFace"), strict=True):
        shown = f"{label} {model['distance']:.3f}（阈值 {model['threshold']:.3f}"
        assert shown in page, shown
    queue = reviewer.get("/console/review").get_data(as_text=True)
    row = queue.split(f'data-case="{cases["b"].id}"', 1)[1].split("</tr>", 1)[0]
    assert f"{detail['distance']:.3f} / {detail['threshold']:.3f}" in row
    reviewer.post("/auth/language", data={"locale": "en"})
    page = reviewer.get(f"/console/review/{cases['b'].id}").get_data(as_text=True)
    assert f"Fused {detail['distance']:.3f}" in page and "融合" not in page


def test_faces_are_cropped_to_one_size_from_the_stored_images_within_scope(app, db, city, cases, login, faces_dir):
    from exam_server.services.faces import face_service

    data_dir = Path(app.config["DATA_DIR"])
    (data_dir / cases["photo"].path).write_bytes((faces_dir / "single/obama/obama1.jpg").read_bytes())  # 910x1137
    (data_dir / cases["check"].evidence_path).write_bytes((faces_dir / "resolutions/obama-480p.jpg").read_bytes())
    reviewer = login(city.users["reviewer"])
    page = reviewer.get(f"/console/review/{cases['a'].id}").get_data(as_text=True)
    assert f"/console/review/image/photo/{cases['photo'].id}?crop=face" in page
    assert f"/console/review/image/check/{cases['check'].id}?crop=face" in page
    engine = face_service.engine()
    widths = []
    for url in (
        f"/console/review/image/photo/{cases['photo'].id}?crop=face",
        f"/console/review/image/check/{cases['check'].id}?crop=face",
    ):
        response = reviewer.get(url)
        assert response.status_code == 200 and response.mimetype == "image/jpeg"
        assert response.headers["Cache-Control"] == "private, no-store"
        rgb = cv2.cvtColor(cv2.imdecode(np.frombuffer(response.data, np.uint8), cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)
        assert rgb.shape[:2] == (face_service.CROP_PX, face_service.CROP_PX)
        face = engine.find_single_face(rgb, "upload")  # the face fills the square, centred
        widths.append(face.box.width)
        assert abs((face.box.left + face.box.right) / 2 - face_service.CROP_PX / 2) < face_service.CROP_PX * 0.1
    # One scale: a 269 px face of a tall photo and a 108 px face of a 480p frame come out the same size.
    assert max(widths) / min(widths) < 1.2, widths
    # Without exactly one face the whole image is served; out of scope, nothing.
    (data_dir / cases["check"].evidence_path).write_bytes((faces_dir / "multi/obama_and_biden.jpg").read_bytes())
    whole = reviewer.get(f"/console/review/image/check/{cases['check'].id}?crop=face")
    assert whole.data == (faces_dir / "multi/obama_and_biden.jpg").read_bytes()
    county_a = login(city.users["county_a"])
    assert county_a.get(f"/console/review/image/check/{cases['b_check'].id}?crop=face").status_code == 404
    assert login(city.users["e1"]).get(f"/console/review/image/photo/{cases['photo'].id}?crop=face").status_code == 403


def test_an_english_console_shows_case_summaries_in_english(db, city, cases, login):
    """A case keeps its msgid and values: the console shows it in the reviewer's language, old rows in Chinese."""
    w1, w4 = city.workers["w1"], city.workers["w4"]
    duplicate = ReviewCase(
        kind=ReviewKind.DUPLICATE_ENROLMENT,
        worker_id=w4.id,
        other_worker_id=w1.id,
        distance=0.18,
        **summary_fields(
            N_("新登记照片与从业人员%(name)s的人脸相似（距离%(distance)s）"), name=w1.name, distance="0.180"
        ),
    )
    db.session.add(duplicate)
    refused = summary_fields(
        N_("入场人证核验连续%(failures)s次未通过（最后一次：%(last)s）"), failures=3, last=reason_zh("face_mismatch")
    )
    assert refused["summary"] == "入场人证核验连续3次未通过（最后一次：人脸与登记信息不符）"  # the CLI's and logs' text
    cases["b"].summary, cases["b"].summary_message = refused["summary"], refused["summary_message"]
    old = cases["a"].summary = "考试中画面出现多张人脸"  # stored before summaries kept their msgid
    cases["a"].summary_message = None
    db.session.commit()
    reviewer = login(city.users["reviewer"])
    reviewer.post("/auth/language", data={"locale": "en"})
    queue = reviewer.get("/console/review").get_data(as_text=True)
    duplicate_page = reviewer.get(f"/console/review/{duplicate.id}").get_data(as_text=True)
    refused_page = reviewer.get(f"/console/review/{cases['b'].id}").get_data(as_text=True)
    for html in (queue, duplicate_page):
        assert f"The newly enrolled photo looks like the worker {w1.name} (distance 0.180)" in html
    for html in (queue, refused_page):
        assert "failed 3 times in a row (last time: " in html and "入场人证核验" not in html
        assert "人脸与登记信息不符" not in html  # the reason is translated too
    assert old in queue  # an old row keeps its Chinese sentence
    reviewer.post("/auth/language", data={"locale": "zh_Hans_CN"})
    assert f"新登记照片与从业人员{w1.name}的人脸相似（距离0.180）" in reviewer.get("/console/review").get_data(
        as_text=True
    )
