"""Simulated workers on their phones: sign in with citizen ID and PIN, then practise one question at a time."""

from __future__ import annotations

import asyncio
import html
import random
import re
import time
from collections import Counter
from dataclasses import dataclass, field
from urllib.parse import unquote

import aiohttp
from load_kiosk import require_loopback

_CSRF = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')
_HIDDEN = re.compile(r'<input type="hidden" name="(code|seed|mode|key)" value="([^"]*)"')
_CHOICE = re.compile(r'<input type="(radio|checkbox)" name="choice" value="([A-F])"')
_CATEGORY = re.compile(r'href="/worker/practice/question\?category=([^"]+)"')
_VERDICT = re.compile(r'class="verdict (right|wrong)"')


@dataclass
class PracticeStats:
    """Each request's (start since t0, seconds, status), the answers acknowledged and what went wrong."""

    t0: float = field(default_factory=time.monotonic)
    samples: dict[str, list[tuple[float, float, int]]] = field(default_factory=dict)
    errors: Counter = field(default_factory=Counter)
    acked: dict[str, int] = field(default_factory=dict)  # idempotency key -> worker id
    verdicts: Counter = field(default_factory=Counter)
    signed_in: int = 0

    def record(self, name: str, started: float, seconds: float, status: int) -> None:
        self.samples.setdefault(name, []).append((started - self.t0, seconds, status))
        if status >= 500 or status == 0:
            self.errors[(name, status)] += 1


class PractisingWorker:
    """One worker: signs in, picks a category and answers question after question until the deadline."""

    def __init__(
        self,
        http: aiohttp.ClientSession,
        base: str,
        worker: tuple[int, str],
        pin: str,
        stats: PracticeStats,
        rng: random.Random,
        deadline: float,
        think: tuple[float, float],
        read: tuple[float, float],
    ) -> None:
        self.http, self.base, self.stats, self.rng = http, base, stats, rng
        self.worker_id, self.citizen_id = worker
        self.pin, self.deadline, self.think, self.read = pin, deadline, think, read

    async def call(self, name: str, method: str, path: str, **kwargs) -> tuple[int, str]:
        """Send one request, time it and return (status, body); status 0 means no answer."""
        started = time.monotonic()
        try:
            async with self.http.request(method, self.base + path, allow_redirects=False, **kwargs) as response:
                body = await response.text()
                status = response.status
        except (TimeoutError, aiohttp.ClientError) as exc:
            self.stats.errors[(name, type(exc).__name__)] += 1
            status, body = 0, ""
        self.stats.record(name, started, time.monotonic() - started, status)
        return status, body

    async def sleep(self, seconds: float) -> bool:
        left = self.deadline - time.monotonic()
        await asyncio.sleep(max(0.0, min(seconds, left)))
        return time.monotonic() < self.deadline

    async def run(self, delay: float) -> None:
        if not await self.sleep(delay) or not await self.sign_in():
            return
        status, body = await self.call("categories", "GET", "/worker/practice")
        categories = [unquote(html.unescape(c)) for c in _CATEGORY.findall(body)]
        if status != 200 or not categories:
            self.stats.errors[("categories", "none offered")] += 1
            return
        category = self.rng.choice(categories)
        while time.monotonic() < self.deadline:
            if not await self.practise_one(category):
                return

    async def sign_in(self) -> bool:
        status, body = await self.call("sign-in page", "GET", "/worker/login")
        token = _CSRF.search(body)
        if status != 200 or token is None:
            return False
        form = {"csrf_token": token.group(1), "citizen_id": self.citizen_id, "pin": self.pin}
        status, _ = await self.call("sign in", "POST", "/worker/login", data=form)
        if status != 302:
            self.stats.errors[("sign in", status)] += 1
            return False
        self.stats.signed_in += 1
        return True

    async def practise_one(self, category: str) -> bool:
        """Read a question, answer it, read the feedback; return whether to go on."""
        status, body = await self.call(
            "next question", "GET", "/worker/practice/question", params={"category": category}
        )
        token, hidden, choices = _CSRF.search(body), dict(_HIDDEN.findall(body)), _CHOICE.findall(body)
        if status != 200 or token is None or len(hidden) != 4 or not choices:
            self.stats.errors[("next question", f"status {status} or no form")] += 1
            return await self.sleep(self.rng.uniform(*self.think))
        if not await self.sleep(self.rng.uniform(*self.think)):
            return False
        letters = [letter for _, letter in choices]
        if choices[0][0] == "checkbox":
            picked = [c for c in letters if self.rng.random() < 0.5] or letters[:1]
        else:
            picked = [self.rng.choice(letters)]
        form = [("csrf_token", token.group(1)), *hidden.items(), *(("choice", c) for c in picked)]
        # A phone on a weak network sometimes sends the same answer twice: the key makes it one row.
        status, body = await self.call("answer", "POST", "/worker/practice/answer", data=form)
        verdict = _VERDICT.search(body)
        if status == 200 and verdict is not None:
            self.stats.acked[hidden["key"]] = self.worker_id
            self.stats.verdicts[verdict.group(1)] += 1
        elif status != 0:
            self.stats.errors[("answer", f"status {status} without a verdict")] += 1
        return await self.sleep(self.rng.uniform(*self.read))


async def drive(
    base: str,
    workers: list[tuple[int, str]],
    pin: str,
    *,
    ramp: float,
    duration: float,
    think: tuple[float, float],
    read: tuple[float, float],
    seed: int = 2,
) -> PracticeStats:
    """Sign every worker in over the ramp, let them practise until ramp + duration; return the stats."""
    require_loopback(base)
    stats = PracticeStats()
    deadline = stats.t0 + ramp + duration
    timeout = aiohttp.ClientTimeout(total=60)
    # Idle connections are dropped after 1 s, before gunicorn's 2 s keep-alive closes them under a request.
    connector = aiohttp.TCPConnector(limit=0, keepalive_timeout=1.0)
    rng = random.Random(seed)
    sessions = [
        # One cookie jar per worker (unsafe: cookies for an IP address), one shared pool of connections.
        aiohttp.ClientSession(
            timeout=timeout, connector=connector, connector_owner=False, cookie_jar=aiohttp.CookieJar(unsafe=True)
        )
        for _ in workers
    ]
    try:
        people = [
            PractisingWorker(http, base, w, pin, stats, random.Random(rng.random()), deadline, think, read)
            for http, w in zip(sessions, workers, strict=True)
        ]
        tasks = [asyncio.create_task(p.run(ramp * n / max(len(people), 1))) for n, p in enumerate(people)]
        done, pending = await asyncio.wait(tasks, timeout=ramp + duration + 90)
        for task in pending:
            task.cancel()
        for task in done:
            if task.exception() is not None:
                stats.errors[("worker", type(task.exception()).__name__)] += 1
    finally:
        for http in sessions:
            await http.close()
        await connector.close()
    return stats
