"""Exam kiosks and their device tokens."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from exam_server.models.base import Base, utcnow


class Kiosk(Base):
    __tablename__ = "kiosk"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    location: Mapped[str] = mapped_column(String(128), default="")
    county_id: Mapped[int | None] = mapped_column(ForeignKey("county.id"), index=True)
    # SHA-256 of a 256-bit random token: a fast hash is enough for a secret with that much entropy.
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    token_prefix: Mapped[str] = mapped_column(String(8))  # shown in the console to tell tokens apart
    enabled: Mapped[bool] = mapped_column(default=True)
    last_seen_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
