"""Console accounts as administrators manage them: who may manage whom, create, deactivate, reset."""

from __future__ import annotations

import secrets
import string
from typing import Any

from sqlalchemy import Select, or_, select

from exam_server.database import DbSession
from exam_server.models import N_, AuditLog, County, DomainError, Enterprise, Role, User
from exam_server.services import audit, policy
from exam_server.services.admin import accounts, enterprise_picker

_ALPHABET = "".join(c for c in string.ascii_letters + string.digits if c not in "0OoIl1")


def manageable(actor: User) -> Select:
    """Return the users this administrator may manage, newest first."""
    stmt = select(User).outerjoin(Enterprise, Enterprise.id == User.enterprise_id).order_by(User.id.desc())
    return policy.account_filter(actor, stmt)


def find(session: DbSession, actor: User, user_id: int) -> User | None:
    """Return the user if this administrator may manage it."""
    return session.scalar(manageable(actor).where(User.id == user_id))


def generate_password(length: int = 14) -> str:
    """Return a random password with letters and digits and no look-alike characters."""
    while True:
        password = "".join(secrets.choice(_ALPHABET) for _ in range(length))
        if any(c.isdigit() for c in password) and any(c.isalpha() for c in password):
            return password


def create(
    session: DbSession,
    actor: User,
    *,
    username: str,
    display_name: str,
    role: Role | str,
    county_id: int | None = None,
    enterprise_code: str = "",
) -> tuple[User, str]:
    """Create an account within the actor's scope; return it with its generated first password."""
    role, county, enterprise = _scope(session, actor, role, county_id, enterprise_code)
    password = generate_password()
    user = accounts.create_user(
        session, username, password, role, county=county, enterprise=enterprise, display_name=display_name.strip()
    )
    audit.record(
        session,
        "user_created",
        target=user,
        user_id=actor.id,
        detail={
            "username": user.username,
            "role": role.value,
            "county_id": user.county_id,
            "enterprise_id": user.enterprise_id,
        },
    )
    return user, password


def _scope(
    session: DbSession, actor: User, role: Role | str, county_id: int | None, enterprise_text: str
) -> tuple[Role, County | None, Enterprise | None]:
    """Return the role, county and enterprise an account may get from this actor, or refuse them."""
    # A reviewer's county is their scope: one a county administrator makes works in that county.
    role = Role(role)
    county = enterprise = None
    county_id = policy.assigned_county(actor, county_id) if role in (Role.COUNTY, Role.REVIEWER) else None
    if county_id is not None or role is Role.COUNTY:
        county = session.get(County, county_id) if county_id else None
        if county is None:
            raise DomainError(N_("请选择区县"))
    if role is Role.ENTERPRISE:
        enterprise = enterprise_picker.resolve(session, actor, enterprise_text)
        if enterprise is None:
            raise DomainError(N_("请填写企业名称或统一社会信用代码"))
    refusal = policy.account_scope_error(actor, role, county_id, enterprise)
    if refusal:
        raise DomainError(refusal)
    return role, county, enterprise


def update(
    session: DbSession,
    actor: User,
    target: User,
    *,
    display_name: str,
    role: Role | str,
    county_id: int | None = None,
    enterprise_code: str = "",
) -> dict[str, list]:
    """Change an account's name, role and scope within the actor's scope; return the changes as {field: [old, new]}."""
    role, county, enterprise = _scope(session, actor, role, county_id, enterprise_code)
    new: dict[str, Any] = {
        "display_name": display_name.strip(),
        "role": role.value,
        "county_id": county.id if county else None,
        "enterprise_id": enterprise.id if enterprise else None,
    }
    old = {
        "display_name": target.display_name,
        "role": target.role.value,
        "county_id": target.county_id,
        "enterprise_id": target.enterprise_id,
    }
    changes = {key: [old[key], value] for key, value in new.items() if old[key] != value}
    if target.id == actor.id and changes.keys() - {"display_name"}:
        raise DomainError(N_("不能修改自己的角色或管理范围"))
    if not changes:
        return changes
    target.display_name, target.role = new["display_name"], role
    target.county_id, target.enterprise_id = new["county_id"], new["enterprise_id"]
    if changes.keys() - {"display_name"}:
        # What the account may see changes: its sessions end, so its next login starts in the new scope.
        target.session_version += 1
    audit.record(
        session,
        "user_updated",
        target=target,
        user_id=actor.id,
        detail={"username": target.username, "changes": changes},
    )
    return changes


def set_active(session: DbSession, actor: User, target: User, active: bool) -> None:
    """Deactivate (ending its sessions) or reactivate an account; nobody deactivates themselves."""
    if target.id == actor.id:
        raise DomainError(N_("不能停用自己的账号"))
    if target.active == active:
        return
    target.active = active
    if not active:
        target.session_version += 1
    audit.record(
        session,
        "user_activated" if active else "user_deactivated",
        target=target,
        user_id=actor.id,
        detail={"username": target.username},
    )


def reset_password(session: DbSession, actor: User, target: User) -> str:
    """Give the account a new random password (its sessions end) and return it to show once."""
    if target.id == actor.id:
        raise DomainError(N_("请在“修改密码”中修改自己的密码"))
    password = generate_password()
    accounts.set_password(target, password)
    audit.record(session, "user_password_reset", target=target, user_id=actor.id, detail={"username": target.username})
    return password


def audit_entries(actor: User) -> Select:
    """Return the audit entries the actor may read: all for the city, its own and its users' for a county."""
    stmt = select(AuditLog, User.username).outerjoin(User, User.id == AuditLog.user_id)
    if actor.role is Role.CITY:
        return stmt
    users = manageable(actor).with_only_columns(User.id).order_by(None)
    return stmt.where(or_(AuditLog.user_id == actor.id, AuditLog.user_id.in_(users)))
