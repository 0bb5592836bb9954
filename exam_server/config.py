"""Configuration read from environment variables prefixed ``EXAM_``."""

from __future__ import annotations

import os
from pathlib import Path

from exam_server import localday

PREFIX = "EXAM_"
QUEUE_SCHEMES = ("sqlite:///", "redis://", "rediss://", "unix://", "immediate")


class ConfigError(RuntimeError):
    """Raise when the environment cannot produce a safe configuration."""


def _env(name: str, default: str | None = None) -> str | None:
    return os.environ.get(PREFIX + name, default)


def _env_float(name: str, default: float) -> float:
    raw = _env(name)
    try:
        return float(raw) if raw is not None else default
    except ValueError as exc:
        raise ConfigError(f"{PREFIX}{name} must be a number, got {raw!r}") from exc


def _env_int(name: str, default: int) -> int:
    raw = _env(name)
    try:
        return int(raw) if raw is not None else default
    except ValueError as exc:
        raise ConfigError(f"{PREFIX}{name} must be an integer, got {raw!r}") from exc


def _env_list(name: str, default: tuple[str, ...]) -> tuple[str, ...]:
    raw = _env(name)
    return tuple(part.strip() for part in raw.split(",") if part.strip()) if raw else default


def _read_secret(data_dir: Path) -> str | None:
    """Return the secret key from EXAM_SECRET_KEY or the file EXAM_SECRET_KEY_FILE names."""
    if key := _env("SECRET_KEY"):
        return key
    key_file = _env("SECRET_KEY_FILE")
    if key_file:
        try:
            return Path(key_file).read_text().strip() or None
        except OSError as exc:
            raise ConfigError(f"cannot read {PREFIX}SECRET_KEY_FILE {key_file}: {exc.strerror}") from exc
    return None


def default_sqlite_url(data_dir: Path) -> str:
    return f"sqlite:///{(data_dir / 'exam.db').resolve()}"


def from_env() -> dict:
    """Build the Flask config mapping from the process environment."""
    env = _env("ENV", "production")
    data_dir = Path(_env("DATA_DIR", "var")).resolve()
    database_url = _env("DATABASE_URL") or os.environ.get("DATABASE_URL") or default_sqlite_url(data_dir)
    if database_url.startswith("postgres://"):
        database_url = "postgresql://" + database_url[len("postgres://") :]
    if database_url.startswith("postgresql://"):
        database_url = "postgresql+psycopg://" + database_url[len("postgresql://") :]
    return {
        "ENV_NAME": env,
        "SECRET_KEY": _read_secret(data_dir),
        "SQLALCHEMY_DATABASE_URI": database_url,
        "DATA_DIR": str(data_dir),
        "MAX_CONTENT_LENGTH": _env_int("MAX_UPLOAD_BYTES", 8 * 1024 * 1024),
        "IMPORT_MAX_BYTES": _env_int("IMPORT_MAX_BYTES", 64 * 1024 * 1024),
        "PHOTO_ZIP_MAX_BYTES": _env_int("PHOTO_ZIP_MAX_BYTES", 512 * 1024 * 1024),
        "EVIDENCE_RETENTION_DAYS": _env_int("EVIDENCE_RETENTION_DAYS", 180),
        "CHECKIN_MAX_FAILURES": _env_int("CHECKIN_MAX_FAILURES", 3),
        "CHECKIN_TTL_SECONDS": _env_int("CHECKIN_TTL_SECONDS", 300),
        "CHECKIN_CHALLENGES": _env_list("CHECKIN_CHALLENGES", ("turn_left", "turn_right", "blink")),
        # Face analyses wait their turn per process; one that would wait longer is refused with 503 face_busy.
        "ANALYSIS_MAX_WAIT_SECONDS": _env_float("ANALYSIS_MAX_WAIT_SECONDS", 20.0),
        "ANALYSIS_CONCURRENCY": _env_int("ANALYSIS_CONCURRENCY", 1),
        "RATELIMIT_STORAGE_URI": _env("RATELIMIT_STORAGE_URI", "memory://"),
        "LOGIN_RATE_LIMIT": _env("LOGIN_RATE_LIMIT", "10 per minute"),
        # The job queue (docs/scaling.md): embedded in a SQLite file by default, redis://HOST:PORT/DB for many hosts.
        "QUEUE_URL": _env("QUEUE_URL") or f"sqlite:///{data_dir / 'queue.sqlite3'}",
        "QUEUE_NAME": _env("QUEUE_NAME", "exam"),
        "JOB_LEASE_SECONDS": _env_float("JOB_LEASE_SECONDS", 60.0),
        "JOB_RECOVER_SECONDS": _env_float("JOB_RECOVER_SECONDS", 15.0),
        "JOB_REQUEUE_SECONDS": _env_float("JOB_REQUEUE_SECONDS", 600.0),
        "JOB_MAX_ATTEMPTS": _env_int("JOB_MAX_ATTEMPTS", 5),
        "JOB_CHUNK_PHOTOS": _env_int("JOB_CHUNK_PHOTOS", 20),
        "IMPORT_JOB_ROWS": _env_int("IMPORT_JOB_ROWS", 20000),  # a confirmed import above this is a queued job
        "SWEEP_SECONDS": _env_float("SWEEP_SECONDS", 15.0),
        "EVIDENCE_PURGE_SECONDS": _env_float("EVIDENCE_PURGE_SECONDS", 3600.0),
        # How stale this process's view of the 1:N index may be: other hosts' enrolments are replayed this often.
        "INDEX_SYNC_SECONDS": _env_float("INDEX_SYNC_SECONDS", 1.0),
        # The bureau's calendar day (certificates, filters, months, file names): exam_server/localday.py.
        "TIMEZONE": _env("TIMEZONE", localday.DEFAULT_ZONE),
    }


def validate(config: dict) -> None:
    """Refuse settings that would make the server unsafe or cannot work."""
    from exam_server.face.liveness import CHALLENGES

    try:
        localday.load_zone(config.get("TIMEZONE", localday.DEFAULT_ZONE))
    except ValueError as exc:
        raise ConfigError(f"{PREFIX}TIMEZONE: {exc}") from None
    unknown = set(config.get("CHECKIN_CHALLENGES", ())) - set(CHALLENGES)
    if unknown or not config.get("CHECKIN_CHALLENGES", CHALLENGES):
        raise ConfigError(f"{PREFIX}CHECKIN_CHALLENGES takes a comma-separated subset of {', '.join(CHALLENGES)}")
    if not config.get("ANALYSIS_MAX_WAIT_SECONDS", 1) > 0 or not config.get("ANALYSIS_CONCURRENCY", 1) >= 1:
        raise ConfigError(
            f"{PREFIX}ANALYSIS_MAX_WAIT_SECONDS must be above 0 and {PREFIX}ANALYSIS_CONCURRENCY at least 1"
        )
    if not str(config.get("QUEUE_URL", "immediate")).startswith(QUEUE_SCHEMES):
        raise ConfigError(f"{PREFIX}QUEUE_URL must start with one of {', '.join(QUEUE_SCHEMES)}")
    if not config.get("JOB_LEASE_SECONDS", 60) >= 2 or not config.get("JOB_CHUNK_PHOTOS", 20) >= 1:
        raise ConfigError(f"{PREFIX}JOB_LEASE_SECONDS must be at least 2 and {PREFIX}JOB_CHUNK_PHOTOS at least 1")
    if not config.get("SECRET_KEY"):
        if config.get("ENV_NAME") == "production" and not config.get("TESTING"):
            raise ConfigError(
                f"{PREFIX}SECRET_KEY (or {PREFIX}SECRET_KEY_FILE) must be set in production; "
                f"for a local trial run `exam-server demo`, which creates one"
            )
        raise ConfigError(f"{PREFIX}SECRET_KEY is not set")
