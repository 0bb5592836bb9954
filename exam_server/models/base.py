"""Declarative base shared by every model."""

from __future__ import annotations

import enum
from datetime import UTC, datetime
from typing import TYPE_CHECKING, ClassVar

from sqlalchemy import JSON, DateTime, Enum, MetaData, Table
from sqlalchemy.orm import DeclarativeBase, registry
from sqlalchemy.types import TypeDecorator

from exam_server.localday import utcnow

__all__ = ["N_", "Base", "DomainError", "UTCDateTime", "enum_column", "utcnow"]

# Stable constraint names keep Alembic migrations identical on SQLite and PostgreSQL.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator):
    """Store UTC and always read back an aware datetime (SQLite drops the zone otherwise)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is not None and value.tzinfo is not None:
            value = value.astimezone(UTC)
            if dialect.name == "sqlite":
                value = value.replace(tzinfo=None)
        return value

    def process_result_value(self, value, dialect):
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value


class Base(DeclarativeBase):
    registry = registry(
        metadata=MetaData(naming_convention=NAMING_CONVENTION),
        type_annotation_map={datetime: UTCDateTime(), dict: JSON, list: JSON},
    )

    if TYPE_CHECKING:
        # Every model maps one Table (none maps a join or a select), the type Core's insert() takes.
        __table__: ClassVar[Table]


def N_(message: str) -> str:
    """Mark a message for the catalogue (pybabel -k N_) and return it untranslated."""
    return message


class DomainError(ValueError):
    """Raise when data breaks a business rule; the message is shown to the user.

    The message is a Chinese msgid marked with N_() whose values are named (%(name)s) and passed as keywords:
    str() is the Chinese text (API, worker pages, CLI, logs), i18n.error_text() the console user's language.
    """

    def __init__(self, message: str, **params: object) -> None:
        self.msgid = message
        self.params = params
        super().__init__(message % params if params else message)


def enum_column(enum_cls: type[enum.Enum]) -> Enum:
    """Store an enum by value, as a portable VARCHAR with a CHECK constraint."""
    return Enum(
        enum_cls,
        values_callable=lambda e: [m.value for m in e],
        native_enum=False,
        create_constraint=True,
        length=24,
        name=enum_cls.__name__.lower(),
    )
