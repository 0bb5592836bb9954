"""Real job workers (`exam-server worker` processes) on the embedded SQLite queue and on Redis."""

from __future__ import annotations

import io
import os
import re
import signal
import subprocess
import sys
import time
import uuid
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from exam_server import create_app
from tests.conftest import REPO

REDIS_URL = os.environ.get("EXAM_TEST_REDIS_URL", "redis://127.0.0.1:6379/2")  # this project's Redis database
PHOTOS = (
    "single/adams/adams1.jpg",
    "single/alex_lacamoire/alex2.jpg",
    "single/biden/biden1.jpg",
    "single/carell/carell1.jpg",
    "single/clapton/clapton1.jpg",
    "single/kit_harington/kit1.jpg",
    "single/lennon/lennon1.jpg",
    "single/obama/obama1.jpg",
)


def redis_absent(url: str = REDIS_URL) -> str | None:
    """Return None when Redis answers, else why not."""
    import redis

    try:
        redis.Redis.from_url(url, socket_connect_timeout=1).ping()
        return None
    except Exception as exc:  # any connection failure means "absent here"
        return f"Redis not reachable at {url}: {exc}"


@pytest.fixture(params=["embedded", "redis"])
def queue(request, tmp_path) -> Iterator[dict[str, str]]:
    """Yield the queue URL and a name unique to this test (its Redis key prefix), emptied afterwards."""
    name = f"exam-test-{uuid.uuid4().hex[:12]}"
    if request.param == "embedded":
        yield {"url": f"sqlite:///{tmp_path / 'queue.sqlite3'}", "name": name}
        return
    if reason := redis_absent():
        pytest.skip(reason)
    yield {"url": REDIS_URL, "name": name}
    import redis

    client = redis.Redis.from_url(REDIS_URL)
    for key in client.scan_iter(match=f"huey.*{re.sub('[^a-z0-9]', '', name)}*"):  # Huey keeps [a-z0-9] of it
        client.delete(key)


class Host:
    """One stand-in host: its own data folder, sharing the database and the queue with the others."""

    def __init__(self, root: Path, name: str, database_url: str, queue: dict[str, str], **settings: str) -> None:
        self.name = name
        self.data_dir = root / name
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.log = self.data_dir / "worker.log"
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("EXAM_") or k.startswith("EXAM_FACE_")}
        self.env.update(
            {
                "EXAM_SECRET_KEY": "test-secret",
                "EXAM_DATA_DIR": str(self.data_dir),
                "EXAM_DATABASE_URL": database_url,
                "EXAM_QUEUE_URL": queue["url"],
                "EXAM_QUEUE_NAME": queue["name"],
                "EXAM_JOB_LEASE_SECONDS": "3",
                "EXAM_JOB_RECOVER_SECONDS": "1",
                "EXAM_SWEEP_SECONDS": "0",
                "EXAM_EVIDENCE_PURGE_SECONDS": "0",
                "EXAM_INDEX_SYNC_SECONDS": "0",
            }
            | settings
        )
        self.process: subprocess.Popen | None = None
        self.config = {
            "TESTING": True,
            "SECRET_KEY": "test-secret",
            "SQLALCHEMY_DATABASE_URI": database_url,
            "DATA_DIR": str(self.data_dir),
            "QUEUE_URL": queue["url"],
            "QUEUE_NAME": queue["name"],
            "INDEX_SYNC_SECONDS": 0,
        }

    def app(self):
        """Return an app of this host (the web side: queues jobs, searches its own index files)."""
        return create_app(self.config)

    def start_worker(self, processes: int = 1) -> None:
        with open(self.log, "ab") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "exam_server.cli", "worker", "--processes", str(processes)],
                cwd=REPO,
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group: killed whole, children included
            )
        wait_until(lambda: "Huey consumer started" in self.output(), 60, f"worker of {self.name} did not start")

    def kill(self) -> None:
        """Kill the worker and its processes at once (SIGKILL: no chance to finish or clean up)."""
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=30)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGINT)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.kill()

    def output(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""


def wait_until(condition, timeout: float, message: str, every: float = 0.05):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if value := condition():
            return value
        time.sleep(every)
    raise AssertionError(message)


@pytest.fixture()
def make_host(tmp_path, database_url, queue, db):
    """Return a function making stand-in hosts on the test database and queue; their workers die after the test."""
    made: list[Host] = []

    def make(name: str, **settings: str) -> Host:
        host = Host(tmp_path, name, database_url, queue, **settings)
        made.append(host)
        return host

    yield make
    for host in made:
        host.kill()


def photo_zip(faces_dir: Path, workers, photos=PHOTOS) -> bytes:
    """Return a ZIP of real photos named by the workers' citizen IDs."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for worker, photo in zip(workers, photos, strict=False):
            archive.writestr(f"{worker.citizen_id}{Path(photo).suffix}", (faces_dir / photo).read_bytes())
    return buffer.getvalue()
