"""Rate-limit counters shared by every process and host that uses the same database."""

from __future__ import annotations

from sqlalchemy import Float, String
from sqlalchemy.orm import Mapped, mapped_column

from exam_server.models.base import Base


class RateLimitCounter(Base):
    """One fixed window of one limit: hits counted until ``expires_at`` (seconds since the epoch)."""

    __tablename__ = "rate_limit_counter"

    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    count: Mapped[int] = mapped_column(default=0)
    # Epoch seconds rather than a timestamp: the limits library speaks in them and no one reads this table.
    expires_at: Mapped[float] = mapped_column(Float, index=True)
