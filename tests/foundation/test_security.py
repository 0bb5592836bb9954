"""Issue 14, findings 3, 4 and 7: login throttling shared across processes, logout, cookie flags and headers."""

from __future__ import annotations

import re
import uuid
from pathlib import Path

import pytest
import redis
from sqlalchemy import select

from exam_server import create_app
from exam_server.models import AuditLog
from tests import factories
from tests.conftest import FreshContextClient

ATTACKER, OWNER = "203.0.113.9", "198.51.100.20"
TEMPLATES = Path(__file__).resolve().parents[2] / "exam_server" / "templates"


@pytest.fixture()
def make_app(database_url, tmp_path, db):
    """Return a factory of apps on the test database with small login limits, one proxy hop and CSRF off."""

    def _make(**overrides):
        config = {
            "TESTING": True,
            "SECRET_KEY": "k",
            "SQLALCHEMY_DATABASE_URI": database_url,
            "DATA_DIR": str(tmp_path),
            "WTF_CSRF_ENABLED": False,
            "QUEUE_URL": "immediate",
            "LOGIN_RATE_LIMIT": "10 per minute",
            "LOGIN_ACCOUNT_RATE_LIMIT": "3 per minute",
            "LOGIN_ACCOUNT_CEILING": "8 per minute",
            "PROXY_HOPS": 1,
            **overrides,
        }
        made = create_app(config)
        made.test_client_class = FreshContextClient
        return made

    return _make


def attempt(client, password, address, username="city_admin"):
    return client.post(
        "/auth/login", data={"username": username, "password": password}, headers={"X-Forwarded-For": address}
    )


def test_two_app_instances_share_the_failed_login_count(make_app, world):
    # Two processes (or hosts) on one database: the third failure on one and the fourth on the other add up.
    first, second = make_app().test_client(), make_app().test_client()
    codes = [attempt(client, "wrong-guess-1", ATTACKER).status_code for client in (first, second, first, second)]
    assert codes == [200, 200, 200, 429]
    refused = attempt(first, factories.PASSWORD, ATTACKER)
    assert refused.status_code == 429 and int(refused.headers["Retry-After"]) > 0
    assert "登录失败次数过多" in refused.get_data(as_text=True)


def test_redis_storage_is_shared_too(make_app, world):
    try:
        redis.Redis.from_url("redis://127.0.0.1:6379/0", socket_connect_timeout=2).ping()
    except redis.exceptions.ConnectionError as exc:
        pytest.skip(f"Redis not reachable at 127.0.0.1:6379: {exc}")
    settings = {"RATELIMIT_STORAGE_URI": "redis://127.0.0.1:6379/0", "RATELIMIT_KEY_PREFIX": uuid.uuid4().hex}
    first, second = make_app(**settings).test_client(), make_app(**settings).test_client()
    codes = [attempt(client, "wrong-guess-1", ATTACKER).status_code for client in (first, second, first, second)]
    assert codes == [200, 200, 200, 429]


def test_the_owner_logs_in_from_another_address_while_an_attacker_is_held(make_app, world):
    client = make_app().test_client()
    codes = [attempt(client, f"guess-{n}-xyz", ATTACKER).status_code for n in range(6)]
    assert codes == [200, 200, 200, 429, 429, 429]
    assert attempt(client, factories.PASSWORD, ATTACKER).status_code == 429  # even the right one, from there
    assert attempt(client, factories.PASSWORD, OWNER).status_code == 302


def test_an_address_spraying_many_accounts_is_held(make_app, world, db):
    client = make_app().test_client()
    codes = [attempt(client, "wrong-guess-1", ATTACKER, username=f"user{n}").status_code for n in range(11)]
    assert codes == [200] * 10 + [429]
    assert attempt(client, factories.PASSWORD, OWNER).status_code == 302  # the owner elsewhere is not


def test_the_account_ceiling_bounds_guessing_from_many_addresses(make_app, world):
    client = make_app().test_client()
    for n in range(8):  # 8 failures spread over addresses, none over its own pair limit
        assert attempt(client, "wrong-guess-1", f"192.0.2.{n}").status_code == 200
    assert attempt(client, "wrong-guess-1", "192.0.2.200").status_code == 429


def test_a_successful_login_forgets_the_pairs_failures(make_app, world):
    client = make_app().test_client()
    for _ in range(2):
        attempt(client, "typo-in-password", OWNER)
    assert attempt(client, factories.PASSWORD, OWNER).status_code == 302
    codes = [attempt(make_app().test_client(), "typo-in-password", OWNER).status_code for _ in range(3)]
    assert codes == [200, 200, 200]


def test_behind_proxyfix_the_forwarded_address_is_recorded_and_counted(make_app, world, db):
    client = make_app().test_client()
    attempt(client, factories.PASSWORD, OWNER)
    assert db.session.scalars(select(AuditLog.ip)).all() == [OWNER]
    # Without the hop, X-Forwarded-For is the client's word and ignored: every "address" is one.
    direct = make_app(PROXY_HOPS=0).test_client()
    codes = [attempt(direct, "wrong-guess-1", f"192.0.2.{n}").status_code for n in range(4)]
    assert codes == [200, 200, 200, 429]


def test_a_saved_cookie_no_longer_opens_the_console_after_logout(app, world, login):
    client = login(world.city)
    saved = client.get_cookie("session", domain="exam.test").value
    thief = app.test_client()
    thief.set_cookie("session", saved, domain="exam.test")
    assert thief.get("/console/review").status_code == 200
    assert client.post("/auth/logout").status_code == 302
    page = thief.get("/console/review")
    assert page.status_code == 302 and "/auth/login" in page.headers["Location"]


def session_cookie(response) -> str:
    (cookie,) = [c for c in response.headers.getlist("Set-Cookie") if c.startswith("session=")]
    return cookie


def test_production_cookies_are_secure_httponly_and_lax(make_app, world):
    client = make_app(ENV_NAME="production", SECURE_COOKIES=None).test_client()
    cookie = session_cookie(attempt(client, factories.PASSWORD, OWNER))
    assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_a_plain_http_demo_turns_secure_off_explicitly(make_app, world):
    client = make_app(ENV_NAME="production", SECURE_COOKIES=False).test_client()
    cookie = session_cookie(attempt(client, factories.PASSWORD, OWNER))
    assert "Secure" not in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_pages_forbid_framing_sniffing_and_inline_script(make_app, world):
    client = make_app(ENV_NAME="production", SECURE_COOKIES=None).test_client()
    page = client.get("/auth/login")
    assert page.headers["X-Frame-Options"] == "DENY"
    assert page.headers["X-Content-Type-Options"] == "nosniff"
    policy = dict(part.strip().split(" ", 1) for part in page.headers["Content-Security-Policy"].split(";"))
    assert policy["frame-ancestors"] == "'none'" and policy["script-src"] == "'self'"
    assert "Strict-Transport-Security" not in page.headers  # plain HTTP: browsers would ignore it
    secure = client.get("/auth/login", base_url="https://exam.test")
    assert secure.headers["Strict-Transport-Security"].startswith("max-age=31536000")
    forwarded = client.get("/auth/login", headers={"X-Forwarded-Proto": "https"})  # TLS ends at the proxy
    assert "Strict-Transport-Security" in forwarded.headers
    assert (
        "Strict-Transport-Security"
        not in make_app(SECURE_COOKIES=False).test_client().get("/auth/login", base_url="https://exam.test").headers
    )


def test_templates_hold_no_inline_script_the_policy_would_block():
    for path in TEMPLATES.rglob("*.html"):
        text = path.read_text()
        # A JSON data block (type="application/json") is never run, so the policy lets it be.
        assert not re.search(r"<script(?![^>]*\b(?:src=|type=\"application/json\"))[^>]*>", text), (
            f"{path.name}: inline <script>"
        )
        assert not re.search(r"\son[a-z]+=", text), f"{path.name}: inline event handler"
        assert "<style" not in text, f"{path.name}: inline <style>"


def test_bad_limits_and_hops_are_refused_at_start(make_app):
    from exam_server.config import ConfigError

    with pytest.raises(ConfigError, match="EXAM_LOGIN_ACCOUNT_RATE_LIMIT"):
        make_app(LOGIN_ACCOUNT_RATE_LIMIT="lots")
    with pytest.raises(ConfigError, match="EXAM_PROXY_HOPS"):
        make_app(PROXY_HOPS=-1)


def test_two_gunicorn_processes_share_the_count(tmp_path):
    """The real server, two worker processes on one SQLite file: the pair limit holds across both."""
    import os
    import re as regex
    import signal
    import subprocess

    import requests

    from tests.kiosk.servers import BIN, REPO, free_port, wait_for

    port = free_port()
    env = {
        **os.environ,
        "EXAM_DATA_DIR": str(tmp_path),
        "EXAM_SECRET_KEY": "gunicorn-test",
        "EXAM_BIND": f"127.0.0.1:{port}",
        "EXAM_WORKERS": "2",
        "EXAM_THREADS": "1",
        "EXAM_SECURE_COOKIES": "false",  # plain HTTP: requests would not send a Secure cookie back
        "EXAM_LOGIN_ACCOUNT_RATE_LIMIT": "3 per minute",
    }
    for command in (["init-db"], ["create-admin", "owner", "--password", factories.PASSWORD]):
        subprocess.run([str(BIN / "exam-server"), *command], env=env, check=True, capture_output=True, timeout=120)
    log, access = tmp_path / "server.log", tmp_path / "access.log"
    with open(log, "ab") as out:
        server = subprocess.Popen(
            [str(BIN / "gunicorn"), "-c", str(REPO / "gunicorn.conf.py"), "--no-control-socket"]
            + ["--access-logfile", str(access), "--access-logformat", "%(p)s %(m)s %(s)s", "exam_server.wsgi:app"],
            env=env,
            cwd=REPO,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        url = f"http://127.0.0.1:{port}/auth/login"
        wait_for(url, 60, server, log)
        browser = requests.Session()
        token = regex.search(r'name="csrf_token" type="hidden" value="([^"]+)"', browser.get(url).text).group(1)
        form = {"username": "owner", "password": "wrong-guess-1", "csrf_token": token}
        # A new connection for each attempt, so both worker processes take some.
        codes = [browser.post(url, data=form, headers={"Connection": "close"}).status_code for _ in range(20)]
        served = [line.split() for line in access.read_text().splitlines() if " POST " in f" {line} "]
        assert codes == [200, 200, 200] + [429] * 17, served
        assert len({pid for pid, _, _ in served}) == 2, f"one process took every attempt: {served}"
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=40)
