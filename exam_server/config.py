"""Configuration read from environment variables prefixed ``EXAM_``."""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path
from typing import overload

from exam_server import localday

PREFIX = "EXAM_"
QUEUE_SCHEMES = ("sqlite:///", "redis://", "rediss://", "unix://", "immediate")


class ConfigError(RuntimeError):
    """Raise when the environment cannot produce a safe configuration."""


@overload
def _env(name: str, default: str) -> str: ...
@overload
def _env(name: str, default: None = None) -> str | None: ...
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


def _read_secret_named(name: str) -> str | None:
    """Return the secret EXAM_<name>, or the contents of the file EXAM_<name>_FILE names."""
    if value := _env(name):
        return value
    path = _env(f"{name}_FILE")
    if not path:
        return None
    try:
        return Path(path).read_text().strip() or None
    except OSError as exc:
        raise ConfigError(f"cannot read {PREFIX}{name}_FILE {path}: {exc.strerror}") from exc


def _env_bool(name: str, default: bool) -> bool:
    raw = (_env(name) or "").strip().lower()
    if not raw:
        return default
    if raw in ("1", "true", "yes", "on"):
        return True
    if raw in ("0", "false", "no", "off"):
        return False
    raise ConfigError(f"{PREFIX}{name} must be true or false, got {raw!r}")


def certificate_and_reminder_settings() -> dict:
    """Read the certificate document, verification and reminder settings (docs/certificates.md)."""
    return {
        # The public address the certificate's QR code and the kiosk's verify_url point to, e.g. https://aq.example.cn
        "PUBLIC_BASE_URL": (_env("PUBLIC_BASE_URL") or "").rstrip("/") or None,
        "CERTIFICATE_AUTHORITY": (_env("CERTIFICATE_AUTHORITY") or "").strip(),
        "CERTIFICATE_SEAL_IMAGE": _env("CERTIFICATE_SEAL_IMAGE"),
        "CERTIFICATE_PAGE_SIZE": (_env("CERTIFICATE_PAGE_SIZE") or "a4").strip().lower(),
        "CERTIFICATE_SHOW_PHOTO": _env_bool("CERTIFICATE_SHOW_PHOTO", False),
        "CERTIFICATE_FONT": _env("CERTIFICATE_FONT", "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc"),
        "CERTIFICATE_RENEWAL_DAYS": _env_int("CERTIFICATE_RENEWAL_DAYS", 90),
        "VERIFY_RATE_LIMIT": _env("VERIFY_RATE_LIMIT", "10 per minute;60 per hour"),
        "NOTIFY_CLOSING_DAYS": _env_int("NOTIFY_CLOSING_DAYS", 7),
        "NOTIFY_EXPIRY_DAYS": _env_int("NOTIFY_EXPIRY_DAYS", 30),
        "NOTIFY_REVIEW_WAIT_MINUTES": _env_int("NOTIFY_REVIEW_WAIT_MINUTES", 30),
        "NOTIFY_MAX_ATTEMPTS": _env_int("NOTIFY_MAX_ATTEMPTS", 5),
        "NOTIFY_RETRY_SECONDS": _env_int("NOTIFY_RETRY_SECONDS", 300),
        "SMS_GATEWAY_URL": _env("SMS_GATEWAY_URL"),
        "SMS_ACCESS_KEY_ID": _env("SMS_ACCESS_KEY_ID"),
        "SMS_ACCESS_KEY_SECRET": _read_secret_named("SMS_ACCESS_KEY_SECRET"),
        "SMS_SIGN_NAME": _env("SMS_SIGN_NAME"),
        "SMS_REGION": _env("SMS_REGION", "cn-hangzhou"),
        "SMS_TIMEOUT_SECONDS": _env_float("SMS_TIMEOUT_SECONDS", 10.0),
        "SMS_TEMPLATES": dict(
            pair.split("=", 1) for pair in _env_list("SMS_TEMPLATES", ()) if "=" in pair
        ),  # rule=TemplateCode,...
        "SMTP_HOST": _env("SMTP_HOST"),
        "SMTP_PORT": _env_int("SMTP_PORT", 25),
        "SMTP_SECURITY": (_env("SMTP_SECURITY") or "starttls").strip().lower(),  # starttls, ssl or none
        "SMTP_USERNAME": _env("SMTP_USERNAME"),
        "SMTP_PASSWORD": _read_secret_named("SMTP_PASSWORD"),
        "SMTP_FROM": _env("SMTP_FROM"),
        "SMTP_TIMEOUT_SECONDS": _env_float("SMTP_TIMEOUT_SECONDS", 20.0),
    }


def validate_certificates_and_reminders(config: dict) -> None:
    """Refuse certificate and reminder settings that cannot work."""
    size = config.get("CERTIFICATE_PAGE_SIZE", "a4")
    if size not in ("a4", "a5") and not _is_size_mm(size):
        raise ConfigError(f"{PREFIX}CERTIFICATE_PAGE_SIZE takes a4, a5 or a card size in millimetres such as 148x105")
    seal = config.get("CERTIFICATE_SEAL_IMAGE")
    if seal and not Path(seal).is_file():
        raise ConfigError(f"{PREFIX}CERTIFICATE_SEAL_IMAGE {seal} is not a file")
    if config.get("SMTP_SECURITY", "starttls") not in ("starttls", "ssl", "none"):
        raise ConfigError(f"{PREFIX}SMTP_SECURITY takes starttls, ssl or none")
    if config.get("SMS_GATEWAY_URL") and not all(
        config.get(key) for key in ("SMS_ACCESS_KEY_ID", "SMS_ACCESS_KEY_SECRET", "SMS_SIGN_NAME")
    ):
        raise ConfigError(
            f"{PREFIX}SMS_GATEWAY_URL needs {PREFIX}SMS_ACCESS_KEY_ID, {PREFIX}SMS_ACCESS_KEY_SECRET and {PREFIX}SMS_SIGN_NAME"
        )
    if config.get("SMTP_HOST") and not config.get("SMTP_FROM"):
        raise ConfigError(f"{PREFIX}SMTP_HOST needs {PREFIX}SMTP_FROM (the sender address)")
    for key in (
        "NOTIFY_CLOSING_DAYS",
        "NOTIFY_EXPIRY_DAYS",
        "NOTIFY_MAX_ATTEMPTS",
        "CERTIFICATE_RENEWAL_DAYS",
        "PIN_WINDOW_SECONDS",
        "KIOSK_PRACTICE_IDLE_SECONDS",
    ):
        if config.get(key, 1) < 1:
            raise ConfigError(f"{PREFIX}{key} must be at least 1")


def _is_size_mm(size: str) -> bool:
    width, _, height = size.partition("x")
    try:
        return 50 <= float(width) <= 420 and 50 <= float(height) <= 420
    except ValueError:
        return False


def face_settings() -> dict:
    """Read the face engine's EXAM_FACE_* settings (docs/face.md) as FACE_* keys, each field with its default."""
    from exam_server.face.settings import FaceSettings

    try:
        parsed = FaceSettings.from_env()
    except ValueError as exc:
        raise ConfigError(str(exc)) from None
    return {f"FACE_{field.name.upper()}": getattr(parsed, field.name) for field in dataclasses.fields(parsed)}


def security_settings() -> dict:
    """Read the rate limits, proxy hops and cookie flags (docs/security.md)."""
    secure = _env("SECURE_COOKIES")
    return {
        # Counters shared by all processes: the application's database unless Redis is named (redis://HOST:6379/DB).
        "RATELIMIT_STORAGE_URI": _env("RATELIMIT_STORAGE_URI", "database://"),
        "LOGIN_RATE_LIMIT": _env("LOGIN_RATE_LIMIT", "10 per minute;50 per hour"),  # failures per address
        "LOGIN_ACCOUNT_RATE_LIMIT": _env("LOGIN_ACCOUNT_RATE_LIMIT", "5 per minute;20 per hour"),  # per account+address
        "LOGIN_ACCOUNT_CEILING": _env("LOGIN_ACCOUNT_CEILING", "100 per hour"),  # per account, all addresses
        "API_RATE_LIMIT": _env("API_RATE_LIMIT", "600 per minute"),  # per kiosk token
        "API_ANONYMOUS_RATE_LIMIT": _env("API_ANONYMOUS_RATE_LIMIT", "60 per minute"),  # per address, no valid token
        "PROXY_HOPS": _env_int("PROXY_HOPS", 0),
        # None: Secure cookies and HSTS in production, not in development; false for a plain-HTTP demo.
        "SECURE_COOKIES": None if secure is None or not secure.strip() else _env_bool("SECURE_COOKIES", True),
    }


RATE_LIMIT_SETTINGS = (
    "LOGIN_RATE_LIMIT",
    "LOGIN_ACCOUNT_RATE_LIMIT",
    "LOGIN_ACCOUNT_CEILING",
    "API_RATE_LIMIT",
    "API_ANONYMOUS_RATE_LIMIT",
)


def validate_security(config: dict) -> None:
    """Refuse rate limits that do not parse and a negative number of proxy hops."""
    from limits import parse_many

    for key in RATE_LIMIT_SETTINGS:
        try:
            if key in config and not parse_many(config[key]):
                raise ValueError("empty")
        except ValueError:
            raise ConfigError(
                f'{PREFIX}{key} takes limits such as "10 per minute;50 per hour", got {config[key]!r}'
            ) from None
    if config.get("PROXY_HOPS", 0) < 0:
        raise ConfigError(f"{PREFIX}PROXY_HOPS is the number of reverse proxies in front of the server (0 or more)")


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
        # After a sitting is submitted, its kiosk may set the worker's practice PIN for this long (the result screen).
        "PIN_WINDOW_SECONDS": _env_int("PIN_WINDOW_SECONDS", 600),
        # A kiosk's practice visit (/worker/kiosk) signs the worker out after this long without a touch.
        "KIOSK_PRACTICE_IDLE_SECONDS": _env_int("KIOSK_PRACTICE_IDLE_SECONDS", 120),
        "CHECKIN_CHALLENGES": _env_list("CHECKIN_CHALLENGES", ("turn_left", "turn_right", "blink", "open_mouth")),
        # Moves per check-in challenge (docs/security.md: 3 makes a recording fail the next check-in 97% of the time).
        "CHECKIN_CHALLENGE_STEPS": _env_int("CHECKIN_CHALLENGE_STEPS", 3),
        # Hash bits (of 256) within which a kiosk frame is a copy of an earlier one (exam_server/face/replay.py);
        # -1 turns the replay check off, only for test videos made of a few still photos.
        "REPLAY_MAX_BITS": _env_int("REPLAY_MAX_BITS", 40),
        # Face analyses wait their turn per process; one that would wait longer is refused with 503 face_busy.
        "ANALYSIS_MAX_WAIT_SECONDS": _env_float("ANALYSIS_MAX_WAIT_SECONDS", 20.0),
        "ANALYSIS_CONCURRENCY": _env_int("ANALYSIS_CONCURRENCY", 1),
        **security_settings(),
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
        **certificate_and_reminder_settings(),
        **face_settings(),
    }


def validate(config: dict) -> None:
    """Refuse settings that would make the server unsafe or cannot work."""
    from exam_server.face.liveness import CHALLENGES

    try:
        localday.load_zone(config.get("TIMEZONE", localday.DEFAULT_ZONE))
    except ValueError as exc:
        raise ConfigError(f"{PREFIX}TIMEZONE: {exc}") from None
    validate_certificates_and_reminders(config)
    validate_security(config)
    unknown = set(config.get("CHECKIN_CHALLENGES", ())) - set(CHALLENGES)
    if unknown or not config.get("CHECKIN_CHALLENGES", CHALLENGES):
        raise ConfigError(f"{PREFIX}CHECKIN_CHALLENGES takes a comma-separated subset of {', '.join(CHALLENGES)}")
    steps = config.get("CHECKIN_CHALLENGE_STEPS", 3)
    if steps not in (1, 2, 3) or (steps > 1 and len(set(config.get("CHECKIN_CHALLENGES", CHALLENGES))) < 2):
        raise ConfigError(f"{PREFIX}CHECKIN_CHALLENGE_STEPS must be 1, 2 or 3 (2 or 3 need two moves or more)")
    if not -1 <= config.get("REPLAY_MAX_BITS", 40) <= 100:
        raise ConfigError(f"{PREFIX}REPLAY_MAX_BITS must be between 0 and 100 (or -1: no replay check)")
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
