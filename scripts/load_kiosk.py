"""Simulated exam kiosks: check in with a real head-turn burst, answer, poll the clock, send captures, submit."""

from __future__ import annotations

import asyncio
import ipaddress
import random
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import aiohttp

FACE_ENDPOINTS = ("frames", "capture")
BUSY_SUFFIX = "(503 face_busy)"
BUSY_PATIENCE = 180.0  # kiosk_client.api.BUSY_PATIENCE: the load test does not import the kiosk client
# The consent a kiosk sends once the worker accepted its notice: the server's default evidence retention.
CONSENT = {"notice_version": "load-test", "retention_days": 180}


def is_busy(status: int, body: dict) -> bool:
    """Return whether the face pool turned the request away, to be sent again later (503 face_busy)."""
    return status == 503 and body.get("error") == "face_busy"


def require_loopback(url: str) -> None:
    """Refuse any target but this machine's loopback addresses."""
    host = urlsplit(url).hostname or ""
    if host != "localhost" and not ipaddress.ip_address(host).is_loopback:
        raise SystemExit(f"the load test only targets 127.0.0.1 / localhost, not {host}")


@dataclass
class Stats:
    """Every request's timing and outcome, the acknowledged answers and what the face checks decided."""

    t0: float = field(default_factory=time.monotonic)
    samples: dict[str, list[tuple[float, float, int, bool]]] = field(default_factory=dict)
    errors: Counter = field(default_factory=Counter)
    acked: dict[tuple[int, int], str] = field(default_factory=dict)
    decisions: Counter = field(default_factory=Counter)
    refusals: Counter = field(default_factory=Counter)
    face_inflight: int = 0
    last_checkin_done: float = 0.0
    sittings: list[int] = field(default_factory=list)
    submitted: int = 0
    # Per burst: seconds from its first send to its answer, face_busy waits and resends included (what a
    # worker at the kiosk waits), and whether it was answered at all (False: the kiosk gave up or time ran out).
    burst_waits: list[tuple[float, bool]] = field(default_factory=list)

    def record(
        self, endpoint: str, started: float, seconds: float, status: int, during_face: bool, busy: bool = False
    ) -> None:
        # Turned away before any analysis, a busy reply is timed apart so the endpoint's percentiles stay the analyses'.
        key = f"{endpoint} {BUSY_SUFFIX}" if busy else endpoint
        self.samples.setdefault(key, []).append((started - self.t0, seconds, status, during_face))
        if status >= 500 and not busy:  # face_busy is the pool's answer by design, not a failure
            self.errors[(endpoint, status)] += 1


class Kiosk:
    """One kiosk: takes workers from the shared queue and runs their exams until the pool or the time ends."""

    def __init__(
        self,
        http: aiohttp.ClientSession,
        routes: dict[str, str],
        token: str,
        frames: dict,
        stats: Stats,
        rng: random.Random,
        deadline: float,
        pace: tuple[float, float],
    ) -> None:
        self.http, self.routes, self.stats, self.rng = http, routes, stats, rng
        self.headers = {"Authorization": f"Bearer {token}"}
        self.frames, self.deadline, self.pace = frames, deadline, pace

    def _base(self, endpoint: str) -> str:
        return self.routes.get(endpoint, self.routes["default"])

    async def call(self, endpoint: str, method: str, path: str, **kwargs) -> tuple[int, dict]:
        """Send one request, time it and return (status, JSON body); status 0 means no answer."""
        face = endpoint in FACE_ENDPOINTS
        during_face = self.stats.face_inflight > 0
        self.stats.face_inflight += face
        started = time.monotonic()
        try:
            async with self.http.request(
                method, self._base(endpoint) + path, headers=self.headers, **kwargs
            ) as response:
                body = await response.json(content_type=None)
                status = response.status
        except (TimeoutError, aiohttp.ClientError, ValueError) as exc:
            self.stats.errors[(endpoint, type(exc).__name__)] += 1
            status, body = 0, {}
        finally:
            self.stats.face_inflight -= face
        busy = is_busy(status, body)
        self.stats.record(endpoint, started, time.monotonic() - started, status, during_face or face, busy)
        if 400 <= status < 500 or busy:
            self.stats.refusals[(endpoint, body.get("error"))] += 1
        return status, body

    async def sleep(self, seconds: float) -> bool:
        """Sleep unless the deadline comes first; return whether time remains."""
        left = self.deadline - time.monotonic()
        await asyncio.sleep(max(0.0, min(seconds, left)))
        return time.monotonic() < self.deadline

    async def run(self, queue: asyncio.Queue, delay: float, sittings: int) -> None:
        if not await self.sleep(delay):
            return
        for _ in range(sittings):
            if queue.empty() or time.monotonic() >= self.deadline:
                return
            sitting = await self.check_in(queue.get_nowait())
            if sitting is not None:
                await self.exam(sitting)

    async def check_in(self, citizen_id: str) -> dict | None:
        status, body = await self.call(
            "checkin", "POST", "/api/v1/checkins", json={"citizen_id": citizen_id, "consent": CONSENT}
        )
        if status != 201:
            return None
        challenge = body["challenge"]
        patience = time.monotonic() + BUSY_PATIENCE
        for _ in range(3):
            first_sent = time.monotonic()
            status, result = await self.send_burst(body, challenge)
            while is_busy(status, result) and time.monotonic() < patience:
                # As kiosk_client.api.patiently: the same burst again after the wait asked for, with jitter.
                if not await self.sleep(float(result.get("retry_after") or 5) * self.rng.uniform(1.0, 1.5)):
                    self.stats.burst_waits.append((time.monotonic() - first_sent, False))
                    return None
                status, result = await self.send_burst(body, challenge)
            answered = status != 0 and not is_busy(status, result)
            self.stats.burst_waits.append((time.monotonic() - first_sent, answered))
            self.stats.last_checkin_done = time.monotonic() - self.stats.t0
            if status == 200:
                self.stats.sittings.append(result["sitting"]["id"])
                return result["sitting"]
            if status != 422 or "challenge" not in result:
                return None
            challenge = result["challenge"]
        return None

    async def send_burst(self, checkin: dict, challenge: dict) -> tuple[int, dict]:
        form = aiohttp.FormData()
        form.add_field("checkin_token", checkin["checkin_token"])
        for n, frame in enumerate(self.frames[challenge["kind"]]):
            form.add_field("frames", frame, filename=f"{n}.jpg", content_type="image/jpeg")
        return await self.call("frames", "POST", f"/api/v1/checkins/{checkin['checkin_id']}/frames", data=form)

    async def exam(self, sitting: dict) -> None:
        done = asyncio.Event()
        poller = asyncio.create_task(self.poll(sitting["id"], done))
        try:
            for question in sitting["questions"]:
                if not await self.sleep(self.rng.uniform(*self.pace)):
                    return
                await self.answer(sitting["id"], question)
            status, _ = await self.call(
                "submit", "POST", f"/api/v1/sittings/{sitting['id']}/submit", json={"idempotency_key": uuid.uuid4().hex}
            )
            self.stats.submitted += status == 200
        finally:
            done.set()
            poller.cancel()

    async def answer(self, sitting_id: int, question: dict) -> None:
        letters = "ABCDEF"[: len(question["options"])]
        if question["type"] == "multiple":
            response = "".join(c for c in letters if self.rng.random() < 0.5) or letters[0]
        else:
            response = self.rng.choice(letters)
        status, body = await self.call(
            "answer",
            "PUT",
            f"/api/v1/sittings/{sitting_id}/answers/{question['item_no']}",
            json={"response": response, "idempotency_key": uuid.uuid4().hex},
        )
        if status == 200:
            self.stats.acked[(sitting_id, question["item_no"])] = body["response"]

    async def poll(self, sitting_id: int, done: asyncio.Event) -> None:
        """Read the clock every 5 s and answer a due capture with a real frame."""
        while not done.is_set() and await self.sleep(5.0):
            status, clock = await self.call("clock", "GET", f"/api/v1/sittings/{sitting_id}/clock")
            if status != 200 or not clock.get("capture"):
                continue
            form = aiohttp.FormData()
            form.add_field("nonce", clock["capture"]["nonce"])
            form.add_field(
                "frame", self.rng.choice(self.frames["capture"]), filename="frame.jpg", content_type="image/jpeg"
            )
            status, result = await self.call("capture", "POST", f"/api/v1/sittings/{sitting_id}/captures", data=form)
            if status == 200:
                self.stats.decisions[result["decision"]] += 1


async def drive(
    routes: dict[str, str],
    tokens: list[str],
    citizen_ids: list[str],
    frames: dict,
    *,
    duration: float,
    ramp: float,
    pace: tuple[float, float],
    sittings: int,
    seed: int = 1,
) -> Stats:
    """Run every kiosk against the server until all are done or the duration ends; return the stats."""
    for url in routes.values():
        require_loopback(url)
    stats = Stats()
    queue: asyncio.Queue = asyncio.Queue()
    for citizen_id in citizen_ids:
        queue.put_nowait(citizen_id)
    deadline = time.monotonic() + duration
    timeout = aiohttp.ClientTimeout(total=120)
    connector = aiohttp.TCPConnector(limit=0, force_close=False)
    async with aiohttp.ClientSession(timeout=timeout, connector=connector) as http:
        rng = random.Random(seed)
        kiosks = [
            Kiosk(http, routes, token, frames, stats, random.Random(rng.random()), deadline, pace) for token in tokens
        ]
        tasks = [
            asyncio.create_task(k.run(queue, ramp * n / max(len(kiosks), 1), sittings)) for n, k in enumerate(kiosks)
        ]
        done, pending = await asyncio.wait(tasks, timeout=duration + 150)
        for task in pending:
            task.cancel()
        for task in done:
            if task.exception() is not None:
                stats.errors[("kiosk", type(task.exception()).__name__)] += 1
    return stats
