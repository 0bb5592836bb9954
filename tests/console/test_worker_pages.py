"""Worker list, search, detail and photo enrolment (one by one, and a zip in the background)."""

from __future__ import annotations

import csv
import io
import time
import zipfile

import cv2
from sqlalchemy import func, select

from exam_server.citizen_id import mask
from exam_server.models import AuditLog, FacePhoto, FaceTemplate, Job, PhotoSource
from tests import factories


def test_list_is_scoped_by_role(db, world, login):
    def listed(user):
        html = login(user).get("/console/workers").get_data(as_text=True)
        return {w.citizen_id for w in world.workers_a + world.workers_b if f'/console/workers/{w.id}"' in html}

    every_a = {w.citizen_id for w in world.workers_a}
    assert listed(world.city) == every_a | {w.citizen_id for w in world.workers_b}
    assert listed(world.county_admin_a) == every_a
    assert listed(world.enterprise_admin_a) == every_a


def test_search_by_name_citizen_id_and_enterprise(db, world, login):
    target = world.workers_b[0]
    city = login(world.city)

    def found(**query):
        html = city.get("/console/workers", query_string=query).get_data(as_text=True)
        return {w.id for w in world.workers_a + world.workers_b if f'/console/workers/{w.id}"' in html}

    assert target.id in found(name=target.name[1:])
    assert found(citizen_id=target.citizen_id) == {target.id}
    assert found(citizen_id=target.citizen_id[-6:]) >= {target.id}
    assert found(enterprise=world.enterprise_b.credit_code) == {w.id for w in world.workers_b}
    assert found(enterprise=world.enterprise_a.name) == {w.id for w in world.workers_a}
    # A county administrator searching for another county's worker finds nothing.
    html = login(world.county_admin_a).get("/console/workers", query_string={"citizen_id": target.citizen_id})
    assert "没有符合条件的人员" in html.get_data(as_text=True)


def test_list_is_paginated(db, world, login):
    for _ in range(31):
        factories.worker(db.session, world.enterprise_a)
    db.session.commit()
    manager = login(world.enterprise_admin_a)
    first = manager.get("/console/workers").get_data(as_text=True)
    assert "第 1 / 2 页，共 34 条" in first
    second = manager.get("/console/workers?page=2").get_data(as_text=True)
    assert (
        second.count('href="/console/workers/')
        - second.count("/console/workers/import")
        - second.count("/console/workers/photos")
        - second.count("/console/workers/practice")
        == 4
    )


def test_detail_shows_the_worker_and_refuses_other_tenants(db, world, login):
    worker = world.workers_a[0]
    page = login(world.enterprise_admin_a).get(f"/console/workers/{worker.id}")
    assert page.status_code == 200 and mask(worker.citizen_id) in page.get_data(as_text=True)
    assert "尚未登记照片" in page.get_data(as_text=True)
    other = world.workers_b[0]
    for user in (world.county_admin_a, world.enterprise_admin_a):
        client = login(user)
        assert client.get(f"/console/workers/{other.id}").status_code == 404
        assert client.get(f"/console/workers/{other.id}/photo").status_code == 404
        assert client.post(f"/console/workers/{other.id}/enrol").status_code == 404


def enrol(client, worker, data: bytes, name="photo.jpg"):
    return client.post(
        f"/console/workers/{worker.id}/enrol",
        data={"photo": (io.BytesIO(data), name)},
        content_type="multipart/form-data",
        follow_redirects=True,
    )


def test_single_photo_enrolment_shows_quality_or_the_refusal(db, world, login, faces_dir):
    worker = world.workers_a[0]
    manager = login(world.enterprise_admin_a)
    refused = enrol(manager, worker, (faces_dir / "multi/obama_and_biden.jpg").read_bytes())
    assert "照片未通过检测：照片中有多张人脸：请上传只有本人的照片" in refused.get_data(as_text=True)
    assert db.session.scalar(select(FacePhoto.id).where(FacePhoto.worker_id == worker.id)) is None
    accepted = enrol(manager, worker, (faces_dir / "single/obama/obama1.jpg").read_bytes())
    html = accepted.get_data(as_text=True)
    assert "尚未登记照片" not in html
    photo = db.session.scalars(select(FacePhoto).where(FacePhoto.worker_id == worker.id)).one()
    # Each figure is shown beside the limit it had to meet, in the message and on the worker's page.
    width = f"人脸宽度 {photo.quality['face_width']} 像素（要求不小于 80 像素）"
    assert f"照片已登记：{width}" in html and f"<dd>{width.split(' ', 1)[1]}</dd>" in html
    assert f"清晰度 {photo.quality['sharpness']:.0f}（要求不低于 20" in html and "合格范围 45–240" in html
    assert photo.source is PhotoSource.CONSOLE and photo.uploaded_by_id == world.enterprise_admin_a.id
    served = manager.get(f"/console/workers/{worker.id}/photo")
    assert served.status_code == 200 and served.data == (faces_dir / "single/obama/obama1.jpg").read_bytes()
    assert served.headers["Cache-Control"] == "private, no-store"
    assert (
        db.session.scalar(select(AuditLog.user_id).where(AuditLog.action == "face_enrolled"))
        == world.enterprise_admin_a.id
    )


def wait_for(client, job_url: str, timeout: float = 180) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status = client.get(f"{job_url}/status").get_json()
        if status["finished"]:
            return status
        time.sleep(0.3)
    raise AssertionError(f"photo job did not finish: {status}")


def test_zip_enrolment_runs_in_the_background_within_scope(db, world, login, faces_dir):
    a0, a1, a2 = world.workers_a
    b0 = world.workers_b[0]
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(f"照片/{a0.citizen_id}.jpg", (faces_dir / "single/obama/obama1.jpg").read_bytes())
        archive.writestr(f"{a1.citizen_id.lower()}.jpg", (faces_dir / "single/biden/biden1.jpg").read_bytes())
        archive.writestr(f"{a2.citizen_id}.jpg", (faces_dir / "multi/obama_and_biden.jpg").read_bytes())
        archive.writestr(f"{b0.citizen_id}.jpg", (faces_dir / "single/obama/obama2.jpg").read_bytes())
        archive.writestr("123456.jpg", b"not even an image")
        archive.writestr("__MACOSX/._x.jpg", b"resource fork")
        archive.writestr("说明.txt", "ignored")
    manager = login(world.enterprise_admin_a)
    response = manager.post(
        "/console/workers/photos",
        data={"archive": (io.BytesIO(buffer.getvalue()), "p.zip")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 302
    job_url = response.headers["Location"]
    status = wait_for(manager, job_url)
    assert {k: status[k] for k in ("state", "total", "done", "enrolled", "skipped", "duplicates", "refused")} == {
        "state": "done",
        "total": 5,
        "done": 5,
        "enrolled": 2,
        "skipped": 0,
        "duplicates": 0,
        "refused": 3,
    }
    assert status["finished"] and status["remaining"] == 0 and status["error"] is None
    assert {r["citizen_id"] for r in status["refusals"]} == {a2.citizen_id, b0.citizen_id, "123456"}
    refused_csv = manager.get(f"{job_url}/refused.csv").get_data().decode("utf-8-sig")
    assert b0.citizen_id in refused_csv and "照片中有多张人脸" in refused_csv
    page = manager.get(job_url).get_data(as_text=True)
    assert "照片中有多张人脸" in page
    assert "未找到该身份证号的从业人员，或其不在您的管理范围内" in page  # b0 belongs to another enterprise
    assert "文件名不是有效的身份证号" in page
    enrolled = set(db.session.scalars(select(FaceTemplate.worker_id).where(FaceTemplate.active)))
    assert enrolled == {a0.id, a1.id}
    # The same zip again enrols nothing new: identical photos are skipped.
    again = manager.post(
        "/console/workers/photos",
        data={"archive": (io.BytesIO(buffer.getvalue()), "p.zip")},
        content_type="multipart/form-data",
    )
    assert wait_for(manager, again.headers["Location"])["skipped"] == 2
    # Another user cannot follow this job.
    assert login(world.city).get(f"{job_url}/status").status_code == 404


def test_a_broken_zip_is_refused_at_upload_with_a_message(db, world, login):
    manager = login(world.enterprise_admin_a)
    response = manager.post(
        "/console/workers/photos",
        data={"archive": (io.BytesIO(b"PK broken"), "p.zip")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 400
    assert "不是有效的ZIP文件" in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count(Job.id))) == 0


def test_the_refused_photos_report_quotes_file_names_a_spreadsheet_would_run(db, world, login):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("=HYPERLINK(1).jpg", b"not an image")
        archive.writestr("\uff1d1+2.jpg", b"not an image")
    manager = login(world.enterprise_admin_a)
    response = manager.post(
        "/console/workers/photos",
        data={"archive": (io.BytesIO(buffer.getvalue()), "p.zip")},
        content_type="multipart/form-data",
    )
    job_url = response.headers["Location"]
    assert wait_for(manager, job_url)["refused"] == 2
    rows = list(csv.reader(io.StringIO(manager.get(f"{job_url}/refused.csv").get_data().decode("utf-8-sig"))))
    names = sorted(row[0] for row in rows[1:])
    assert names == ["'=HYPERLINK(1).jpg", "'\uff1d1+2.jpg"]


def test_list_masks_citizen_ids_and_the_detail_page_reveals_one_on_request_audited(db, world, login):
    worker = world.workers_a[0]
    manager = login(world.enterprise_admin_a)
    listing = manager.get("/console/workers").get_data(as_text=True)
    assert all(w.citizen_id not in listing and mask(w.citizen_id) in listing for w in world.workers_a)
    search = manager.get("/console/workers", query_string={"citizen_id": worker.citizen_id}).get_data(as_text=True)
    table = search.split('<table class="list">', 1)[1]  # the search box keeps what was typed; the rows mask it
    assert f'/console/workers/{worker.id}"' in table and worker.citizen_id not in table

    def views():
        return db.session.scalars(
            select(AuditLog).where(AuditLog.action == "view_citizen_id", AuditLog.target_id == str(worker.id))
        ).all()

    page = manager.get(f"/console/workers/{worker.id}").get_data(as_text=True)
    assert worker.citizen_id not in page and mask(worker.citizen_id) in page and "查看完整号码" in page
    assert views() == []  # opening the page reveals nothing and records nothing
    page = manager.get(f"/console/workers/{worker.id}?full_id=1").get_data(as_text=True)
    assert worker.citizen_id in page and "已记入操作日志" in page
    (entry,) = views()
    assert entry.user_id == world.enterprise_admin_a.id and entry.target_type == "worker"
    # Another tenant's worker: 404, and no record of a view that did not happen.
    other = world.workers_b[0]
    assert manager.get(f"/console/workers/{other.id}?full_id=1").status_code == 404
    assert db.session.scalar(select(func.count()).where(AuditLog.target_id == str(other.id))) == 0
    assert login(world.reviewer).get(f"/console/workers/{worker.id}?full_id=1").status_code in (302, 403)


def test_list_shows_and_filters_face_enrolment_county_and_job_category(db, world, login):
    enrolled, other = world.workers_a[0], world.workers_a[1]
    photo = FacePhoto(
        worker_id=enrolled.id, path="faces/x.jpg", source=PhotoSource.CONSOLE, sha256="0" * 64, width=1, height=1
    )
    db.session.add(photo)
    db.session.flush()
    db.session.add(
        FaceTemplate(
            worker_id=enrolled.id, photo_id=photo.id, model_name="m", model_version="1", vector=b"", active=True
        )
    )
    other.job_category = "special_ops"
    db.session.commit()
    city = login(world.city)

    def found(**query):
        html = city.get("/console/workers", query_string=query).get_data(as_text=True)
        return {w.id for w in world.workers_a + world.workers_b if f'/console/workers/{w.id}"' in html}

    everyone = {w.id for w in world.workers_a + world.workers_b}
    assert found(photo="enrolled") == {enrolled.id}
    assert found(photo="missing") == everyone - {enrolled.id}
    assert found(job_category="special_ops") == {other.id}
    county_a = world.enterprise_a.county_id
    assert found(county=county_a) == {w.id for w in world.workers_a}
    assert found(county=county_a, photo="missing") == {w.id for w in world.workers_a} - {enrolled.id}
    assert found(photo="nonsense", job_category="nonsense", county="x") == everyone  # unknown values: no filter
    html = city.get("/console/workers").get_data(as_text=True)
    row = html.split(f'/console/workers/{enrolled.id}"', 1)[1].split("</tr>", 1)[0]
    assert "已登记" in row and world.enterprise_a.county.name in row
    assert "未登记" in html.split(f'/console/workers/{other.id}"', 1)[1].split("</tr>", 1)[0]
    assert '<select id="county"' in html and "特种作业人员" in html
    # A county administrator has one county: no county to pick, and another county's id filters nothing in.
    county_admin = login(world.county_admin_a)
    assert '<select id="county"' not in county_admin.get("/console/workers").get_data(as_text=True)
    other_county = world.enterprise_b.county_id
    html = county_admin.get("/console/workers", query_string={"county": other_county}).get_data(as_text=True)
    assert all(f'/console/workers/{w.id}"' not in html for w in world.workers_b)


def test_enrolment_hint_and_refusal_name_the_same_configured_face_size(app, db, world, login, faces_dir):
    worker = world.workers_a[0]
    manager = login(world.enterprise_admin_a)
    limit = app.config["FACE_MIN_FACE_PX_UPLOAD"]
    assert f"人脸宽度不小于{limit}像素" in manager.get(f"/console/workers/{worker.id}").get_data(as_text=True)
    rgb = cv2.imread(str(faces_dir / "single/obama/obama1.jpg"))
    small = cv2.resize(rgb, None, fx=0.3, fy=0.3, interpolation=cv2.INTER_AREA)  # a face of about 80 px
    app.config["FACE_MIN_FACE_PX_UPLOAD"] = 100  # one setting: the page and the refusal both follow it
    try:
        assert "人脸宽度不小于100像素" in manager.get(f"/console/workers/{worker.id}").get_data(as_text=True)
        refused = enrol(manager, worker, cv2.imencode(".jpg", small)[1].tobytes()).get_data(as_text=True)
        assert "照片中人脸过小" in refused and "人脸宽度至少100像素" in refused
    finally:
        app.config["FACE_MIN_FACE_PX_UPLOAD"] = limit
    assert "120像素" not in manager.get(f"/console/workers/{worker.id}").get_data(as_text=True)


def test_a_face_cut_by_the_frame_is_refused_with_its_reason(db, world, login, faces_dir):
    worker = world.workers_a[0]
    manager = login(world.enterprise_admin_a)
    for name in ("obama_partial1.jpg", "obama_partial2.jpg"):
        html = enrol(manager, worker, (faces_dir / "partial" / name).read_bytes()).get_data(as_text=True)
        assert "照片未通过检测：照片中人脸被边缘截断" in html, name
    assert db.session.scalar(select(FacePhoto.id).where(FacePhoto.worker_id == worker.id)) is None
