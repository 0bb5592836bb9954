"""``exam-server demo``: create an embedded SQLite demo, print logins, start gunicorn and one job worker."""

from __future__ import annotations

import os
import secrets
import sys
from pathlib import Path

import click

DEMO_USERS = (
    # username, role, scope
    ("admin", "city", None),
    ("county_admin", "county", "county"),
    ("enterprise_admin", "enterprise", "enterprise"),
    ("reviewer", "reviewer", None),
)


def _ensure_secret(data_dir: Path) -> None:
    """Create a random secret key file for this demo data directory, once."""
    if os.environ.get("EXAM_SECRET_KEY") or os.environ.get("EXAM_SECRET_KEY_FILE"):
        return
    key_file = data_dir / "secret_key"
    if not key_file.exists():
        key_file.write_text(secrets.token_hex(32))
        key_file.chmod(0o600)
    os.environ["EXAM_SECRET_KEY_FILE"] = str(key_file)


def _reset_demo_users(session) -> list[tuple[str, str, str]]:
    """Create or reset the demo users, returning (username, role, password) for printing."""
    from sqlalchemy import select

    from exam_server.models import County, Enterprise, User
    from exam_server.services.admin import accounts
    from exam_server.services.admin.user_admin import generate_password

    first_county = session.scalar(select(County).order_by(County.id))
    first_enterprise = session.scalar(select(Enterprise).order_by(Enterprise.id))
    logins = []
    for username, role, scope in DEMO_USERS:
        password = generate_password()
        user = session.scalar(select(User).where(User.username == username))
        if user is None:
            accounts.create_user(
                session,
                username,
                password,
                role,
                county=first_county if scope == "county" else None,
                enterprise=first_enterprise if scope == "enterprise" else None,
            )
        else:
            accounts.set_password(user, password)
        logins.append((username, role, password))
    return logins


@click.command("demo")
@click.option(
    "--data-dir",
    default=None,
    type=click.Path(file_okay=False),
    help="where the SQLite database, photos and evidence go [default: var/demo, var/demo-town or var/demo-city]",
)
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option("--serve/--no-serve", default=True, help="start gunicorn after loading the data")
@click.option(
    "--scale",
    type=click.Choice(["small", "town", "city"]),
    default="small",
    show_default=True,
    help="small: 24 enterprises and their workers, nobody enrolled or examined yet (what the kiosk tests use); "
    "town: every county and industry, 3,000 workers with enrolled faces, a year of sittings and open review cases "
    "(seconds; what scripts/demo.sh starts); city: the whole city, 9,032 enterprises, 310,000 workers "
    "(about 2 minutes)",
)
def demo(data_dir: str | None, host: str, port: int, serve: bool, scale: str) -> None:
    """Create the demo database (SQLite), load demo data, print logins, start the server and a job worker."""
    from flask_migrate import upgrade

    from exam_server import create_app
    from exam_server.demo.city_generator import load_city
    from exam_server.demo.small_city import load_demo
    from exam_server.extensions import db

    directory = Path(data_dir or ("var/demo" if scale == "small" else f"var/demo-{scale}")).resolve()
    directory.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("EXAM_DATA_DIR", str(directory))
    # Demo certificates name a demo authority, so nobody mistakes a printout for a real one.
    os.environ.setdefault("EXAM_CERTIFICATE_AUTHORITY", "演示市应急管理局（演示数据）")
    # The demo serves plain HTTP (possibly to other machines on the LAN), where a Secure cookie is never sent back.
    os.environ.setdefault("EXAM_SECURE_COOKIES", "false")
    _ensure_secret(directory)
    app = create_app()
    with app.app_context():
        upgrade()
        summary = load_demo(db.session) if scale == "small" else load_city(db.session, str(directory), scale=scale)
        logins = _reset_demo_users(db.session)
        db.session.commit()
    url = f"http://{host}:{port}/"
    click.echo(f"\n演示数据 demo data: {summary}")
    click.echo(f"数据库 database: {app.config['SQLALCHEMY_DATABASE_URI']}")
    click.echo(f"\n控制台 console: {url}")
    for username, role, password in logins:
        click.echo(f"  {role:<10} 用户名 {username:<17} 密码 {password}")
    click.echo("")
    if serve:
        sys.stdout.flush()
        os.environ["EXAM_BIND"] = f"{host}:{port}"
        _serve_with_worker()


def _serve_with_worker() -> None:
    """Run one embedded job worker (queue in the demo's SQLite file) beside gunicorn; stop both together."""
    import signal
    import subprocess

    def interrupted(signum, frame):
        raise KeyboardInterrupt

    click.echo("任务处理进程 job worker: 1 process, embedded queue (照片批量登记、自动交卷)")
    # Warnings only: a log line every 15 s for each periodic run would push the logins off the screen.
    worker = subprocess.Popen(
        [sys.executable, "-m", "exam_server.cli", "worker", "--processes", "1", "--log-level", "WARNING"]
    )
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-c", "python:exam_server.gunicorn_conf", "exam_server.wsgi:app"]
    )
    signal.signal(signal.SIGTERM, interrupted)
    try:
        server.wait()
    except KeyboardInterrupt:
        pass
    finally:
        # gunicorn stops on SIGTERM; Huey finishes the task in hand on SIGINT, then exits.
        for process, stop in ((server, signal.SIGTERM), (worker, signal.SIGINT)):
            if process.poll() is None:
                process.send_signal(stop)
        for process in (server, worker):
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
