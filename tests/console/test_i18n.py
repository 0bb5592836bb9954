"""The console speaks the user's chosen language, else the browser's, else Simplified Chinese."""

from __future__ import annotations

import io
import re

from sqlalchemy import select

from exam_server.models import AuditLog

CJK = re.compile(r"[\u4e00-\u9fff]")


def html_lang(html: str) -> str:
    return re.search(r'<html lang="([^"]+)"', html).group(1)


def heading(html: str) -> str:
    return re.search(r"<h1>(.*?)</h1>", html, re.S).group(1).strip()


def test_default_is_chinese(world, login):
    client = login(world.city)
    html = client.get("/console/").get_data(as_text=True)
    assert html_lang(html) == "zh-CN"
    assert heading(html) == "工作台"


def test_accept_language_english_gives_english(world, login):
    client = login(world.city)
    html = client.get("/console/", headers={"Accept-Language": "en-GB,en;q=0.9"}).get_data(as_text=True)
    assert html_lang(html) == "en"
    assert heading(html) == "Dashboard"
    nav = re.search(r'<nav class="mainnav">(.*?)</nav>', html, re.S).group(1)
    assert "Statistics" in nav and not CJK.search(nav)


def test_accept_language_chinese_first_stays_chinese(world, login):
    client = login(world.city)
    html = client.get("/console/", headers={"Accept-Language": "zh-CN,zh;q=0.9,en;q=0.8"}).get_data(as_text=True)
    assert heading(html) == "工作台"


def test_login_page_follows_the_browser(client):
    html = client.get("/auth/login", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "Administrator login" in html and html_lang(html) == "en"
    assert "管理员登录" in client.get("/auth/login").get_data(as_text=True)


def test_preference_wins_over_accept_language(db, world, login):
    client = login(world.county_admin_a)
    response = client.post("/auth/language", data={"locale": "zh_Hans_CN", "next": "/console/workers"})
    assert response.status_code == 302 and response.headers["Location"] == "/console/workers"
    html = client.get("/console/", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert heading(html) == "工作台" and html_lang(html) == "zh-CN"

    client.post("/auth/language", data={"locale": "en"})
    html = client.get("/console/", headers={"Accept-Language": "zh-CN"}).get_data(as_text=True)
    assert heading(html) == "Dashboard"
    db.session.refresh(world.county_admin_a)
    assert world.county_admin_a.locale == "en"
    changes = db.session.scalars(select(AuditLog).where(AuditLog.action == "locale_changed")).all()
    assert [entry.detail["locale"] for entry in changes] == ["zh_Hans_CN", "en"]


def test_unknown_language_is_refused_with_a_message(db, world, login):
    client = login(world.city)
    response = client.post("/auth/language", data={"locale": "fr"}, follow_redirects=True)
    assert response.status_code == 200
    assert "不支持的界面语言" in response.get_data(as_text=True)
    db.session.refresh(world.city)
    assert world.city.locale is None


def test_language_switch_needs_login(client):
    response = client.post("/auth/language", data={"locale": "en"})
    assert response.status_code == 302 and "/auth/login" in response.headers["Location"]


def test_english_flash_and_form_labels(world, login):
    client = login(world.city)
    english = {"Accept-Language": "en"}
    html = client.get("/console/workers", headers=english).get_data(as_text=True)
    assert "Job category" in html and "Enterprise name or credit code" in html
    html = client.get("/console/users", headers=english).get_data(as_text=True)
    assert heading(html).startswith("Users")


def test_worker_pages_stay_chinese_for_an_english_browser(client):
    html = client.get("/worker/login", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert 'lang="zh-CN"' in html


def test_stored_states_and_roles_show_in_english(world, login):
    client = login(world.city)
    english = {"Accept-Language": "en"}
    html = client.get("/console/users", headers=english).get_data(as_text=True)
    assert "County administrator" in html and "区县管理员" not in html
    html = client.get("/console/workers", headers=english).get_data(as_text=True)
    assert "Principal manager" in html  # the job category select's option
    html = client.get("/console/users", headers={"Accept-Language": "zh-CN"}).get_data(as_text=True)
    assert "区县管理员" in html


# ---- service refusals: a DomainError carries its msgid and values; the console translates it when shown ----


def test_a_service_refusal_shows_in_the_users_language_with_its_values(db, world, login, kiosk_b):
    client = login(world.city)
    english = client.post(
        "/console/kiosks", data={"name": kiosk_b.name, "county_id": "0"}, headers={"Accept-Language": "en"}
    )
    assert f"Kiosk {kiosk_b.name} already exists" in english.get_data(as_text=True)
    assert "已存在" not in english.get_data(as_text=True)
    chinese = client.post("/console/kiosks", data={"name": kiosk_b.name, "county_id": "0"})
    assert f"终端{kiosk_b.name}已存在" in chinese.get_data(as_text=True)


def test_a_plan_refusal_follows_the_chosen_language(db, world, login):
    client = login(world.county_admin_a)
    client.post("/auth/language", data={"locale": "en"})
    plan = {
        "name": "2026年兰山区主要负责人考试",
        "county_id": str(world.county_a.id),
        "industry_id": "0",
        "enterprise_code": "",
        "opens_at": "2026-03-01T08:00",
        "closes_at": "2026-02-01T08:00",
        "max_attempts": "2",
        "ruleset_id": "general",
        "mean_interval_seconds": "120",
        "retries": "1",
    }
    page = client.post("/console/plans/new", data=plan).get_data(as_text=True)
    assert "The end time must be after the start time" in page and "结束时间必须晚于开始时间" not in page


def test_an_invalid_import_is_explained_in_english(db, world, login):
    client = login(world.city)
    response = client.post(
        "/console/workers/import",
        data={
            "file": (io.BytesIO(b"not a workbook"), "workers.xlsx"),
            "enterprise_code": world.enterprise_a.credit_code,
        },
        content_type="multipart/form-data",
        headers={"Accept-Language": "en"},
        follow_redirects=True,
    )
    page = response.get_data(as_text=True)
    assert "Cannot read the XLSX file: BadZipFile" in page and "无法读取XLSX文件" not in page


def test_the_kiosk_api_and_the_cli_keep_the_chinese_text():
    """str() of a DomainError is the Chinese message with its values: what the API, worker pages and logs show."""
    from exam_server.models import N_, DomainError

    refusal = DomainError(N_("终端%(name)s已存在"), name="一号机")
    assert str(refusal) == "终端一号机已存在" and refusal.msgid == "终端%(name)s已存在"
    assert str(DomainError("请选择区县")) == "请选择区县"


def test_face_refusal_reasons_show_in_english(app):
    from exam_server.face import FaceRefusal
    from exam_server.i18n import photo_refusal_text, refusal_reason

    with app.test_request_context("/console/review", headers={"Accept-Language": "en"}):
        app.preprocess_request()
        assert (
            refusal_reason("too_dark") == "Too dark" and refusal_reason("capture_missed") == "Photo not taken in time"
        )
        too_small = FaceRefusal("face_too_small", limits={"min_px": 80})
        assert photo_refusal_text(too_small).endswith("(face at least 80 pixels wide).")
    with app.test_request_context("/console/review"):
        assert refusal_reason("too_dark") == "光线过暗"


def test_worker_import_problems_show_in_english_with_their_values(db, world, login):
    from tests.console.helpers import csv_bytes, worker_rows

    client = login(world.county_admin_a)
    rows = worker_rows(3)
    rows[1][3] = "12345"  # the phone
    rows[2][1] = rows[0][1]  # a repeated citizen ID
    upload = client.post(
        "/console/workers/import",
        data={"file": (io.BytesIO(csv_bytes(rows)), "workers.csv"), "enterprise_code": world.enterprise_a.credit_code},
        content_type="multipart/form-data",
    )
    english = client.get(upload.headers["Location"], headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "Row 3, Mobile phone: “12345” is not a valid mobile or landline number" in english
    assert "Row 4, ID number: repeats row 2" in english and "重复" not in english
    chinese = client.get(upload.headers["Location"]).get_data(as_text=True)
    assert "第3行 手机号: “12345”不是有效的手机号或固定电话" in chinese and "第4行 身份证号: 与第2行重复" in chinese
