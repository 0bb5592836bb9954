"""Prepare the load benchmark's database: a generated city, real enrolments, kiosks and their workers."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

from sqlalchemy import exists, func, insert, select, update

from exam_server.models import ExamRequirement, FacePhoto, FaceTemplate, RequirementStatus, ReviewCase, Worker, utcnow

# The kiosk identity: four photos of one person at different head angles (a real turn), the first enrolled.
TURN = ("single/obama/obama1.jpg", "resolutions/obama-720p.jpg", "single/obama/obama3.jpg", "single/obama/obama4.jpg")
# A handful of other real people, enrolled through the real service too (they never sit at a kiosk here).
OTHERS = (
    "single/biden/biden1.jpg",
    "single/lennon/lennon1.jpg",
    "single/clapton/clapton1.jpg",
    "single/carell/carell1.jpg",
)


@dataclass
class LoadSetup:
    """What the simulated kiosks need: their tokens and the workers who will sit."""

    kiosk_tokens: list[str]
    citizen_ids: list[str]
    enrolled_real: int
    copied_templates: int

    def save(self, path: Path) -> None:
        path.write_text(json.dumps(asdict(self)))

    @classmethod
    def read(cls, path: Path) -> LoadSetup:
        return cls(**json.loads(path.read_text()))


def pending_workers(session, count: int) -> list[Worker]:
    """Return workers who have requirements, none of them sat yet, and no face alert: each of another enterprise.

    The sitters all get a copy of one real enrolment (copy_template): colleagues holding the same face would
    each be "nearer" than the claimed worker in the rank check among colleagues (fusion.rank_check), which
    sends every decision to review. A real enterprise enrols different faces; one sitter per enterprise keeps
    the copies out of each other's rank check.
    """
    sat = select(ExamRequirement.id).where(
        ExamRequirement.worker_id == Worker.id, ExamRequirement.status != RequirementStatus.PENDING
    )
    required = select(ExamRequirement.id).where(ExamRequirement.worker_id == Worker.id)
    alert = select(ReviewCase.id).where(ReviewCase.worker_id == Worker.id)
    first_of_each = (
        select(Worker.enterprise_id, func.min(Worker.id).label("worker_id"))
        .where(exists(required), ~exists(sat), ~exists(alert), Worker.active)
        .group_by(Worker.enterprise_id)
        .subquery()
    )
    return list(
        session.scalars(
            select(Worker).join(first_of_each, first_of_each.c.worker_id == Worker.id).order_by(Worker.id).limit(count)
        )
    )


def enrol_real(session, faces: Path, workers: list[Worker]):
    """Enrol the kiosk identity and the other real photos through face_service; return the kiosk identity's."""
    from exam_server.services.faces import face_service

    first = None
    for worker, path in zip(workers, (TURN[0], *OTHERS), strict=False):
        enrolment = face_service.enrol(session, worker, (faces / path).read_bytes(), "console")
        first = first or enrolment
    session.commit()
    return first


def copy_template(session, enrolment, workers: list[Worker]) -> int:
    """Give each worker a copy of one real enrolment (photo row and every model's template), superseding theirs."""
    now = utcnow()
    ids = [w.id for w in workers]
    session.execute(
        update(FaceTemplate)
        .where(FaceTemplate.worker_id.in_(ids), FaceTemplate.active)
        .values(active=False, superseded_at=now)
    )
    photo = enrolment.photo
    first_photo = (session.scalar(select(FacePhoto.id).order_by(FacePhoto.id.desc()).limit(1)) or 0) + 1
    session.execute(
        insert(FacePhoto.__table__),
        [
            {
                "id": first_photo + i,
                "worker_id": wid,
                "source": photo.source,
                "path": photo.path,
                "sha256": photo.sha256,
                "width": photo.width,
                "height": photo.height,
                "quality": {**photo.quality, "copied_for_load_test": True},
                "uploaded_by_id": None,
                "created_at": now,
            }
            for i, wid in enumerate(ids)
        ],
    )
    # Fused decisions need each model's template: a worker missing one goes to review, not to a match.
    session.execute(
        insert(FaceTemplate.__table__),
        [
            {
                "worker_id": wid,
                "photo_id": first_photo + i,
                "model_name": template.model_name,
                "model_version": template.model_version,
                "vector": template.vector,
                "active": True,
                "created_at": now,
                "superseded_at": None,
            }
            for i, wid in enumerate(ids)
            for template in enrolment.templates
        ],
    )
    session.commit()
    return len(ids)


def prepare(session, faces: Path, kiosks: int, sitters: int) -> LoadSetup:
    """Enrol real photos, copy the kiosk identity to the sitters, register the kiosks; commit."""
    from exam_server.demo.city_generator import fix_sequences
    from exam_server.services.exam import kiosks as kiosk_service
    from exam_server.services.faces import face_service

    fix_sequences(session)
    workers = pending_workers(session, sitters + len(OTHERS) + 1)
    if len(workers) < sitters + len(OTHERS) + 1:
        raise SystemExit(
            f"only {len(workers)} workers have nothing sat yet; the load test needs {sitters + 5} "
            f"(use the city scale or fewer kiosks)"
        )
    real, sitting = workers[: len(OTHERS) + 1], workers[len(OTHERS) + 1 :]
    enrolment = enrol_real(session, faces, real)
    copied = copy_template(session, enrolment, sitting)
    face_service.rebuild_index(session)
    tokens = [kiosk_service.register(session, f"压测终端{n:03d}", location="load test")[1] for n in range(kiosks)]
    session.commit()
    return LoadSetup(tokens, [real[0].citizen_id] + [w.citizen_id for w in sitting][: sitters - 1], len(real), copied)
