"""Faces of a generated city: synthetic templates of every model, their 1:N indexes, and checks and alerts."""

from __future__ import annotations

import logging
import secrets
from datetime import timedelta
from typing import TYPE_CHECKING

import numpy as np

from exam_server.database import DbSession
from exam_server.face.errors import reason_zh
from exam_server.models import (
    N_,
    CheckIn,
    CheckInStatus,
    CheckKind,
    Decision,
    FaceCheck,
    FacePhoto,
    FaceTemplate,
    PhotoSource,
    RequirementStatus,
    ReviewCase,
    ReviewKind,
    ReviewStatus,
    summary_fields,
)

if TYPE_CHECKING:
    from exam_server.demo.city_history import History
    from exam_server.demo.city_rows import City, Loader
    from exam_server.face.models import EmbeddingModel

log = logging.getLogger(__name__)
TEMPLATE_CHUNK = 50_000
TEMPLATE_CENTRE_SEED = 12345
# Per metric: (spread of the fixed centre, spread of each worker around it, unit length), per dimension.
# Euclidean (dlib): the spread of real dlib embeddings; two synthetic workers lie about 0.9 apart, as two
# real different people do (measured on the shared photos: 0.82 median). Cosine (SFace): unit vectors, as
# SFace returns them, with cosine distance about 0.88 between two workers (SFace's impostor mean there).
SYNTHETIC = {"euclidean": (0.1176, 0.055, False), "cosine": (0.369, 1.0, True)}
CASE_KINDS = {
    "borderline": 35,
    "multiple_faces": 20,
    "in_exam_mismatch": 20,
    "checkin_refused": 15,
    "duplicate_enrolment": 10,
}
REASONS = {
    ReviewStatus.DISMISSED: (
        "现场核实为考生本人，光线不足导致比对偏差",
        "调取监控确认为本人，误报",
        "考生佩戴眼镜导致距离偏大，已核实",
    ),
    ReviewStatus.CONFIRMED: ("监控显示非本人作答，已通知企业", "核实为他人代考，已登记处理"),
}


def model_identity():
    """Return the configured face model and settings (the app's when there is one)."""
    from flask import has_app_context

    from exam_server.face import FaceSettings
    from exam_server.face.models import get_model

    if has_app_context():
        from exam_server.services.faces import face_service

        settings = face_service.settings()
    else:
        settings = FaceSettings()
    return get_model(settings.model, settings.flip_average), settings


def template_models() -> list[EmbeddingModel]:
    """Return every model the engine embeds with, the primary one first: fusion wants a template of each."""
    from exam_server.face.models import load_model

    primary, settings = model_identity()
    models = [primary]
    for name in settings.extra_models:
        try:
            model = load_model(name, settings.allow_noncommercial_models, settings.flip_average)
        except (FileNotFoundError, PermissionError, ValueError) as exc:  # weights absent, other or not allowed
            log.warning("generating no %s templates: %s", name, exc)
            continue
        if model.key not in {m.key for m in models}:
            models.append(model)
    return models


def synthetic_vectors(model: EmbeddingModel, centre: np.ndarray, draw: np.random.Generator, count: int) -> np.ndarray:
    """Return count workers' synthetic vectors for a model, as its real templates are stored (float32)."""
    _, spread, unit = SYNTHETIC[model.metric]
    vectors = centre + draw.normal(0.0, spread, (count, model.dim))
    if unit:
        vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors.astype("<f4")


def _stream(seed: int, n: int) -> np.random.Generator:
    # The primary model keeps the stream it always had, so adding models does not change its vectors.
    return np.random.default_rng(seed if n == 0 else [seed, n])


def make(session: DbSession, city: City, history: History) -> None:
    """Choose the workers with templates and make the checks, check-ins and review cases."""
    from exam_server.demo.city_rows import next_id

    rng, share = city.rng, city.scale.template_share
    workers = [w["id"] for w in city.workers]
    history.template_workers = workers if share >= 1 else sorted(rng.sample(workers, round(share * len(workers))))
    history.template_models = len(template_models())
    first = next_id(session, FaceTemplate)
    Alerts(session, city, history, {w: first + i for i, w in enumerate(history.template_workers)}).make()


class Alerts:
    """Build face checks, check-ins and review cases that tell a consistent story."""

    def __init__(self, session: DbSession, city: City, history: History, template_of: dict[int, int]) -> None:
        from exam_server.demo.city_rows import next_id

        self.rng, self.city, self.history, self.template_of = city.rng, city, history, template_of
        self.model, self.settings = model_identity()
        self.ids = {
            "check": next_id(session, FaceCheck),
            "checkin": next_id(session, CheckIn),
            "case": next_id(session, ReviewCase),
        }
        cutoff = city.anchor - timedelta(days=60)
        self.recent = [s for s in history.sittings if s["submitted_at"] >= cutoff] or history.sittings
        self.centre = {k["county_id"]: k["id"] for k in city.kiosks if k["_township"] is None}

    def _next(self, kind: str) -> int:
        self.ids[kind] += 1
        return self.ids[kind] - 1

    def check(
        self,
        kind: CheckKind,
        worker_id: int,
        at,
        decision: Decision,
        distance: float | None,
        *,
        sitting: dict | None = None,
        checkin: dict | None = None,
        kiosk_id: int | None = None,
        refusal: str | None = None,
        detail: dict | None = None,
    ) -> dict:
        threshold = (
            self.settings.search_threshold if kind is CheckKind.ENROL_DUPLICATE else self.settings.live_threshold
        )
        row = {
            "id": self._next("check"),
            "kind": kind,
            "worker_id": worker_id,
            "sitting_id": sitting["id"] if sitting else None,
            "checkin_id": checkin["id"] if checkin else None,
            "kiosk_id": sitting["kiosk_id"] if sitting else kiosk_id,
            "model_name": self.model.name,
            "model_version": self.model.version,
            "distance": None if distance is None else round(distance, 4),
            "threshold": threshold,
            "decision": decision,
            "refusal_code": refusal,
            "detail": {"synthetic": True, **(detail or {})},
            "evidence_path": None,
            "evidence_purged_at": None,
            "created_at": at,
        }
        self.history.face_checks.append(row)
        return row

    def checkin(
        self,
        worker_id: int,
        plan_id: int,
        kiosk_id: int,
        at,
        status: CheckInStatus,
        sitting_id: int | None = None,
        failures: int = 0,
    ) -> dict:
        row = {
            "id": self._next("checkin"),
            "worker_id": worker_id,
            "plan_id": plan_id,
            "kiosk_id": kiosk_id,
            "challenge": self.rng.choice(("turn_left", "turn_right", "blink")),
            "token_hash": secrets.token_hex(32),
            "chip_photo_path": None,
            "status": status,
            "failures": failures,
            "sitting_id": sitting_id,
            "created_at": at,
            "expires_at": at + timedelta(minutes=5),
        }
        self.history.checkins.append(row)
        return row

    def case(
        self,
        kind: ReviewKind,
        worker_id: int,
        at,
        summary: dict,
        *,
        check: dict,
        sitting: dict | None = None,
        checkin: dict | None = None,
        other: int | None = None,
        status: ReviewStatus | None = None,
    ) -> None:
        rng = self.rng
        if status is None:
            status = (
                ReviewStatus.OPEN
                if rng.random() < 0.55
                else (ReviewStatus.CONFIRMED if rng.random() < 0.25 else ReviewStatus.DISMISSED)
            )
        decided = (
            None if status is ReviewStatus.OPEN else min(at + timedelta(hours=rng.uniform(1, 48)), self.city.anchor)
        )
        self.history.review_cases.append(
            {
                "id": self._next("case"),
                "kind": kind,
                "status": status,
                "worker_id": worker_id,
                "other_worker_id": other,
                "sitting_id": sitting["id"] if sitting else None,
                "checkin_id": checkin["id"] if checkin else None,
                "face_check_id": check["id"],
                "distance": check["distance"],
                **summary,  # summary_fields(): the Chinese sentence and its msgid with the values
                "reason": None if decided is None else rng.choice(REASONS[status]),
                "decided_by_id": None,
                "decided_at": decided,
                "created_at": at,
            }
        )

    def make(self) -> None:
        scale, rng = self.city.scale, self.rng
        for sitting in rng.sample(self.recent, min(len(self.recent), max(1, scale.face_checks // 4))):
            self.regular(sitting)
        for kind in rng.choices(list(CASE_KINDS), weights=list(CASE_KINDS.values()), k=scale.review_cases):
            getattr(self, kind)()

    def _entry(self, sitting: dict) -> dict:
        return self.checkin(
            sitting["worker_id"],
            sitting["plan_id"],
            sitting["kiosk_id"],
            sitting["started_at"] - timedelta(seconds=70),
            CheckInStatus.PASSED,
            sitting["id"],
        )

    def regular(self, sitting: dict) -> None:
        """A sitting whose check-in and three in-exam checks all matched."""
        entry = self._entry(sitting)
        self.check(
            CheckKind.CHECKIN,
            sitting["worker_id"],
            entry["created_at"] + timedelta(seconds=20),
            Decision.MATCH,
            self.rng.uniform(0.15, 0.33),
            sitting=sitting,
            checkin=entry,
        )
        at = sitting["started_at"]
        for _ in range(3):
            at += timedelta(seconds=self.rng.uniform(60, 120))
            self.check(
                CheckKind.IN_EXAM,
                sitting["worker_id"],
                at,
                Decision.MATCH,
                self.rng.uniform(0.12, 0.32),
                sitting=sitting,
            )

    def borderline(self) -> None:
        sitting = self.rng.choice(self.recent)
        entry = self._entry(sitting)
        check = self.check(
            CheckKind.CHECKIN,
            sitting["worker_id"],
            entry["created_at"] + timedelta(seconds=20),
            Decision.REVIEW,
            self.rng.uniform(0.36, 0.52),
            sitting=sitting,
            checkin=entry,
        )
        self.case(
            ReviewKind.BORDERLINE,
            sitting["worker_id"],
            check["created_at"],
            summary_fields(N_("人证核验距离处于审核区间，已允许考试，请人脸审核")),
            check=check,
            sitting=sitting,
            checkin=entry,
        )

    def multiple_faces(self) -> None:
        sitting = self.rng.choice(self.recent)
        check = self.check(
            CheckKind.IN_EXAM,
            sitting["worker_id"],
            sitting["started_at"] + timedelta(minutes=9),
            Decision.REFUSED,
            None,
            sitting=sitting,
            refusal="multiple_faces",
        )
        self.case(
            ReviewKind.MULTIPLE_FACES,
            sitting["worker_id"],
            check["created_at"],
            summary_fields(N_("考试中画面出现多张人脸")),
            check=check,
            sitting=sitting,
        )

    def in_exam_mismatch(self) -> None:
        """Three mismatches suspended the sitting; a reviewer dismissed the alert, so it went on and was submitted."""
        sitting = self.rng.choice(self.recent)
        at = sitting["started_at"] + timedelta(minutes=10)
        for n in range(3):
            check = self.check(
                CheckKind.IN_EXAM,
                sitting["worker_id"],
                at + timedelta(seconds=5 * n),
                Decision.MISMATCH,
                self.rng.uniform(0.55, 0.95),
                sitting=sitting,
            )
        self.case(
            ReviewKind.IN_EXAM_MISMATCH,
            sitting["worker_id"],
            check["created_at"],
            summary_fields(
                N_("考试中人脸核验连续不符（不符%(mismatches)s次，未确认%(unverified)s次），考试已暂停"),
                mismatches=3,
                unverified=3,
            ),
            check=check,
            sitting=sitting,
            status=ReviewStatus.DISMISSED,
        )

    def checkin_refused(self) -> None:
        """Three failed check-ins of a worker who has not sat yet; the open case blocks the next check-in."""
        pending = [
            r
            for r in self.rng.sample(self.city.requirements, min(200, len(self.city.requirements)))
            if r["status"] == RequirementStatus.PENDING.value
        ]
        if not pending:
            return
        req = pending[0]
        at = self.city.anchor - timedelta(days=self.rng.uniform(1, 20))
        entry = self.checkin(
            req["worker_id"], req["plan_id"], self.centre[req["county_id"]], at, CheckInStatus.REFUSED, failures=3
        )
        for n in range(3):
            check = self.check(
                CheckKind.CHECKIN,
                req["worker_id"],
                at + timedelta(seconds=30 * (n + 1)),
                Decision.MISMATCH,
                self.rng.uniform(0.6, 1.0),
                checkin=entry,
                kiosk_id=entry["kiosk_id"],
                refusal="face_mismatch",
            )
        self.case(
            ReviewKind.CHECKIN_REFUSED,
            req["worker_id"],
            check["created_at"],
            summary_fields(
                N_("入场人证核验连续%(failures)s次未通过（最后一次：%(last)s）"),
                failures=3,
                last=reason_zh("face_mismatch"),
            ),
            check=check,
            checkin=entry,
            status=ReviewStatus.OPEN if self.rng.random() < 0.7 else ReviewStatus.DISMISSED,
        )

    def duplicate_enrolment(self) -> None:
        if len(self.history.template_workers) < 2:
            return
        worker, other = self.rng.sample(self.history.template_workers, 2)
        at = self.city.anchor - timedelta(days=self.rng.uniform(1, 30))
        check = self.check(
            CheckKind.ENROL_DUPLICATE,
            worker,
            at,
            Decision.REVIEW,
            self.rng.uniform(0.05, 0.18),
            detail={"other_worker_id": other, "template_id": self.template_of[worker], "rank": 1},
        )
        self.case(
            ReviewKind.DUPLICATE_ENROLMENT,
            worker,
            at,
            summary_fields(  # the console names the look-alike as the worker is called now
                N_("新登记照片与从业人员%(name)s的人脸相似（距离%(distance)s）"),
                name=str(other),
                distance=f"{check['distance']:.3f}",
            ),
            check=check,
            other=other,
            status=ReviewStatus.OPEN if self.rng.random() < 0.6 else ReviewStatus.DISMISSED,
        )


def load_templates(session: DbSession, city: City, history: History, loader: Loader, data_dir: str | None) -> None:
    """Insert a photo row and a synthetic template of every model per chosen worker; write the 1:N indexes."""
    from exam_server.demo.city_rows import next_id
    from exam_server.face.index import FaceIndex, index_path

    models = template_models()
    centres = [
        _stream(TEMPLATE_CENTRE_SEED, n).normal(0.0, SYNTHETIC[model.metric][0], model.dim)
        for n, model in enumerate(models)
    ]
    draws = [_stream(city.scale.seed, n) for n in range(len(models))]
    ids = history.template_workers
    first_photo, first_template = next_id(session, FacePhoto), next_id(session, FaceTemplate)
    at = city.anchor - timedelta(days=370)
    matrices: list[list[np.ndarray]] = [[] for _ in models]
    for start in range(0, len(ids), TEMPLATE_CHUNK):
        chunk = ids[start : start + TEMPLATE_CHUNK]
        loader.insert(
            FacePhoto,
            [
                {
                    "id": first_photo + start + i,
                    "worker_id": w,
                    "source": PhotoSource.BATCH,
                    "path": f"photos/{w}/synthetic.jpg",
                    "sha256": f"{city.rng.getrandbits(256):064x}",
                    "width": 358,
                    "height": 441,
                    "quality": {"synthetic": True},
                    "uploaded_by_id": None,
                    "created_at": at,
                }
                for i, w in enumerate(chunk)
            ],
        )
        # One template per model of the same photo, as enrolment stores them; the primary model's ids come
        # first (Alerts refers to them).
        for n, model in enumerate(models):
            vectors = synthetic_vectors(model, centres[n], draws[n], len(chunk))
            loader.insert(
                FaceTemplate,
                [
                    {
                        "id": first_template + n * len(ids) + start + i,
                        "worker_id": w,
                        "photo_id": first_photo + start + i,
                        "model_name": model.name,
                        "model_version": model.version,
                        "vector": vectors[i].tobytes(),
                        "active": True,
                        "created_at": at,
                        "superseded_at": None,
                    }
                    for i, w in enumerate(chunk)
                ],
            )
            matrices[n].append(vectors)
        session.commit()
    if data_dir and ids:
        for model, parts in zip(models, matrices, strict=False):
            FaceIndex.build(index_path(data_dir, model.key), model.key, ids, np.vstack(parts), model.metric)
