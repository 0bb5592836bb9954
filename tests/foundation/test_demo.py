"""`exam-server demo --no-serve` builds a working SQLite demo and prints usable logins."""

import re

from exam_server import create_app
from tests.foundation.test_config_and_cli import run_cli


def test_demo_creates_database_and_prints_logins_that_work(tmp_path):
    data_dir = tmp_path / "demo"
    result = run_cli("demo", "--no-serve", "--data-dir", str(data_dir), cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "http://127.0.0.1:8000/" in result.stdout
    logins = dict(re.findall(r"用户名 (\S+)\s+密码 (\S+)", result.stdout))
    assert set(logins) == {"admin", "county_admin", "enterprise_admin", "reviewer"}
    assert (data_dir / "exam.db").exists() and (data_dir / "secret_key").exists()

    app = create_app(
        {
            "SECRET_KEY": (data_dir / "secret_key").read_text(),
            "WTF_CSRF_ENABLED": False,
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{data_dir / 'exam.db'}",
            "DATA_DIR": str(data_dir),
        }
    )
    client = app.test_client()
    response = client.post("/auth/login", data={"username": "admin", "password": logins["admin"]})
    assert response.status_code == 302
    dashboard = client.get("/console/").get_data(as_text=True)
    workers = int(re.findall(r'class="fig">(\d+)<', dashboard)[1])
    assert workers > 100

    again = run_cli("demo", "--no-serve", "--data-dir", str(data_dir), cwd=tmp_path)
    assert again.returncode == 0
    new_admin = dict(re.findall(r"用户名 (\S+)\s+密码 (\S+)", again.stdout))["admin"]
    assert new_admin != logins["admin"]  # passwords are regenerated, data kept
    assert "demo data:" in again.stdout and f"{workers} workers" in again.stdout


def test_town_demo_has_a_living_city_on_every_page(tmp_path):
    """scripts/demo.sh's scale: every county and industry, enrolled faces, a year of sittings, open review cases."""
    from sqlalchemy import func, select

    from exam_server.extensions import db
    from exam_server.models import County, FaceTemplate, Industry, ReviewCase, ReviewStatus, Sitting, Worker

    data_dir = tmp_path / "town"
    result = run_cli("demo", "--no-serve", "--scale", "town", "--data-dir", str(data_dir), cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "3,000 worker" in result.stdout and "participation" in result.stdout
    logins = dict(re.findall(r"用户名 (\S+)\s+密码 (\S+)", result.stdout))
    app = create_app(
        {
            "SECRET_KEY": (data_dir / "secret_key").read_text(),
            "WTF_CSRF_ENABLED": False,
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{data_dir / 'exam.db'}",
            "DATA_DIR": str(data_dir),
        }
    )
    with app.app_context():
        count = lambda what, *where: db.session.scalar(select(func.count()).select_from(what).where(*where))  # noqa: E731
        assert count(County) == 13 and count(Industry) == 19 and count(Worker) == 3000
        assert count(Sitting) > 3000
        assert count(FaceTemplate) >= 3000  # every worker enrolled (one template per model)
        open_cases = count(ReviewCase, ReviewCase.status == ReviewStatus.OPEN)
        assert open_cases > 10
    client = app.test_client()
    assert client.post("/auth/login", data={"username": "reviewer", "password": logins["reviewer"]}).status_code == 302
    queue = client.get("/console/review").get_data(as_text=True)
    assert len(set(re.findall(r'href="/console/review/(\d+)"', queue))) == open_cases
