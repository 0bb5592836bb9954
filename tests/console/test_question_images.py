"""Question pictures in the console (issue 18): checked on upload, a refusal says why, kept outside public URLs."""

from __future__ import annotations

import io
from pathlib import Path

from PIL import Image, ImageDraw
from sqlalchemy import func, select

from exam_server.models import AuditLog, Question

QUESTION = {
    "qtype": "single",
    "stem": "图中安全标志表示什么？",
    "option_a": "注意安全",
    "option_b": "当心触电",
    "option_c": "禁止烟火",
    "answer": "B",
    "category": "安全标志",
    "difficulty": "1",
    "basis": "GB 2894-2008《安全标志及其使用导则》",
    "status": "active",
}


def sign(kind: str = "PNG", size: tuple[int, int] = (200, 180), colour: str = "yellow") -> bytes:
    """Draw a warning triangle, the shape of a 当心触电 sign."""
    image = Image.new("RGB", size, "white")
    w, h = size
    ImageDraw.Draw(image).polygon([(w // 2, 5), (5, h - 5), (w - 5, h - 5)], fill=colour, outline="black", width=4)
    out = io.BytesIO()
    image.save(out, kind)
    return out.getvalue()


def new_question(db, city) -> Question:
    assert city.post("/console/questions/new", data=QUESTION).status_code == 302
    return db.session.scalars(select(Question).where(Question.category == "安全标志")).one()


def stored_files(app) -> set[str]:
    folder = Path(app.config["DATA_DIR"]) / "question_images"
    return {p.name for p in folder.iterdir()} if folder.is_dir() else set()


def upload(client, row, data: bytes, name: str = "sign.png"):
    return client.post(
        f"/console/questions/{row.id}/image",
        data={"image": (io.BytesIO(data), name)},
        content_type="multipart/form-data",
        follow_redirects=True,
    )


def test_a_picture_is_stored_outside_public_urls_and_previewed(app, db, world, login):
    city = login(world.city)
    row = new_question(db, city)
    page = upload(city, row, sign()).get_data(as_text=True)
    assert "图片已保存" in page and f"/console/questions/{row.id}/image" in page and "考试终端预览" in page
    db.session.refresh(row)
    assert row.version == 2 and row.image and row.image.endswith(".png")
    stored = Path(app.config["DATA_DIR"]) / "question_images" / row.image
    assert stored.is_file()
    shown = city.get(f"/console/questions/{row.id}/image")
    assert shown.status_code == 200 and shown.mimetype == "image/png" and shown.data == stored.read_bytes()
    assert Image.open(io.BytesIO(shown.data)).size == (200, 180)
    assert shown.headers["Cache-Control"] == "private, no-store"
    assert login(world.county_admin_a).get(f"/console/questions/{row.id}/image").status_code in (302, 403)
    assert app.test_client().get(f"/console/questions/{row.id}/image").status_code in (302, 401, 403)
    jpeg = upload(city, row, sign("JPEG", colour="orange"), "sign.jpg")
    assert "图片已保存" in jpeg.get_data(as_text=True)
    db.session.refresh(row)
    assert row.image.endswith(".jpg") and row.version == 3 and stored.is_file()  # the earlier file stays for old papers
    actions = db.session.scalars(select(AuditLog.action).where(AuditLog.target_id == str(row.id))).all()
    assert actions.count("question_image_set") == 2
    removed = city.post(f"/console/questions/{row.id}/image/remove", follow_redirects=True)
    assert "图片已移除" in removed.get_data(as_text=True)
    db.session.refresh(row)
    assert row.image is None and city.get(f"/console/questions/{row.id}/image").status_code == 404


def test_refused_pictures_say_why_and_change_nothing(app, db, world, login):
    city = login(world.city)
    row = new_question(db, city)
    before = stored_files(app)
    gif = io.BytesIO()
    Image.new("RGB", (100, 100), "red").save(gif, "GIF")
    truncated = sign()[:300]
    cases = [
        (b"", "图片文件为空"),
        (b"this is not a picture at all", "无法识别的图片"),
        (truncated, "无法识别的图片"),
        (gif.getvalue(), "不支持的图片格式 GIF"),
        (sign(size=(40, 200)), "太小"),
        (sign(size=(4100, 100)), "太大"),
        (b"\x89PNG\r\n\x1a\n" + b"\0" * (2 * 1024 * 1024 + 1), "超过上限 2 MB"),
    ]
    for data, why in cases:
        html = upload(city, row, data).get_data(as_text=True)
        assert why in html, why
    db.session.refresh(row)
    assert row.image is None and row.version == 1
    assert stored_files(app) == before
    assert db.session.scalar(select(func.count()).where(AuditLog.action == "question_image_set")) == 0
