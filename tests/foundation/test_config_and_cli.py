"""Configuration from EXAM_ variables, refusal without a secret, readable CLI failures."""

import os
import subprocess
import sys

import pytest

from exam_server import create_app
from exam_server.config import ConfigError


def run_cli(*args, env_extra=None, cwd=None):
    env = {k: v for k, v in os.environ.items() if not k.startswith("EXAM_") and k != "DATABASE_URL"}
    env.update(env_extra or {})
    return subprocess.run(
        [sys.executable, "-m", "exam_server.cli", *args], capture_output=True, text=True, env=env, cwd=cwd, timeout=120
    )


def test_production_refuses_to_start_without_secret_key(monkeypatch, tmp_path):
    for name in ("EXAM_SECRET_KEY", "EXAM_SECRET_KEY_FILE", "EXAM_ENV"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("EXAM_DATA_DIR", str(tmp_path))
    with pytest.raises(ConfigError, match="EXAM_SECRET_KEY"):
        create_app()


def test_settings_come_from_prefixed_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("EXAM_SECRET_KEY", "from-env")
    monkeypatch.setenv("EXAM_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("EXAM_DATABASE_URL", "postgres://u:p@db.example:5432/exam")
    monkeypatch.setenv("EXAM_MAX_UPLOAD_BYTES", "1234")
    monkeypatch.setenv("EXAM_IMPORT_MAX_BYTES", "5678")
    monkeypatch.setenv("EXAM_PHOTO_ZIP_MAX_BYTES", "91011")
    app = create_app()
    assert app.config["SECRET_KEY"] == "from-env"
    assert app.config["DATA_DIR"] == str(tmp_path)
    assert app.config["SQLALCHEMY_DATABASE_URI"] == "postgresql+psycopg://u:p@db.example:5432/exam"
    assert app.config["MAX_CONTENT_LENGTH"] == 1234
    assert (app.config["IMPORT_MAX_BYTES"], app.config["PHOTO_ZIP_MAX_BYTES"]) == (5678, 91011)


def test_bad_number_in_environment_is_named(monkeypatch, tmp_path):
    monkeypatch.setenv("EXAM_SECRET_KEY", "x")
    monkeypatch.setenv("EXAM_MAX_UPLOAD_BYTES", "lots")
    with pytest.raises(ConfigError, match="EXAM_MAX_UPLOAD_BYTES must be an integer"):
        create_app()


def test_face_settings_are_read_once_when_the_app_is_made(monkeypatch, tmp_path):
    from exam_server.services.faces import face_service

    monkeypatch.setenv("EXAM_SECRET_KEY", "x")
    monkeypatch.setenv("EXAM_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("EXAM_FACE_LIVE_THRESHOLD", "0.41")
    app = create_app()
    assert app.config["FACE_LIVE_THRESHOLD"] == 0.41
    monkeypatch.setenv("EXAM_FACE_LIVE_THRESHOLD", "0.2")  # later changes to the environment are not seen
    with app.app_context():
        assert face_service.settings().live_threshold == 0.41
        app.config["FACE_LIVE_THRESHOLD"] = 0.45  # the app's config is the one source
        assert face_service.settings().live_threshold == 0.45
    monkeypatch.setenv("EXAM_FACE_SEARCH_K", "five")
    with pytest.raises(ConfigError, match="EXAM_FACE_SEARCH_K"):
        create_app()


def test_cli_without_secret_prints_one_line(tmp_path):
    result = run_cli("init-db", env_extra={"EXAM_DATA_DIR": str(tmp_path)})
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0, result.stderr
    assert "EXAM_SECRET_KEY" in result.stderr
    assert "Traceback" not in result.stderr


def test_unopenable_database_gives_one_readable_line(tmp_path):
    result = run_cli(
        "init-db",
        env_extra={
            "EXAM_SECRET_KEY": "x",
            "EXAM_DATA_DIR": str(tmp_path),
            "EXAM_DATABASE_URL": f"sqlite:///{tmp_path}/no/such/dir/exam.db",
        },
    )
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert result.stderr.strip() == "exam-server: cannot open the database: unable to open database file"


def test_create_admin_then_login(tmp_path):
    env = {"EXAM_SECRET_KEY": "x", "EXAM_DATA_DIR": str(tmp_path), "EXAM_DATABASE_URL": f"sqlite:///{tmp_path}/exam.db"}
    assert run_cli("init-db", env_extra=env).returncode == 0
    result = run_cli("create-admin", "chief", env_extra=env)
    assert result.returncode == 0, result.stderr
    password = result.stdout.strip().rsplit(" ", 1)[-1]
    app = create_app(
        {
            "SECRET_KEY": "x",
            "SQLALCHEMY_DATABASE_URI": env["EXAM_DATABASE_URL"],
            "WTF_CSRF_ENABLED": False,
            "DATA_DIR": str(tmp_path),
        }
    )
    response = app.test_client().post("/auth/login", data={"username": "chief", "password": password})
    assert response.status_code == 302
    assert run_cli("create-admin", "chief", env_extra=env).returncode != 0  # taken


def test_unknown_liveness_challenge_is_refused(monkeypatch, tmp_path):
    monkeypatch.setenv("EXAM_SECRET_KEY", "x")
    monkeypatch.setenv("EXAM_CHECKIN_CHALLENGES", "turn_left, smile")
    with pytest.raises(ConfigError, match="EXAM_CHECKIN_CHALLENGES"):
        create_app()
    monkeypatch.setenv("EXAM_CHECKIN_CHALLENGES", "turn_left,turn_right")
    assert create_app().config["CHECKIN_CHALLENGES"] == ("turn_left", "turn_right")
    # Sequences need two moves to alternate; at most three moves; a replay threshold within the hash.
    monkeypatch.setenv("EXAM_CHECKIN_CHALLENGES", "blink")
    with pytest.raises(ConfigError, match="EXAM_CHECKIN_CHALLENGE_STEPS"):
        create_app()
    monkeypatch.setenv("EXAM_CHECKIN_CHALLENGE_STEPS", "1")
    assert create_app().config["CHECKIN_CHALLENGE_STEPS"] == 1
    monkeypatch.setenv("EXAM_CHECKIN_CHALLENGE_STEPS", "4")
    with pytest.raises(ConfigError, match="EXAM_CHECKIN_CHALLENGE_STEPS"):
        create_app()
    monkeypatch.delenv("EXAM_CHECKIN_CHALLENGE_STEPS")
    monkeypatch.delenv("EXAM_CHECKIN_CHALLENGES")
    monkeypatch.setenv("EXAM_REPLAY_MAX_BITS", "200")
    with pytest.raises(ConfigError, match="EXAM_REPLAY_MAX_BITS"):
        create_app()


@pytest.mark.parametrize("name, value", [("EXAM_ANALYSIS_MAX_WAIT_SECONDS", "0"), ("EXAM_ANALYSIS_CONCURRENCY", "0")])
def test_a_face_queue_that_could_admit_nothing_is_refused(monkeypatch, tmp_path, name, value):
    monkeypatch.setenv("EXAM_SECRET_KEY", "x")
    monkeypatch.setenv("EXAM_DATA_DIR", str(tmp_path))
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError, match="EXAM_ANALYSIS_MAX_WAIT_SECONDS must be above 0"):
        create_app()
    monkeypatch.setenv(name, "2")
    assert create_app().config[name[len("EXAM_") :]] == 2


def test_the_pin_window_is_read_from_the_environment_and_must_be_positive(monkeypatch, tmp_path):
    monkeypatch.setenv("EXAM_SECRET_KEY", "x")
    monkeypatch.setenv("EXAM_DATA_DIR", str(tmp_path))
    assert create_app().config["PIN_WINDOW_SECONDS"] == 600
    monkeypatch.setenv("EXAM_PIN_WINDOW_SECONDS", "0")
    with pytest.raises(ConfigError, match="EXAM_PIN_WINDOW_SECONDS must be at least 1"):
        create_app()
    monkeypatch.setenv("EXAM_PIN_WINDOW_SECONDS", "300")
    assert create_app().config["PIN_WINDOW_SECONDS"] == 300


def _commands(group, path=()):
    """Yield (path, command) for every command under a click group, groups included."""
    import click

    for name, command in group.commands.items():
        yield (*path, name), command
        if isinstance(command, click.Group):
            yield from _commands(command, (*path, name))


def test_help_and_face_commands_need_no_configuration(tmp_path):
    """`exam-server --help`, every command's --help and the face commands answer without a secret or database."""
    from click.testing import CliRunner

    from exam_server.cli.main import cli

    listed = run_cli("--help", cwd=tmp_path)
    assert listed.returncode == 0 and "face" in listed.stdout and "init-db" in listed.stdout, listed.stderr
    env = {k: "" for k in os.environ if k.startswith("EXAM_")}
    paths = [path for path, _ in _commands(cli)]
    assert ("face", "evaluate") in paths and ("face", "verify") in paths and ("face", "enroll-batch") in paths
    runner = CliRunner()
    for path in paths:
        result = runner.invoke(cli, [*path, "--help"], env=env)
        assert result.exit_code == 0, (path, result.output)
        assert "Usage:" in result.output
    # A face command runs for real with no configuration at all (here: a usage error about its own arguments).
    verify = run_cli("face", "verify", cwd=tmp_path)
    assert verify.returncode == 2 and "EXAM_SECRET_KEY" not in verify.stderr and "ENROLLED" in verify.stderr
