"""Register kiosks, issue and check their device tokens, and disable them."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from sqlalchemy import select

from exam_server.database import DbSession
from exam_server.models import N_, DomainError, Kiosk, utcnow
from exam_server.services import audit

# Writing last_seen on every 5-second clock poll would turn reads into writes; once a minute is enough.
LAST_SEEN_RESOLUTION = timedelta(seconds=60)


class KioskAuthError(Exception):
    """Refuse a request whose kiosk token is missing, unknown or disabled."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


def hash_token(token: str) -> str:
    """Return the SHA-256 hex digest under which a token is stored."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _new_token() -> str:
    return secrets.token_urlsafe(32)


def register(
    session: DbSession, name: str, *, location: str = "", county_id: int | None = None, user_id: int | None = None
) -> tuple[Kiosk, str]:
    """Create a kiosk and return it with its token; the token is not kept and cannot be shown again."""
    name = (name or "").strip()
    if not 1 <= len(name) <= 64:
        raise DomainError(N_("终端名称须为1-64个字符"))
    if session.scalar(select(Kiosk.id).where(Kiosk.name == name)):
        raise DomainError(N_("终端%(name)s已存在"), name=name)
    token = _new_token()
    kiosk = Kiosk(
        name=name, location=location, county_id=county_id, token_hash=hash_token(token), token_prefix=token[:8]
    )
    session.add(kiosk)
    session.flush()
    audit.record(
        session,
        "kiosk_registered",
        target=kiosk,
        user_id=user_id,
        detail={"name": name, "token_prefix": kiosk.token_prefix},
    )
    return kiosk, token


def reissue_token(session: DbSession, kiosk: Kiosk, *, user_id: int | None = None) -> str:
    """Replace a kiosk's token (the old one stops working at once) and return the new one."""
    token = _new_token()
    kiosk.token_hash, kiosk.token_prefix = hash_token(token), token[:8]
    audit.record(
        session, "kiosk_token_reissued", target=kiosk, user_id=user_id, detail={"token_prefix": kiosk.token_prefix}
    )
    return token


def set_enabled(session: DbSession, kiosk: Kiosk, enabled: bool, *, user_id: int | None = None) -> None:
    """Enable or disable a kiosk; a disabled kiosk's requests are refused."""
    if kiosk.enabled == enabled:
        return
    kiosk.enabled = enabled
    audit.record(
        session,
        "kiosk_enabled" if enabled else "kiosk_disabled",
        target=kiosk,
        user_id=user_id,
        detail={"name": kiosk.name},
    )


def by_name(session: DbSession, name: str) -> Kiosk:
    """Return the kiosk with this name or raise DomainError."""
    kiosk = session.scalar(select(Kiosk).where(Kiosk.name == name))
    if kiosk is None:
        raise DomainError(N_("没有名为%(name)s的终端"), name=name)
    return kiosk


def authenticate(session: DbSession, token: str | None) -> Kiosk:
    """Return the enabled kiosk owning this token or raise KioskAuthError."""
    if not token or len(token) > 128:
        raise KioskAuthError("kiosk_unauthorized")
    # Looking up by hash means a wrong token reveals nothing through timing about stored ones.
    kiosk = session.scalar(select(Kiosk).where(Kiosk.token_hash == hash_token(token)))
    if kiosk is None:
        raise KioskAuthError("kiosk_unauthorized")
    if not kiosk.enabled:
        raise KioskAuthError("kiosk_disabled")
    return kiosk


def touch(session: DbSession, kiosk: Kiosk, now: datetime | None = None) -> bool:
    """Record that the kiosk was seen, at most once a minute; return whether a write happened."""
    now = now or utcnow()
    if kiosk.last_seen_at is not None and now - kiosk.last_seen_at < LAST_SEEN_RESOLUTION:
        return False
    kiosk.last_seen_at = now
    return True
