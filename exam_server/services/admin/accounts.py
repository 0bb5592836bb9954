"""Create console users, check passwords and change them."""

from __future__ import annotations

import functools

from sqlalchemy import select
from werkzeug.security import check_password_hash, generate_password_hash

from exam_server.database import DbSession
from exam_server.models import N_, County, DomainError, Enterprise, Role, User, utcnow

MIN_PASSWORD_LENGTH = 10
# The console's languages: the catalogue's locale code and the language's own name, in menu order.
CONSOLE_LOCALES = {"zh_Hans_CN": "中文", "en": "English"}


@functools.cache
def _dummy_hash() -> str:
    """Return a hash to check when the user does not exist, so both paths cost one hash check (made on first use)."""
    return generate_password_hash("not-a-real-password-but-costs-the-same")


def check_password_strength(password: str) -> None:
    """Refuse passwords too short or too simple to survive guessing."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise DomainError(N_("密码至少%(length)d位"), length=MIN_PASSWORD_LENGTH)
    if password.isdigit() or password.isalpha():
        raise DomainError(N_("密码须同时包含字母和数字"))


def create_user(
    session: DbSession,
    username: str,
    password: str,
    role: Role | str,
    *,
    county: County | None = None,
    enterprise: Enterprise | None = None,
    display_name: str = "",
) -> User:
    """Create a console user whose scope matches its role (a reviewer without a county works city-wide)."""
    role = Role(role)
    if role is Role.COUNTY and county is None:
        raise DomainError(N_("区县管理员必须指定区县"))
    if role is Role.ENTERPRISE and enterprise is None:
        raise DomainError(N_("企业管理员必须指定企业"))
    if session.scalar(select(User.id).where(User.username == username.strip())):
        raise DomainError(N_("用户名%(username)s已存在"), username=username)
    check_password_strength(password)
    user = User(
        username=username,
        display_name=display_name or username,
        role=role,
        password_hash=generate_password_hash(password),
        county_id=county.id if county and role in (Role.COUNTY, Role.REVIEWER) else None,
        enterprise_id=enterprise.id if enterprise and role is Role.ENTERPRISE else None,
    )
    session.add(user)
    session.flush()
    return user


def authenticate(session: DbSession, username: str, password: str) -> User | None:
    """Return the active user with these credentials, or None."""
    user = session.scalar(select(User).where(User.username == (username or "").strip()))
    if user is None:
        check_password_hash(_dummy_hash(), password or "")
        return None
    if not user.active or not check_password_hash(user.password_hash, password or ""):
        return None
    user.last_login_at = utcnow()
    return user


def set_password(user: User, password: str) -> None:
    """Change the password and end every session opened with the old one."""
    check_password_strength(password)
    user.password_hash = generate_password_hash(password)
    user.session_version += 1


def set_locale(user: User, locale: str) -> bool:
    """Set the console language a user chose; return whether it changed."""
    if locale not in CONSOLE_LOCALES:
        raise DomainError(N_("不支持的界面语言"))
    changed = user.locale != locale
    user.locale = locale
    return changed
