"""Exports: contents checked against the database, BOM and file names, streaming with flat memory."""

import csv
import io
import shutil
import subprocess
import tracemalloc
from collections import Counter
from datetime import date, datetime
from urllib.parse import unquote

import openpyxl
import pytest
from sqlalchemy import func, insert, select

from exam_server.models import AuditLog, Enterprise, ExamRequirement, Sitting, SittingStatus, Worker
from tests import factories
from tests.console_stats.conftest import CN

STATUS = {"pending": "未参考", "failed": "不合格", "passed": "合格"}


def read_csv(response) -> list[list[str]]:
    data = response.get_data()
    assert data.startswith(b"\xef\xbb\xbf"), "CSV must start with the UTF-8 BOM for Excel"
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))


def expected_results(session, enterprise_ids=None) -> dict[str, tuple]:
    """Recompute each requirement's row straight from the tables (citizen ID -> status, attempts, best)."""
    query = select(Worker.citizen_id, ExamRequirement.status, ExamRequirement.attempts, ExamRequirement.id).join(
        Worker, Worker.id == ExamRequirement.worker_id
    )
    if enterprise_ids:
        query = query.where(ExamRequirement.enterprise_id.in_(enterprise_ids))
    rows = {}
    for citizen_id, status, attempts, requirement_id in session.execute(query):
        scores = [
            s
            for s in session.scalars(
                select(Sitting.score).where(
                    Sitting.requirement_id == requirement_id, Sitting.status == SittingStatus.SUBMITTED
                )
            )
            if s is not None
        ]
        rows[citizen_id] = (STATUS[status.value], attempts, max(scores) if scores else None)
    return rows


def test_enterprise_downloads_its_results_as_csv(db, city, login):
    response = login(city.users["e1"]).get("/console/exports/results.csv")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert response.is_streamed and "Content-Length" not in response.headers  # a generator, not a built file
    rows = read_csv(response)
    header, body = rows[0], rows[1:]
    assert header[:6] == ["区县", "乡镇（街道）", "行业", "企业名称", "姓名", "身份证号"]
    got = {r[5].lstrip("\t"): (r[8], int(r[9]), float(r[12]) if r[12] else None) for r in body}
    assert got == expected_results(db.session, [city.e1.id])
    assert {r[3] for r in body} == {"兰山化工有限公司"}
    w1 = next(r for r in body if r[4] == "工人1号")
    assert w1[10] == "2026-01-10 10:00" and w1[0] == "兰山区" and w1[6] == "一般从业人员"


def test_figures_csv_for_the_city_match_the_database(db, city, login):
    rows = read_csv(login(city.users["city"]).get("/console/exports/figures.csv"))
    header, body = rows[0], rows[1:]
    assert header[5:] == ["应考人数", "参考人数", "合格人数", "未参考人数", "参考率", "合格率"]
    by_name = {r[3]: r for r in body}
    for enterprise in db.session.scalars(select(Enterprise)):
        counts = Counter(
            s.value
            for s in db.session.scalars(
                select(ExamRequirement.status).where(ExamRequirement.enterprise_id == enterprise.id)
            )
        )
        required, sat = sum(counts.values()), counts["failed"] + counts["passed"]
        row = by_name[enterprise.name]
        assert [int(x) for x in row[5:9]] == [required, sat, counts["passed"], required - sat]
        assert row[9] == (f"{sat / required * 100:.1f}%" if required else "")
        assert row[10] == (f"{counts['passed'] / sat * 100:.1f}%" if sat else "")
    assert body[-1][0] == "合计" and body[-1][5:9] == ["11", "8", "5", "3"]


def test_results_xlsx_opens_with_openpyxl_and_matches_the_database(db, city, login):
    response = login(city.users["county_a"]).get("/console/exports/results.xlsx")
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("application/vnd.openxmlformats")
    workbook = openpyxl.load_workbook(io.BytesIO(response.get_data()))  # read_only pads no row without a <dimension>
    sheet = workbook["成绩明细"]
    rows = list(sheet.iter_rows(min_row=3, values_only=True))  # below the title and scope lines
    assert rows[0][4:6] == ("姓名", "身份证号")
    got = {r[5]: (r[8], r[9], r[12]) for r in rows[1:]}
    assert got == expected_results(db.session, [city.e1.id, city.e2.id])  # 兰山区 only
    w5 = next(r for r in rows[1:] if r[4] == "工人5号")
    assert w5[10] == city.requirements["w5"].first_sat_at.astimezone(CN).replace(tzinfo=None)


def test_figures_xlsx_rates_are_numbers(db, city, login):
    response = login(city.users["city"]).get("/console/exports/figures.xlsx")
    sheet = openpyxl.load_workbook(io.BytesIO(response.get_data()))["参考率合格率"]
    rows = {r[3].value: r for r in sheet.iter_rows(min_row=4)}
    e3 = rows["罗庄化工有限公司"]
    assert e3[9].value == pytest.approx(2 / 3, abs=1e-4) and e3[9].number_format == "0.0%"
    assert rows["河东矿业有限公司"][9].value is None  # nobody to examine: no rate, an empty cell


def test_pending_export_lists_only_workers_not_yet_sat(db, city, login):
    body = read_csv(login(city.users["city"]).get("/console/exports/pending.csv"))[1:]
    assert sorted(r[4] for r in body) == ["工人11号", "工人4号", "工人6号"]


def test_chinese_file_name_uses_rfc5987_and_the_export_is_audited(db, city, login):
    response = login(city.users["e1"]).get("/console/exports/figures.csv")
    disposition = response.headers["Content-Disposition"]
    assert disposition.startswith("attachment; filename=\"figures.csv\"; filename*=UTF-8''")
    name = unquote(disposition.split("UTF-8''", 1)[1])
    assert name.startswith("兰山化工有限公司_参考率合格率统计_") and name.endswith(".csv")
    assert response.headers["Cache-Control"] == "private, no-store"
    response.get_data()
    entry = db.session.scalar(select(AuditLog).where(AuditLog.action == "export"))
    assert entry.user_id == city.users["e1"].id and entry.detail["kind"] == "figures"


def test_export_refuses_other_scopes_and_roles(db, city, login, client):
    assert login(city.users["e1"]).get(f"/console/exports/results.csv?enterprise={city.e3.id}").status_code == 403
    assert login(city.users["reviewer"]).get("/console/exports/results.csv").status_code == 403
    assert client.get("/console/exports/results.csv").status_code == 302
    assert login(city.users["city"]).get("/console/exports/results.pdf").status_code == 404


def _bulk_enterprise(session, county, size: int) -> Enterprise:
    """Add an enterprise with ``size`` workers, each required by one plan, with bulk inserts."""
    from exam_server.models import ExamPlan

    enterprise = factories.enterprise(session, county, name=f"批量企业{size}")
    plan = session.scalar(select(ExamPlan).limit(1))
    first = (session.scalar(select(func.max(Worker.id))) or 0) + 1
    session.execute(
        insert(Worker),
        [
            {
                "id": first + i,
                "citizen_id": f"9{size:06d}{i:011d}"[:18],
                "name": f"批量{i}",
                "gender": "M",
                "birth_date": date(1990, 1, 1),
                "enterprise_id": enterprise.id,
                "job_category": "general",
                "active": True,
            }
            for i in range(size)
        ],
    )
    session.execute(
        insert(ExamRequirement),
        [
            {
                "plan_id": plan.id,
                "worker_id": first + i,
                "enterprise_id": enterprise.id,
                "county_id": county.id,
                "township_id": enterprise.township_id,
                "industry_id": enterprise.industry_id,
                "status": ("pending", "failed", "passed")[i % 3],
                "attempts": 0,
            }
            for i in range(size)
        ],
    )
    session.commit()
    return enterprise


def _peak_while_streaming(client, url: str) -> tuple[int, int]:
    """Return (rows, peak bytes allocated) while the CSV is read chunk by chunk and thrown away."""
    tracemalloc.start()
    try:
        response = client.get(url)
        rows = sum(chunk.count(b"\r\n") for chunk in response.response) - 1
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return rows, peak


@pytest.mark.slow
def test_memory_does_not_grow_with_the_number_of_rows(db, city, login):
    small = _bulk_enterprise(db.session, city.county_b, 2_000)
    large = _bulk_enterprise(db.session, city.county_b, 20_000)
    client = login(city.users["city"])
    _peak_while_streaming(client, f"/console/exports/results.csv?enterprise={small.id}")  # warm imports and caches
    rows_small, peak_small = _peak_while_streaming(client, f"/console/exports/results.csv?enterprise={small.id}")
    rows_large, peak_large = _peak_while_streaming(client, f"/console/exports/results.csv?enterprise={large.id}")
    assert (rows_small, rows_large) == (2_000, 20_000)
    # Ten times the rows may not cost ten times the memory: a built-in-memory file would (about 3 MB here).
    assert peak_large < peak_small * 1.5 + 256 * 1024, (peak_small, peak_large)


def test_streamed_export_works_after_the_request_context_is_gone(app, db, city):
    """As under gunicorn: the request's app context (and its session) ends before the body is read."""
    import threading

    from flask.testing import FlaskClient

    result = {}

    def run() -> None:  # a new thread has no app context, so the request gets its own, as in production
        client = FlaskClient(app, app.response_class, use_cookies=True)
        client.post("/auth/login", data={"username": "stats_county_a", "password": factories.PASSWORD})
        response = client.get("/console/exports/results.csv")
        result["status"] = response.status_code
        result["body"] = b"".join(response.response)

    thread = threading.Thread(target=run)
    thread.start()
    thread.join(60)
    assert result["status"] == 200
    lines = result["body"].decode("utf-8-sig").splitlines()
    assert len(lines) == 1 + 8 and all("兰山区" in line for line in lines[1:])


def test_xlsx_above_the_row_limit_is_written_by_a_job_worker_and_downloaded_from_its_page(db, city, login, monkeypatch):
    from openpyxl import load_workbook

    from exam_server.console import exports

    monkeypatch.setattr(exports, "XLSX_ROW_LIMIT", 5)
    client = login(city.users["county_a"])
    response = client.get("/console/exports/results.xlsx")  # 8 rows in 兰山区: a job (run at once by the test queue)
    assert response.status_code == 302 and "/console/jobs/" in response.headers["Location"]
    job_url = response.headers["Location"]
    page = client.get(job_url).get_data(as_text=True)
    assert "正在后台生成 XLSX" in page and "已完成" in page and "下载" in page
    assert client.get(f"{job_url}/status").get_json()["has_result"] is True
    workbook = client.get(f"{job_url}/file")
    assert workbook.status_code == 200 and "兰山区" in unquote(workbook.headers["Content-Disposition"])
    sheet = load_workbook(io.BytesIO(workbook.data), read_only=True).worksheets[0]
    assert sum(1 for _ in sheet.iter_rows()) == 2 + 1 + 8  # title, scope, header, rows
    assert login(city.users["e1"]).get(f"{job_url}/file").status_code == 404  # another user's job
    assert client.get("/console/exports/results.csv").status_code == 200
    assert login(city.users["e1"]).get("/console/exports/results.xlsx").status_code == 200  # 4 rows: still fine


def test_results_xlsx_opens_as_a_report_with_real_numbers_dates_and_empty_cells(db, city, login):
    response = login(city.users["county_a"]).get("/console/exports/results.xlsx")
    sheet = openpyxl.load_workbook(io.BytesIO(response.get_data()))["成绩明细"]
    assert sheet["A1"].value == "考试成绩明细" and sheet["A1"].font.b
    assert sheet["A2"].value.startswith("范围：兰山区") and "导出时间：" in sheet["A2"].value
    header = [c.value for c in sheet[3]]
    assert header[:6] == ["区县", "乡镇（街道）", "行业", "企业名称", "姓名", "身份证号"] and sheet["A3"].font.b
    assert sheet.freeze_panes == "A4"  # title, scope and header stay in view
    assert sheet.auto_filter.ref == f"A3:P{3 + 8}"  # 兰山区's eight requirements
    widths = {title: sheet.column_dimensions[c.column_letter].width for title, c in zip(header, sheet[3], strict=True)}
    assert (
        widths["身份证号"] >= 20
        and widths["企业名称"] >= 28
        and widths["首次参考时间"] >= 16
        and widths["考试次数"] >= 8
    )
    rows = {
        r[4].value: {title: cell for title, cell in zip(header, r, strict=False)} for r in sheet.iter_rows(min_row=4)
    }
    w1, w4 = rows["工人1号"], rows["工人4号"]
    assert w1["身份证号"].data_type == "s" and w1["身份证号"].value == city.workers["w1"].citizen_id
    assert w1["考试次数"].data_type == "n" and w1["考试次数"].value == 1
    assert w1["最高分"].data_type == "n" and w1["最高分"].value == 92
    assert isinstance(w1["首次参考时间"].value, datetime) and w1["首次参考时间"].number_format == "yyyy-mm-dd hh:mm"
    for title in ("首次参考时间", "合格时间", "最高分", "发证日期", "证书有效期至"):  # not sat: empty, never "—"
        assert w4[title].value is None, title
    numeric = ("考试次数", "首次参考时间", "合格时间", "最高分", "发证日期", "证书有效期至")
    assert all(row[t].value is None or row[t].data_type in ("n", "d") for row in rows.values() for t in numeric)


def test_figures_xlsx_numbers_are_numbers_and_the_total_row_is_filtered_with_them(db, city, login):
    sheet = openpyxl.load_workbook(io.BytesIO(login(city.users["city"]).get("/console/exports/figures.xlsx").data))[
        "参考率合格率"
    ]
    assert sheet["A1"].value == "参考率合格率统计" and sheet["A2"].value.startswith("范围：全市")
    assert sheet.freeze_panes == "A4" and sheet.auto_filter.ref == "A3:K8"  # four enterprises and the total
    values = [c.value for row in sheet.iter_rows(min_row=4, min_col=6) for c in row]
    assert "—" not in values and all(v is None or isinstance(v, (int, float)) for v in values)
    assert [c.value for c in sheet[8]][:9] == ["合计", None, None, None, None, 11, 8, 5, 3]


def test_csv_content_type_bom_header_and_ids_kept_as_text(db, city, login):
    response = login(city.users["e1"]).get("/console/exports/results.csv")
    assert response.headers.get_all("Content-Type") == ["text/csv; charset=utf-8"]
    data = response.get_data()
    assert data.startswith("\ufeff区县,乡镇（街道）,行业,企业名称,姓名,身份证号,".encode())
    rows = read_csv(response)
    ids = {r[5] for r in rows[1:]}
    assert ids == {"\t" + city.workers[k].citizen_id for k in ("w1", "w2", "w3", "w4")}  # a tab keeps them text
    w4 = next(r for r in rows[1:] if r[4] == "工人4号")
    assert w4[9:13] == ["0", "", "", ""]  # not sat: no time, no score, never "—"
    certificates = login(city.users["city"]).get("/console/certificates/expiring.csv?within=90")
    assert certificates.headers.get_all("Content-Type") == ["text/csv; charset=utf-8"]


def test_exports_page_says_what_the_csv_holds(db, city, login):
    html = login(city.users["e1"]).get("/console/exports").get_data(as_text=True)
    assert "制表符" in html and "XLSX" in html and "也可直接用 Excel 打开" not in html


@pytest.mark.skipif(
    not shutil.which("soffice"), reason="LibreOffice (soffice) not installed: apt-get install libreoffice-calc-nogui"
)
def test_libreoffice_opens_the_csv_with_every_citizen_id_whole(db, city, login, tmp_path):
    """What a spreadsheet makes of the CSV: the 18 digits as text, not 3.71302E+17 (LibreOffice as the spreadsheet)."""
    (tmp_path / "results.csv").write_bytes(login(city.users["city"]).get("/console/exports/results.csv").get_data())
    subprocess.run(
        [
            "soffice",
            f"-env:UserInstallation=file://{tmp_path}/profile",
            "--headless",
            "--infilter=CSV:44,34,76,1",  # comma, double quote, UTF-8, from line 1: as its import dialog offers
            "--convert-to",
            "xlsx",
            "--outdir",
            str(tmp_path),
            str(tmp_path / "results.csv"),
        ],
        check=True,
        capture_output=True,
        timeout=180,
    )
    sheet = openpyxl.load_workbook(tmp_path / "results.xlsx").active
    header = [c.value for c in sheet[1]]
    cells = [row[header.index("身份证号")] for row in sheet.iter_rows(min_row=2)]
    assert len(cells) == 11 and all(c.data_type == "s" for c in cells)
    assert {c.value.strip() for c in cells} == {w.citizen_id for w in city.workers.values()}


# ---- an English console exports with English column titles, title lines and file names ----

ENGLISH = {"Accept-Language": "en"}


def test_english_csv_has_english_headers_and_file_name(db, city, login):
    response = login(city.users["city"]).get("/console/exports/figures.csv", headers=ENGLISH)
    header = read_csv(response)[0]
    assert header[:5] == [
        "County",
        "Township (subdistrict)",
        "Industry",
        "Enterprise name",
        "Unified social credit code",
    ]
    assert header[5:] == [
        "Workers required",
        "Workers sat",
        "Workers passed",
        "Workers not sat",
        "Participation rate",
        "Pass rate",
    ]
    name = unquote(response.headers["Content-Disposition"].split("UTF-8''", 1)[1])
    assert name.startswith("Whole city_Participation and pass rates_") and name.endswith(".csv")


def test_english_xlsx_has_english_sheet_title_and_scope_lines(db, city, login):
    response = login(city.users["county_a"]).get("/console/exports/results.xlsx", headers=ENGLISH)
    sheet = openpyxl.load_workbook(io.BytesIO(response.get_data()))["Results"]
    assert sheet["A1"].value == "Exam results in detail"
    assert sheet["A2"].value.startswith("Scope: 兰山区") and "Exported at: " in sheet["A2"].value
    header = [c.value for c in sheet[3]]
    assert header[4:6] == ["Name", "ID number"] and "首次参考时间" not in header
    widths = {title: sheet.column_dimensions[c.column_letter].width for title, c in zip(header, sheet[3], strict=True)}
    assert widths["ID number"] >= 20  # as wide as the Chinese column: the kind sets it, not the title


def test_an_export_job_writes_in_its_requesters_language(db, city, login, monkeypatch):
    from exam_server.console import exports

    monkeypatch.setattr(exports, "XLSX_ROW_LIMIT", 5)
    client = login(city.users["county_a"])
    client.post("/auth/language", data={"locale": "en"})
    job_url = client.get("/console/exports/results.xlsx").headers["Location"]
    workbook = client.get(f"{job_url}/file")
    assert (
        unquote(workbook.headers["Content-Disposition"])
        .split("UTF-8''", 1)[1]
        .startswith("兰山区_Exam results in detail_")
    )
    sheet = openpyxl.load_workbook(io.BytesIO(workbook.data), read_only=True).worksheets[0]
    assert sheet.title == "Results" and next(sheet.iter_rows(values_only=True))[0] == "Exam results in detail"
    assert [row[8] for row in sheet.iter_rows(min_row=4, values_only=True)].count("Passed") >= 1  # the state too


ENGLISH_STATES = {"未参考": "Not sat", "不合格": "Failed", "合格": "Passed"}


def test_english_exports_write_states_categories_and_totals_in_english(db, city, login):
    client = login(city.users["county_a"])
    chinese = {r[5].lstrip("\t"): r for r in read_csv(client.get("/console/exports/results.csv"))[1:]}
    english = read_csv(client.get("/console/exports/results.csv", headers=ENGLISH))
    assert {r[5].lstrip("\t"): r[8] for r in english[1:]} == {
        citizen_id: ENGLISH_STATES[row[8]] for citizen_id, row in chinese.items()
    }
    w1 = next(r for r in english[1:] if r[4] == "工人1号")  # names and places stay as stored
    assert w1[6] == "General worker" and w1[0] == "兰山区" and chinese[w1[5].lstrip("\t")][6] == "一般从业人员"

    workbook = client.get("/console/exports/results.xlsx", headers=ENGLISH)
    sheet = openpyxl.load_workbook(io.BytesIO(workbook.data))["Results"]
    states = {row[8] for row in sheet.iter_rows(min_row=4, values_only=True)}
    assert states and states <= set(ENGLISH_STATES.values())

    figures = client.get("/console/exports/figures.xlsx", headers=ENGLISH)
    rows = list(openpyxl.load_workbook(io.BytesIO(figures.data)).worksheets[0].iter_rows(values_only=True))
    assert rows[-1][0] == "Total" and "合计" not in {c for row in rows for c in row}
    practice = read_csv(client.get("/console/exports/practice.csv", headers=ENGLISH))
    assert [r[0] for r in practice[1:]] == ["Practised", "Not practised", "Total"]
    assert "10" in practice[1][4] and "练习" not in practice[1][4]
    assert [r[0] for r in read_csv(client.get("/console/exports/practice.csv"))[1:]] == ["练习过", "未练习", "合计"]
