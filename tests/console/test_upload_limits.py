"""Upload limits come from config.py, and a file over one is refused with a Chinese page naming the limit."""

from __future__ import annotations

import io

import pytest
from sqlalchemy import func, select

from exam_server.models import Worker
from tests.console.helpers import csv_bytes, worker_rows

MIB = 1024 * 1024


@pytest.fixture()
def small_limits(app, monkeypatch):
    monkeypatch.setitem(app.config, "IMPORT_MAX_BYTES", 2 * MIB)
    monkeypatch.setitem(app.config, "PHOTO_ZIP_MAX_BYTES", 3 * MIB)


def post_file(client, url: str, field: str, data: bytes, name: str, referrer: str | None = None):
    headers = {"Referer": f"http://exam.test{referrer}"} if referrer else {}
    return client.post(url, data={field: (io.BytesIO(data), name)}, content_type="multipart/form-data", headers=headers)


def test_each_big_upload_obeys_its_config_key_and_says_so_in_chinese(db, world, login, small_limits):
    client = login(world.county_admin_a)
    big_list = csv_bytes(worker_rows(1)) + b"\n" * (2 * MIB + 10)
    before = db.session.scalar(select(func.count(Worker.id)))
    refused = post_file(client, "/console/workers/import", "file", big_list, "名单.csv", "/console/workers/import")
    page = refused.get_data(as_text=True)
    assert refused.status_code == 413 and "上传的文件过大" in page and "最多接受 <strong>2 MB</strong>" in page
    assert 'href="http://exam.test/console/workers/import"' in page  # back to the form it came from
    assert db.session.scalar(select(func.count(Worker.id))) == before
    zipped = post_file(client, "/console/workers/photos", "archive", b"PK" + b"\0" * (3 * MIB + 10), "照片.zip")
    assert zipped.status_code == 413 and "最多接受 <strong>3 MB</strong>" in zipped.get_data(as_text=True)


def test_a_photo_over_the_request_limit_names_it_and_links_home_for_a_foreign_referrer(app, world, login):
    client = login(world.county_admin_a)
    photo = b"\xff\xd8" + b"\0" * (app.config["MAX_CONTENT_LENGTH"] + 10)
    refused = client.post(
        f"/console/workers/{world.workers_a[0].id}/enrol",
        content_type="multipart/form-data",
        data={"photo": (io.BytesIO(photo), "a.jpg")},
        headers={"Referer": "http://evil.example/"},
    )
    page = refused.get_data(as_text=True)
    assert refused.status_code == 413 and "最多接受 <strong>8 MB</strong>" in page
    assert 'href="/console/"' in page and "evil.example" not in page
