"""Fixtures for the kiosk API: a plan requiring a worker, kiosks with tokens, real face frames."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import cv2
import numpy as np
import pytest

from exam_server.models import CheckIn, CheckInStatus, ExamPlan, ExamRequirement, PhotoSource, Sitting, Worker, utcnow
from exam_server.services.exam import kiosks, question_store, sittings
from exam_server.services.faces import face_service
from tests import factories

# A head turning to its left: different real photos of one person, as the face engine's own tests use.
TURN_LEFT = [
    "single/obama/obama1.jpg",
    "resolutions/obama-720p.jpg",
    "single/obama/obama3.jpg",
    "single/obama/obama4.jpg",
]
# What a kiosk sends once the worker accepted its notice (the test app keeps evidence the default 180 days).
CONSENT = {"notice_version": "test-notice", "retention_days": 180}
SMALL_RULESET = factories.small_ruleset("api-test", "接口测试试卷")


def jpeg(rgb: np.ndarray, quality: int = 90) -> bytes:
    ok, data = cv2.imencode(".jpg", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, quality])
    assert ok
    return data.tobytes()


# Where the person sits in the camera's picture at each filming, as a share of its width and height: a camera
# never films the same picture twice, and the server refuses a frame near-identical to one it has seen (or to
# the enrolled photo, filming 0) as a replay. Framings 1-6 are at least 100 of 256 hash bits from each other.
FRAMINGS = [(0, 0), (0.07, 0), (-0.07, 0), (0, 0.07), (0, -0.07), (0.07, 0.07), (-0.07, -0.07)]


def frame(faces_dir, path: str, side: int = 640, quality: int = 90, filming: int = 1) -> bytes:
    """Return a photo as a kiosk camera frame: about `side` pixels on its long side, framed as at `filming`, JPEG."""
    bgr = cv2.imread(str(faces_dir / path))
    factor = side / max(bgr.shape[:2])
    if factor < 1:
        bgr = cv2.resize(bgr, None, fx=factor, fy=factor, interpolation=cv2.INTER_AREA)
    height, width = bgr.shape[:2]
    fx, fy = FRAMINGS[filming]
    if fx or fy:
        shift = np.float32([[1, 0, fx * width], [0, 1, fy * height]])
        bgr = cv2.warpAffine(bgr, shift, (width, height), borderMode=cv2.BORDER_REPLICATE)
    return jpeg(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB), quality)


def turn_left(faces_dir, filming: int = 1) -> list[bytes]:
    """Return a turn-left burst as filmed at one visit (another filming number for another visit)."""
    return [frame(faces_dir, path, filming=filming) for path in TURN_LEFT]


@dataclass
class Exam:
    """A worker required by an open plan, and everything a visit needs."""

    worker: Worker
    plan: ExamPlan
    requirement: ExamRequirement
    world: object


def add_plan(session, workers, *, ruleset=None, max_attempts=2, face_policy=None, opens=-1, closes=30) -> ExamPlan:
    now = utcnow()
    plan = ExamPlan(
        name="2026年安全生产培训考试",
        ruleset=ruleset or SMALL_RULESET,
        max_attempts=max_attempts,
        opens_at=now + timedelta(days=opens),
        closes_at=now + timedelta(days=closes),
        face_policy=face_policy or {},
    )
    session.add(plan)
    session.flush()
    for worker in workers:
        enterprise = worker.enterprise
        session.add(
            ExamRequirement(
                plan_id=plan.id,
                worker_id=worker.id,
                enterprise_id=enterprise.id,
                county_id=enterprise.county_id,
                township_id=enterprise.township_id,
                industry_id=enterprise.industry_id,
            )
        )
    session.flush()
    return plan


@pytest.fixture()
def exam(db, world) -> Exam:
    question_store.load_bundled(db.session)
    worker = world.workers_a[0]
    plan = add_plan(db.session, world.workers_a)
    requirement = db.session.query(ExamRequirement).filter_by(plan_id=plan.id, worker_id=worker.id).one()
    db.session.commit()
    return Exam(worker, plan, requirement, world)


class KioskClient:
    """A test client that sends one kiosk's bearer token."""

    def __init__(self, app, token: str, kiosk_id: int) -> None:
        self.client = app.test_client()
        self.token = token
        self.id = kiosk_id

    def _headers(self, kwargs):
        headers = dict(kwargs.pop("headers", {}) or {})
        headers.setdefault("Authorization", f"Bearer {self.token}")
        return headers

    def get(self, url, **kwargs):
        return self.client.get(url, headers=self._headers(kwargs), **kwargs)

    def post(self, url, **kwargs):
        return self.client.post(url, headers=self._headers(kwargs), **kwargs)

    def put(self, url, **kwargs):
        return self.client.put(url, headers=self._headers(kwargs), **kwargs)


@pytest.fixture()
def make_kiosk(app, db):
    def _make(name: str = "兰山区考点1号机") -> KioskClient:
        kiosk, token = kiosks.register(db.session, name, location="兰山区应急管理局一楼")
        db.session.commit()
        return KioskClient(app, token, kiosk.id)

    return _make


@pytest.fixture()
def kiosk(make_kiosk) -> KioskClient:
    return make_kiosk()


@pytest.fixture()
def turn_only(app, monkeypatch):
    """Issue only single turn-left challenges: still photos can answer a turn honestly, never a blink."""
    monkeypatch.setitem(app.config, "CHECKIN_CHALLENGES", ("turn_left",))
    monkeypatch.setitem(app.config, "CHECKIN_CHALLENGE_STEPS", 1)


@pytest.fixture()
def enrolled(db, exam, faces_dir) -> Exam:
    """Enrol obama1 as the worker's photo."""
    face_service.enrol(
        db.session, exam.worker, (faces_dir / "single/obama/obama1.jpg").read_bytes(), PhotoSource.CONSOLE
    )
    db.session.commit()
    return exam


def open_sitting(db, exam: Exam, kiosk_id: int, now=None) -> Sitting:
    """Open a sitting through the real service, as a passed check-in does, without the face work."""
    now = now or utcnow()
    checkin = CheckIn(
        worker_id=exam.worker.id,
        plan_id=exam.plan.id,
        kiosk_id=kiosk_id,
        challenge="blink",
        token_hash=kiosks.hash_token(f"test-{now.timestamp()}-{exam.worker.id}"),
        status=CheckInStatus.PASSED,
        created_at=now,
        expires_at=now + timedelta(minutes=5),
    )
    db.session.add(checkin)
    db.session.flush()
    requirement = db.session.get(ExamRequirement, exam.requirement.id)
    sitting = sittings.start(db.session, checkin, requirement, kiosk_id, now)
    checkin.sitting_id = sitting.id
    db.session.commit()
    return sitting


def correct_response(sitting: Sitting, item_no: int) -> str:
    return sitting.paper["items"][item_no - 1]["answer"]


@pytest.fixture(autouse=True)
def fresh_face_index(app):
    """Start every test with an empty 1:N index, as the tables are emptied after each test."""
    yield
    for path in (Path(app.config["DATA_DIR"]) / "face").glob("*.faceidx"):
        path.unlink()
    face_service._indexes.clear()
