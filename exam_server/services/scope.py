"""Limit queries to what a console user may see."""

from __future__ import annotations

from sqlalchemy import Select, false

from exam_server.models import Enterprise, Role, User


def enterprise_filter(user: User, stmt: Select, enterprise_id_column, county_id_column=None) -> Select:
    """Restrict ``stmt`` to rows inside the user's county or enterprise.

    ``county_id_column`` may be omitted when the statement already joins Enterprise.
    """
    if user.role is Role.CITY:
        return stmt
    if user.role is Role.COUNTY:
        column = county_id_column if county_id_column is not None else Enterprise.county_id
        return stmt.where(column == user.county_id)
    if user.role is Role.ENTERPRISE:
        return stmt.where(enterprise_id_column == user.enterprise_id)
    return stmt.where(false())


def can_see_enterprise(user: User, enterprise: Enterprise) -> bool:
    """Tell whether the user's scope includes this enterprise."""
    if user.role is Role.CITY:
        return True
    if user.role is Role.COUNTY:
        return enterprise.county_id == user.county_id
    if user.role is Role.ENTERPRISE:
        return enterprise.id == user.enterprise_id
    return False
