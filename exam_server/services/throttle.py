"""Rate limits shared by every process and host: login throttling and the kiosk API's per-token limit.

Every sign-in (the console's password, the worker's PIN, a worker's one-time code) goes through `attempt`.

Counters live where ``EXAM_RATELIMIT_STORAGE_URI`` says: ``redis://…`` (any scheme of the ``limits``
library) or, by default, ``database://``, a table in the application's own database, so that gunicorn's
processes on one host and hosts sharing a PostgreSQL count together without anything else to run.
"""

from __future__ import annotations

import hashlib
import math
import re
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Generic, TypeVar

from limits import RateLimitItem, parse_many
from limits.storage import Storage, storage_from_string
from limits.strategies import FixedWindowRateLimiter
from sqlalchemy import case, delete, select, text
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError

from exam_server.database import DbSession
from exam_server.models import RateLimitCounter

# Expired windows are deleted now and then, not on every hit, so a flood adds one write per request.
PURGE_EVERY = 500
_PLAIN_PART = re.compile(r"[0-9A-Za-z:._-]{1,64}")
T = TypeVar("T")


class DatabaseStorage(Storage):
    """Fixed-window counters in the ``rate_limit_counter`` table (SQLite or PostgreSQL)."""

    STORAGE_SCHEME = ["database"]

    def __init__(
        self, uri: str | None = None, wrap_exceptions: bool = False, engine: Callable[[], Engine] | None = None, **_
    ) -> None:
        super().__init__(uri, wrap_exceptions)
        # By default the engine of the Flask app serving the request: flask-limiter builds this storage from its
        # URI alone, and one storage then serves whichever app (tests build several) is current.
        self._engine = engine or _current_app_engine
        self._hits = 0

    @property
    def base_exceptions(self) -> type[Exception]:
        return SQLAlchemyError

    def incr(self, key: str, expiry: float, amount: int = 1) -> int:
        """Add ``amount`` to the key's window, opening a new window of ``expiry`` seconds when it ran out."""
        now = time.time()
        table = RateLimitCounter.__table__
        engine = self._engine()
        insert = postgresql_insert if engine.dialect.name == "postgresql" else sqlite_insert
        row = insert(table).values(key=key, count=amount, expires_at=now + expiry)
        # One statement, so concurrent hits from many processes never lose a count.
        stmt = row.on_conflict_do_update(
            index_elements=[table.c.key],
            set_={
                "count": case((table.c.expires_at <= now, amount), else_=table.c.count + amount),
                "expires_at": case((table.c.expires_at <= now, now + expiry), else_=table.c.expires_at),
            },
        ).returning(table.c.count)
        with engine.begin() as conn:
            count = conn.execute(stmt).scalar_one()
            self._hits += 1
            if self._hits % PURGE_EVERY == 0:
                conn.execute(delete(table).where(table.c.expires_at < now))
        return count

    def get(self, key: str) -> int:
        table = RateLimitCounter.__table__
        with self._engine().connect() as conn:
            count = conn.execute(
                select(table.c.count).where(table.c.key == key, table.c.expires_at > time.time())
            ).scalar_one_or_none()
        return count or 0

    def get_expiry(self, key: str) -> float:
        table = RateLimitCounter.__table__
        with self._engine().connect() as conn:
            expires = conn.execute(select(table.c.expires_at).where(table.c.key == key)).scalar_one_or_none()
        return max(expires or 0.0, time.time())

    def check(self) -> bool:
        try:
            with self._engine().connect() as conn:
                conn.execute(text("SELECT 1"))
            return True
        except SQLAlchemyError:
            return False

    def reset(self) -> int | None:
        with self._engine().begin() as conn:
            return conn.execute(delete(RateLimitCounter.__table__)).rowcount

    def clear(self, key: str) -> None:
        table = RateLimitCounter.__table__
        with self._engine().begin() as conn:
            conn.execute(delete(table).where(table.c.key == key))


def _current_app_engine() -> Engine:
    from flask import current_app

    return current_app.extensions["sqlalchemy"].engine


def open_storage(uri: str) -> Storage:
    """Return the counter storage ``uri`` names."""
    storage = storage_from_string(uri)
    if not isinstance(storage, Storage):  # an async+ scheme: the limiter here calls it synchronously
        raise ValueError(f"rate-limit storage {uri!r} is asynchronous; name a synchronous one")
    return storage


def parse_limits(value: str) -> list[RateLimitItem]:
    """Parse "10 per minute;50 per hour" into limits; raise ValueError on anything else."""
    return list(parse_many(value))


def key_part(value: str) -> str:
    """Return a counter key part: addresses as they are, anything else (a typed user name) hashed."""
    if _PLAIN_PART.fullmatch(value):
        return value
    return hashlib.sha256(value.encode("utf-8", "surrogatepass")).hexdigest()[:32]


class Throttle:
    """Count hits against sets of limits and say how long a caller must wait."""

    def __init__(self, storage: Storage, prefix: str = "exam") -> None:
        self.storage = storage
        self.window = FixedWindowRateLimiter(storage)
        self.prefix = prefix

    def _ids(self, name: str, parts: Iterable[str]) -> tuple[str, ...]:
        return (self.prefix, name, *(key_part(p) for p in parts))

    def wait(self, items: list[RateLimitItem], name: str, *parts: str) -> int:
        """Return the seconds until another hit is allowed (0 when it is), without counting one."""
        ids = self._ids(name, parts)
        waits = [self._reset_in(item, ids) for item in items if not self.window.test(item, *ids)]
        return max(waits, default=0)

    def hit(self, items: list[RateLimitItem], name: str, *parts: str) -> int:
        """Count a hit against every limit; return the seconds to wait when one is exceeded, else 0."""
        ids = self._ids(name, parts)
        waits = [self._reset_in(item, ids) for item in items if not self.window.hit(item, *ids)]
        return max(waits, default=0)

    def clear(self, items: list[RateLimitItem], name: str, *parts: str) -> None:
        ids = self._ids(name, parts)
        for item in items:
            self.window.clear(item, *ids)

    def _reset_in(self, item: RateLimitItem, ids: tuple[str, ...]) -> int:
        reset = self.window.get_window_stats(item, *ids).reset_time
        return max(1, math.ceil(reset - time.time()))


class LoginThrottle:
    """Failed logins counted per address, per account from one address, and per account from anywhere.

    Only failures count, and a user name is limited per (account, address) pair, so an attacker
    hammering one account from one address blocks that address (and that pair), never the account's
    owner logging in from another. The per-account ceiling across all addresses is looser: one address
    reaches at most its own pair limit, so only many addresses together can hit it (a distributed
    guess), and then the account waits out the window; that is the price of bounding such guessing.
    """

    def __init__(
        self,
        throttle: Throttle,
        per_address: list[RateLimitItem],
        per_account_address: list[RateLimitItem],
        per_account: list[RateLimitItem],
    ) -> None:
        self.throttle = throttle
        self.per_address = per_address
        self.per_account_address = per_account_address
        self.per_account = per_account

    def _keys(self, username: str, address: str):
        account = username.strip().lower()
        yield self.per_address, "login-address", (address,)
        yield self.per_account_address, "login-account-address", (account, address)
        yield self.per_account, "login-account", (account,)

    def wait(self, username: str, address: str) -> int:
        """Return the seconds this account must wait from this address (0: it may try now)."""
        return max((self.throttle.wait(items, name, *parts) for items, name, parts in self._keys(username, address)))

    def failed(self, username: str, address: str) -> None:
        for items, name, parts in self._keys(username, address):
            self.throttle.hit(items, name, *parts)

    def succeeded(self, username: str, address: str) -> None:
        """Forget this pair's failures: the owner's typos do not add up across successful logins."""
        self.throttle.clear(self.per_account_address, "login-account-address", username.strip().lower(), address)


@dataclass(frozen=True)
class Attempt(Generic[T]):
    """One sign-in attempt: the seconds to wait (nothing was tried), else what the check found (None: refused)."""

    wait: int = 0
    found: T | None = None


def attempt(
    session: DbSession,
    account: str,
    address: str,
    check: Callable[[], T | None],
    record: Callable[[T | None], object] | None = None,
) -> Attempt[T]:
    """Try one sign-in through the app's login throttle: wait, check, record, commit, count the outcome.

    The wait is read before the check, so a throttled guess learns nothing. `record` writes the audit row of
    the outcome. The view's transaction is committed here (a finished step, docs/architecture.md "Transactions"),
    before the counters are written on their own connection (on SQLite they would wait for this session's
    write lock): the audit row stands whatever the counting does. A success forgets this account's failures
    from this address; a failure counts.
    """
    from flask import current_app

    throttle: LoginThrottle = current_app.extensions["login_throttle"]
    wait = throttle.wait(account, address)
    if wait:
        return Attempt(wait)
    found = check()
    if record is not None:
        record(found)
    session.commit()
    if found:
        throttle.succeeded(account, address)
    else:
        throttle.failed(account, address)
    return Attempt(0, found)
