"""Write audit-log entries inside the caller's transaction."""

from __future__ import annotations

from typing import Any

from exam_server.database import DbSession
from exam_server.models import AuditLog


def record(
    session: DbSession,
    action: str,
    *,
    target: Any = None,
    detail: dict | None = None,
    user_id: int | None = None,
    kiosk_id: int | None = None,
    ip: str | None = None,
) -> AuditLog:
    """Add an audit entry for ``action`` on ``target``; it commits with the change it describes."""
    entry = AuditLog(
        action=action,
        target_type=getattr(target, "__tablename__", None) if target is not None else None,
        target_id=str(getattr(target, "id", "")) if target is not None else None,
        detail=detail or {},
        user_id=user_id,
        kiosk_id=kiosk_id,
        ip=ip,
    )
    session.add(entry)
    return entry
