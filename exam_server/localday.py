"""The bureau's calendar: every instant that becomes a date becomes one in the bureau's zone.

Instants are stored and compared in UTC; a *day* (a certificate's issue date, an audit-log filter, a
month of statistics, a date in a file name, "today" for an age check) is always the bureau's local
day, Asia/Shanghai (UTC+8 all year) unless ``EXAM_TIMEZONE`` names another IANA zone. This module is
the one place that knows the zone; ``create_app`` sets it once from the configuration.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import overload
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

DEFAULT_ZONE = "Asia/Shanghai"

_zone: ZoneInfo = ZoneInfo(DEFAULT_ZONE)


def load_zone(name: str) -> ZoneInfo:
    """Return the IANA zone ``name`` or raise ValueError saying it is unknown."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"unknown time zone {name!r} (an IANA name such as {DEFAULT_ZONE})") from exc


def configure(name: str) -> None:
    """Make ``name`` the bureau's zone for this process."""
    global _zone
    _zone = load_zone(name)


def zone() -> ZoneInfo:
    """Return the bureau's zone."""
    return _zone


def utcnow() -> datetime:
    """Return the current instant as an aware UTC datetime."""
    return datetime.now(UTC)


def local(instant: datetime) -> datetime:
    """Return an aware instant as an aware datetime on the bureau's wall clock."""
    return instant.astimezone(_zone)


def local_date(instant: datetime) -> date:
    """Return the bureau's calendar date of an aware instant."""
    return instant.astimezone(_zone).date()


def today(now: datetime | None = None) -> date:
    """Return the bureau's date today (or at the instant ``now``)."""
    return local_date(now or utcnow())


def day_start(day: date) -> datetime:
    """Return the UTC instant at which the bureau's day ``day`` begins."""
    return datetime.combine(day, time.min, tzinfo=_zone).astimezone(UTC)


def day_bounds(first: date, last: date | None = None) -> tuple[datetime, datetime]:
    """Return the UTC half-open range [start, end) of the bureau's days ``first`` to ``last`` inclusive."""
    return day_start(first), day_start((last or first) + timedelta(days=1))


def month_bounds(month: str) -> tuple[datetime, datetime]:
    """Return the UTC half-open range of a bureau month "YYYY-MM"."""
    year, mon = int(month[:4]), int(month[5:7])
    return day_start(date(year, mon, 1)), day_start(date(year + mon // 12, mon % 12 + 1, 1))


def local_month(instant: datetime) -> str:
    """Return the bureau month "YYYY-MM" of an aware instant."""
    return instant.astimezone(_zone).strftime("%Y-%m")


def from_wall_clock(value: datetime | None) -> datetime | None:
    """Return a naive wall-clock time (as a form's datetime-local gives it) as an aware UTC instant."""
    return value.replace(tzinfo=_zone).astimezone(UTC) if value else None


@overload
def to_wall_clock(value: datetime) -> datetime: ...
@overload
def to_wall_clock(value: None) -> None: ...
@overload
def to_wall_clock(value: datetime | None) -> datetime | None: ...
def to_wall_clock(value: datetime | None) -> datetime | None:
    """Return an aware instant as a naive wall-clock time (for a datetime-local input or a spreadsheet)."""
    return value.astimezone(_zone).replace(tzinfo=None) if value else None


def format_local(value: datetime | None, fmt: str = "%Y-%m-%d %H:%M", empty: str = "—") -> str:
    """Return an aware instant written on the bureau's wall clock, or ``empty`` for None."""
    return value.astimezone(_zone).strftime(fmt) if value else empty


def utc_offset(at: datetime | None = None) -> timedelta:
    """Return the zone's offset from UTC at an instant (now by default)."""
    offset = (at or utcnow()).astimezone(_zone).utcoffset()
    return offset if offset is not None else timedelta(0)
