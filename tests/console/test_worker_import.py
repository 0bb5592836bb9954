"""Worker import: per-row and per-column errors, all-or-nothing writes, scope, formats and the template."""

from __future__ import annotations

import io
import re

import pytest
from openpyxl import Workbook, load_workbook
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from exam_server.models import AuditLog, ExamRequirement, JobCategory, Worker
from exam_server.services.admin import worker_import
from tests import factories
from tests.console.conftest import add_plan
from tests.console.helpers import HEADER, citizen_ids, csv_bytes, worker_rows, wrong_check_digit


def worker_count(db) -> int:
    return db.session.scalar(select(func.count(Worker.id)))


def upload(client, data: bytes, name: str = "名单.csv", **fields):
    return client.post(
        "/console/workers/import", data={"file": (io.BytesIO(data), name), **fields}, content_type="multipart/form-data"
    )


def token_of(response) -> str:
    assert response.status_code == 302, response.get_data(as_text=True)[:800]
    return response.headers["Location"].rsplit("/", 1)[1]


def rows_with_one_bad_id(n: int = 20, bad_row_index: int = 15):
    rows = worker_rows(n)
    bad, right = wrong_check_digit(rows[bad_row_index][1])
    rows[bad_row_index][1] = bad
    return rows, bad_row_index + 2, right  # header is row 1


def test_errors_name_the_row_and_the_column(db, world):
    rows, row_number, right = rows_with_one_bad_id()
    rows[3][2] = "老板"
    rows[5][0] = ""
    rows[7][3] = "12345"
    rows[9][1] = rows[8][1]
    result = worker_import.check(db.session, csv_bytes(rows), "a.csv", world.city, world.enterprise_a)
    messages = [str(p) for p in result.problems]
    assert f"第{row_number}行 身份证号: 校验位错误，应为{right}" in messages
    assert any(m.startswith("第5行 岗位类别: “老板”无效") for m in messages)
    assert "第7行 姓名: 不能为空" in messages
    assert "第9行 手机号: “12345”不是有效的手机号或固定电话" in messages
    assert "第11行 身份证号: 与第10行重复" in messages
    assert result.rows == 20 and len(result.valid) == 15 and result.bad_rows == 5


def test_already_registered_ids_are_reported_without_naming_another_tenant(db, world):
    rows = worker_rows(3)
    rows[0][1] = world.workers_a[0].citizen_id
    rows[1][1] = world.workers_b[0].citizen_id
    result = worker_import.check(db.session, csv_bytes(rows), "a.csv", world.county_admin_a, world.enterprise_a)
    messages = [str(p) for p in result.problems]
    assert f"第2行 身份证号: 已登记（{world.enterprise_a.name}）" in messages
    assert "第3行 身份证号: 已登记于其他企业，如需调动请联系区县管理员" in messages
    assert world.enterprise_b.name not in " ".join(messages)


def test_missing_columns_are_a_file_error(db, world):
    data = csv_bytes([["张三", "一般从业人员"]], header=["姓名", "岗位类别"])
    result = worker_import.check(db.session, data, "a.csv", world.city, world.enterprise_a)
    assert [str(p) for p in result.file_problems] == ["表头: 缺少必填列“身份证号”"]
    with pytest.raises(worker_import.DomainError):
        worker_import.write(db.session, result, world.city, accept_valid_rows=True)


def test_nothing_is_written_while_errors_remain_unless_valid_rows_are_chosen(client, db, world, login):
    admin = login(world.county_admin_a)
    rows, row_number, right = rows_with_one_bad_id()
    token = token_of(upload(admin, csv_bytes(rows), enterprise_code=world.enterprise_a.credit_code))
    preview = admin.get(f"/console/workers/import/{token}").get_data(as_text=True)
    assert f"第{row_number}行 身份证号: 校验位错误，应为{right}" in preview
    before = worker_count(db)
    refused = admin.post(f"/console/workers/import/{token}", data={"import_all": "确认导入"})
    assert refused.status_code == 302 and worker_count(db) == before
    assert "未导入任何数据" in admin.get(refused.headers["Location"]).get_data(as_text=True)
    done = admin.post(f"/console/workers/import/{token}", data={"import_valid": "仅导入有效行"})
    assert done.status_code == 302
    assert worker_count(db) == before + 19
    assert db.session.scalar(select(Worker.id).where(Worker.citizen_id == rows[15][1])) is None
    entry = db.session.scalars(select(AuditLog).where(AuditLog.action == "workers_imported")).one()
    assert entry.user_id == world.county_admin_a.id and entry.detail["imported"] == 19
    assert admin.get(f"/console/workers/import/{token}").status_code == 404  # the staged file is gone


def test_the_error_report_lists_every_problem(client, db, world, login):
    admin = login(world.city)
    rows, row_number, right = rows_with_one_bad_id()
    token = token_of(upload(admin, csv_bytes(rows), enterprise_code=world.enterprise_a.credit_code))
    report = admin.get(f"/console/workers/import/{token}/report.csv")
    assert report.status_code == 200
    text = report.data.decode("utf-8-sig")
    assert text.splitlines() == ["行号,列,问题", f"{row_number},身份证号,校验位错误，应为{right}"]


def test_an_english_console_gets_the_report_and_the_id_check_in_english(client, db, world, login):
    admin = login(world.city)
    rows, row_number, right = rows_with_one_bad_id()
    rows[7][3] = "12345"
    rows[3][1] = "991302199001011234"  # an unknown region code
    token = token_of(upload(admin, csv_bytes(rows), enterprise_code=world.enterprise_a.credit_code))
    english = {"Accept-Language": "en"}
    preview = admin.get(f"/console/workers/import/{token}", headers=english).get_data(as_text=True)
    assert f"Row {row_number}, ID number: wrong check digit, it should be {right}" in preview
    report = admin.get(f"/console/workers/import/{token}/report.csv", headers=english)
    assert "import-problems.csv" in report.headers["Content-Disposition"]
    lines = report.data.decode("utf-8-sig").splitlines()
    assert lines[0] == "Row,Column,Problem"
    assert "5,ID number,unknown region code 991302" in lines
    assert f"{row_number},ID number,wrong check digit, it should be {right}" in [
        line.replace('"', "") for line in lines
    ]
    assert any(line.startswith("9,") and "12345" in line and "手机号" not in line for line in lines), lines


def test_a_clean_file_is_written_in_one_transaction_with_requirements(db, world, login):
    plan = add_plan(db.session, county_id=world.county_a.id)
    db.session.commit()
    admin = login(world.enterprise_admin_a)
    rows = worker_rows(30, seed=5, job="特种作业人员")
    token = token_of(upload(admin, csv_bytes(rows)))
    response = admin.post(f"/console/workers/import/{token}", data={"import_all": "确认导入"})
    assert response.status_code == 302
    imported = db.session.scalars(select(Worker).where(Worker.citizen_id.in_([r[1] for r in rows]))).all()
    assert len(imported) == 30
    assert {w.enterprise_id for w in imported} == {world.enterprise_a.id}
    assert {w.job_category for w in imported} == {JobCategory.SPECIAL_OPS}
    assert imported[0].birth_date.strftime("%Y%m%d") == imported[0].citizen_id[6:14]
    required = db.session.scalar(
        select(func.count(ExamRequirement.id)).where(
            ExamRequirement.plan_id == plan.id, ExamRequirement.worker_id.in_([w.id for w in imported])
        )
    )
    assert required == 30


def test_a_large_import_is_written_by_a_job_worker_whose_page_gives_the_outcome(app, db, world, login, monkeypatch):
    monkeypatch.setitem(app.config, "IMPORT_JOB_ROWS", 10)
    admin = login(world.enterprise_admin_a)
    rows, bad_row, _ = rows_with_one_bad_id(20)
    token = token_of(upload(admin, csv_bytes(rows)))
    response = admin.post(f"/console/workers/import/{token}", data={"import_valid": "仅导入有效行"})
    assert response.status_code == 302 and "/console/jobs/" in response.headers["Location"]
    job_url = response.headers["Location"]
    status = admin.get(f"{job_url}/status").get_json()  # the test's queue runs the job at once
    assert (status["state"], status["done"], status["enrolled"], status["refused"]) == ("done", 1, 1, 0)
    assert "已导入19人，跳过1行有错误的数据" in admin.get(job_url).get_data(as_text=True)
    assert worker_count(db) == len(world.workers_a) + len(world.workers_b) + 19
    assert login(world.county_admin_a).get(job_url).status_code == 404  # the job is its starter's
    # All or nothing, as in the request: errors left without "valid rows only" write nothing, and say why.
    token = token_of(upload(admin, csv_bytes(rows_with_one_bad_id(20)[0])))
    job_url = admin.post(f"/console/workers/import/{token}", data={"import_all": "确认导入"}).headers["Location"]
    assert admin.get(f"{job_url}/status").get_json()["refused"] == 1
    assert "存在错误，未导入任何数据" in admin.get(job_url).get_data(as_text=True)


def test_a_conflict_at_write_time_leaves_nothing_behind(db, world):
    rows = worker_rows(10, seed=8)
    result = worker_import.check(db.session, csv_bytes(rows), "a.csv", world.city, world.enterprise_a)
    assert not result.problems
    # Someone registers the last person between the preview and the confirmation.
    db.session.add(
        Worker(
            citizen_id=rows[-1][1],
            name="抢先登记",
            enterprise_id=world.enterprise_b.id,
            job_category=JobCategory.GENERAL,
        )
    )
    db.session.commit()
    before = worker_count(db)
    with pytest.raises(IntegrityError):
        worker_import.write(db.session, result, world.city, accept_valid_rows=False)
        db.session.commit()
    db.session.rollback()
    assert worker_count(db) == before
    assert db.session.scalar(select(func.count(AuditLog.id)).where(AuditLog.action == "workers_imported")) == 0


def test_enterprise_manager_imports_only_into_their_own_enterprise(db, world, login):
    manager = login(world.enterprise_admin_a)
    rows = worker_rows(2, seed=9)
    other = upload(manager, csv_bytes(rows), enterprise_code=world.enterprise_b.credit_code)
    assert other.status_code == 404
    by_id = manager.get(f"/console/workers/import?enterprise_id={world.enterprise_b.id}")
    assert by_id.status_code == 404
    # A credit-code column naming another enterprise is a row error, not a way round the scope.
    header = HEADER + ["统一社会信用代码"]
    data = csv_bytes([rows[0] + [world.enterprise_b.credit_code], rows[1] + [""]], header=header)
    result_page = manager.get(f"/console/workers/import/{token_of(upload(manager, data))}").get_data(as_text=True)
    assert f"第2行 统一社会信用代码: 与所选企业“{world.enterprise_a.name}”不一致" in result_page


def test_county_admin_cannot_import_into_another_county(db, world, login):
    admin = login(world.county_admin_a)
    assert upload(admin, csv_bytes(worker_rows(1)), enterprise_code=world.enterprise_b.credit_code).status_code == 404
    header = HEADER + ["统一社会信用代码"]
    rows = worker_rows(2, seed=12)
    data = csv_bytes(
        [rows[0] + [world.enterprise_a.credit_code], rows[1] + [world.enterprise_b.credit_code]], header=header
    )
    result = worker_import.check(db.session, data, "a.csv", world.county_admin_a, None)
    assert len(result.valid) == 1 and result.valid[0][4] == world.enterprise_a.id
    assert str(result.problems[0]).startswith("第3行 统一社会信用代码: 未找到企业")


def test_gbk_csv_from_chinese_excel_is_read(db, world):
    rows = worker_rows(3, seed=13)
    result = worker_import.check(
        db.session, csv_bytes(rows, encoding="gb18030"), "a.csv", world.city, world.enterprise_a
    )
    assert not result.problems and [v[1] for v in result.valid] == [r[0] for r in rows]


def test_xlsx_import_and_numeric_id_cells(db, world):
    book = Workbook()
    sheet = book.active
    sheet.append(["姓名*", "身份证号*", "岗位类别*", "手机号（选填）"])
    ids = citizen_ids(2, seed=14)
    sheet.append(["王芳", ids[0], "安全生产管理人员", 13800138000])
    sheet.append(["李强", float(ids[1][:17] + "0"), "一般从业人员", None])
    buffer = io.BytesIO()
    book.save(buffer)
    result = worker_import.check(db.session, buffer.getvalue(), "a.xlsx", world.city, world.enterprise_a)
    assert [v[0] for v in result.valid] == [ids[0]]
    assert result.valid[0][5] is JobCategory.SAFETY_MANAGER and result.valid[0][6] == "13800138000"
    assert str(result.problems[0]).startswith("第3行 身份证号: 单元格为数值格式")


def test_template_downloads_and_reads_back(db, world, login):
    response = login(world.enterprise_admin_a).get("/console/workers/import/template.xlsx")
    assert response.status_code == 200
    assert "attachment" in response.headers["Content-Disposition"]
    book = load_workbook(io.BytesIO(response.data))
    sheet = book["从业人员"]
    assert [c.value for c in sheet[1]] == ["姓名*", "身份证号*", "岗位类别*", "手机号", "统一社会信用代码"]
    assert sheet["B2"].number_format == "@"
    assert "填写说明" in book.sheetnames
    ids = citizen_ids(1, seed=15)
    sheet.append(["赵敏", ids[0], "主要负责人"])
    buffer = io.BytesIO()
    book.save(buffer)
    result = worker_import.check(db.session, buffer.getvalue(), "t.xlsx", world.enterprise_admin_a, world.enterprise_a)
    assert not result.problems and [v[0] for v in result.valid] == ids


def test_staged_upload_belongs_to_its_uploader(db, world, login):
    city = login(world.city)
    token = token_of(upload(city, csv_bytes(worker_rows(2, seed=16)), enterprise_code=world.enterprise_a.credit_code))
    other = login(world.county_admin_a)
    assert other.get(f"/console/workers/import/{token}").status_code == 404
    assert other.post(f"/console/workers/import/{token}", data={"import_all": "1"}).status_code == 404
    assert re.fullmatch(r"[0-9a-f]{32}", token)
    assert city.get("/console/workers/import/..%2F..%2Fetc").status_code == 404


@pytest.fixture()
def strict_app(make_app):
    """An app with CSRF on and the default 8 MiB request limit, on the same database."""
    return make_app(LOGIN_RATE_LIMIT="1000 per minute")


def csrf_token(client, path: str) -> str:
    return re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', client.get(path).get_data(as_text=True)).group(
        1
    )


def test_large_lists_pass_the_request_limit_only_where_meant_to(strict_app, world):
    client = strict_app.test_client()
    big = csv_bytes(worker_rows(1)) + b"\n" * (9 * 1024 * 1024)
    assert strict_app.config["MAX_CONTENT_LENGTH"] < len(big)
    anonymous = client.post(
        "/console/workers/import", data={"file": (io.BytesIO(big), "a.csv")}, content_type="multipart/form-data"
    )
    assert anonymous.status_code == 413  # strangers may not send large bodies
    client.post(
        "/auth/login",
        data={"username": "ent_a", "password": factories.PASSWORD, "csrf_token": csrf_token(client, "/auth/login")},
    )
    token = csrf_token(client, "/console/workers/import")
    accepted = client.post(
        "/console/workers/import",
        data={"file": (io.BytesIO(big), "a.csv"), "csrf_token": token},
        content_type="multipart/form-data",
    )
    assert accepted.status_code == 302 and "/console/workers/import/" in accepted.headers["Location"]
    photo = client.post(
        f"/console/workers/{world.workers_a[0].id}/enrol",
        data={"photo": (io.BytesIO(big), "a.jpg"), "csrf_token": token},
        content_type="multipart/form-data",
    )
    assert photo.status_code == 413


def test_xlsx_upload_is_parsed_once_and_checked_again_on_confirm(db, world, login):
    book = Workbook()
    sheet = book.active
    sheet.append(["姓名", "身份证号", "岗位类别"])
    # An ID ending in X cannot be a number cell: take three all-digit ones, whatever day they are made.
    ids = [cid for cid in citizen_ids(20, seed=21) if cid[-1] != "X"][:3]
    sheet.append(["王芳", ids[0], "一般从业人员"])
    sheet.append(["李强", float(ids[1]), "一般从业人员"])
    sheet.append(["赵敏", ids[2], "一般从业人员"])
    buffer = io.BytesIO()
    book.save(buffer)
    admin = login(world.enterprise_admin_a)
    token = token_of(upload(admin, buffer.getvalue(), "名单.xlsx"))
    assert "第3行 身份证号: 单元格为数值格式" in admin.get(f"/console/workers/import/{token}").get_data(as_text=True)
    assert admin.post(f"/console/workers/import/{token}", data={"import_valid": "1"}).status_code == 302
    assert set(db.session.scalars(select(Worker.citizen_id).where(Worker.citizen_id.in_(ids)))) == {ids[0], ids[2]}


def test_staged_xlsx_cache_keeps_cell_types(tmp_path):
    book = Workbook()
    book.active.append(["姓名", "身份证号", "岗位类别", "手机号"])
    book.active.append(["王芳", 3.71302199003071e17, "一般从业人员", 13800138000])
    path = tmp_path / "upload.xlsx"
    book.save(path)
    first_header, first_rows = worker_import.read_staged(path)
    first = list(first_rows)
    assert (tmp_path / "upload.xlsx.jsonl").exists()
    path.write_bytes(b"")  # the second read must come from the cache
    header, rows = worker_import.read_staged(path)
    assert header == first_header and list(rows) == first == [
        (2, ["王芳", 3.71302199003071e17, "一般从业人员", 13800138000])
    ]


def test_an_import_job_writes_its_title_and_outcome_in_the_requesters_language(app, db, world, login, monkeypatch):
    monkeypatch.setitem(app.config, "IMPORT_JOB_ROWS", 10)
    admin = login(world.enterprise_admin_a)
    admin.post("/auth/language", data={"locale": "en"})
    token = token_of(upload(admin, csv_bytes(rows_with_one_bad_id(20)[0])))
    job_url = admin.post(f"/console/workers/import/{token}", data={"import_valid": "1"}).headers["Location"]
    page = admin.get(job_url).get_data(as_text=True)
    assert "<h1>Import workers: " in page and "Imported 19 workers, skipped 1 rows with errors" in page
    assert "已导入" not in page
