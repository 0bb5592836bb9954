"""The database side of the face engine: enrolment (a template per model), templates, evidence and the 1:N indexes."""

from __future__ import annotations

import hashlib
import json
import os
import threading
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from flask import current_app
from sqlalchemy import and_, delete, exists, or_, select, tuple_, update

from exam_server import localday
from exam_server.database import DbSession, rows_touched
from exam_server.extensions import db
from exam_server.face import FaceEngine, FaceRefusal, FaceSample, FaceSettings, ModelMismatchError, Template
from exam_server.face.evidence import face_square
from exam_server.face.evidence import save_evidence as _write_evidence
from exam_server.face.index import FaceIndex
from exam_server.face.intake import sniff_format
from exam_server.face.models import EmbeddingModel, get_model
from exam_server.models import (
    N_,
    CheckIn,
    CheckKind,
    Decision,
    FaceCheck,
    FacePhoto,
    FaceTemplate,
    FrameHash,
    PhotoSource,
    ReviewCase,
    ReviewKind,
    ReviewStatus,
    Worker,
    summary_fields,
    utcnow,
)
from exam_server.services import audit
from exam_server.services.faces import index_sync

_lock = threading.Lock()
_engines: dict[FaceSettings, FaceEngine] = {}
_indexes: dict[tuple[str, str], FaceIndex] = {}


def settings() -> FaceSettings:
    """Return the face settings: the FACE_* keys of the app config (read from EXAM_FACE_* once, by create_app)."""
    return FaceSettings.from_mapping(current_app.config, prefix="FACE_")


def engine() -> FaceEngine:
    """Return this process's engine for the current settings (models load on first use)."""
    current = settings()
    with _lock:
        if current not in _engines:
            _engines[current] = FaceEngine(current)
        return _engines[current]


def model_key() -> tuple[str, str]:
    """Return (name, version) of the configured primary model without loading its weights."""
    current = settings()
    model = get_model(current.model, current.flip_average)
    return model.name, model.version


def model_keys() -> list[tuple[str, str]]:
    """Return (name, version) of every model the engine holds, the primary one first."""
    return [(m.name, m.version) for m in engine().models]


def data_dir() -> Path:
    return Path(current_app.config["DATA_DIR"])


def index(model: EmbeddingModel | None = None) -> FaceIndex:
    """Return the 1:N index of a model (the primary one by default), shared by every process through its file."""
    if model is None:
        current = settings()
        model = get_model(current.model, current.flip_average)
    key = (str(data_dir()), model.key)
    with _lock:
        if key not in _indexes:
            _indexes[key] = FaceIndex.for_model(data_dir(), model)
        found = _indexes[key]
    _keep_current(found, model)
    return found


def _keep_current(found: FaceIndex, model: EmbeddingModel) -> None:
    """Replay other hosts' enrolments into this host's index file (docs/scaling.md, "The 1:N index")."""
    index_sync.keep_current(found, model, db.engine, float(current_app.config["INDEX_SYNC_SECONDS"]))


@dataclass
class Enrolment:
    photo: FacePhoto
    template: FaceTemplate  # the primary model's
    duplicates: list[ReviewCase] = field(default_factory=list)
    templates: list[FaceTemplate] = field(default_factory=list)  # one per model, the primary one first


def photo_sha256(image_bytes: bytes) -> str:
    return hashlib.sha256(image_bytes).hexdigest()


def enrol(
    session: DbSession,
    worker: Worker,
    image_bytes: bytes,
    source: PhotoSource | str,
    *,
    sample: FaceSample | None = None,
    user_id: int | None = None,
    now: datetime | None = None,
) -> Enrolment:
    """Store a worker's photo and one template per model, superseding older ones, and search it against everyone."""
    now = now or utcnow()
    source = PhotoSource(source)
    face_engine = engine()
    sample = sample or face_engine.enrol_sample(image_bytes, source.value)
    digest = photo_sha256(image_bytes)
    relative = (
        Path("photos") / str(worker.id) / f"{digest[:32]}.{'png' if sniff_format(image_bytes) == 'PNG' else 'jpg'}"
    )
    _write_private(data_dir() / relative, image_bytes)
    photo = FacePhoto(
        worker_id=worker.id,
        source=source,
        path=relative.as_posix(),
        sha256=digest,
        width=sample.image_width,
        height=sample.image_height,
        quality=sample.quality_dict(),
        uploaded_by_id=user_id,
        created_at=now,
    )
    session.add(photo)
    session.flush()
    # Every active template came from the old photo, whatever its model: all of them are superseded.
    session.execute(
        update(FaceTemplate)
        .where(FaceTemplate.worker_id == worker.id, FaceTemplate.active)
        .values(active=False, superseded_at=now)
    )
    # One row per model of the same photo; a model the engine no longer holds keeps no stale template.
    held = [m for m in face_engine.models if m.key in sample.embeddings]
    templates = [
        FaceTemplate(
            worker_id=worker.id,
            photo_id=photo.id,
            model_name=m.name,
            model_version=m.version,
            vector=sample.embedding_for(m.key).to_bytes(),
            created_at=now,
        )
        for m in held
    ]
    session.add_all(templates)
    session.flush()
    template = templates[0]
    duplicates = _duplicate_cases(session, worker, sample, template, now)
    for model in held:
        index(model).upsert(worker.id, sample.embedding_for(model.key))
    for model in (m for m in face_engine.models if m not in held):
        index(model).remove(worker.id)  # the old photo's vector must not stand for the new one
    index_sync.record_change(session, worker.id)
    audit.record(
        session,
        "face_enrolled",
        target=worker,
        user_id=user_id,
        detail={
            "photo_id": photo.id,
            "template_id": template.id,
            "source": source.value,
            "templates": {t.model_name: t.id for t in templates},
            "duplicates": [case.other_worker_id for case in duplicates],
        },
    )
    return Enrolment(photo, template, duplicates, templates)


def search_model(face_engine: FaceEngine | None = None) -> EmbeddingModel:
    """Return the model duplicate detection and the rank check search (settings.search_model), else the primary."""
    face_engine = face_engine or engine()
    try:
        return face_engine.model_for(face_engine.settings.search_model)
    except ModelMismatchError:
        return face_engine.model  # an engine without it (dlib alone): search_threshold must then be dlib's


def _duplicate_cases(
    session: DbSession, worker: Worker, sample: FaceSample, template: FaceTemplate, now: datetime
) -> list[ReviewCase]:
    current = settings()
    # The model that separates East-Asian faces (SFace), not dlib: docs/face-models.md "1:N".
    model = search_model()
    if model.key not in sample.embeddings:
        return []
    hits = index(model).search(
        sample.embedding_for(model.key), k=current.search_k, threshold=current.search_threshold, exclude=worker.id
    )
    cases = []
    for hit in (h for h in hits if h.within_threshold):
        check = FaceCheck(
            kind=CheckKind.ENROL_DUPLICATE,
            worker_id=worker.id,
            model_name=model.name,
            model_version=model.version,
            distance=hit.distance,
            threshold=current.search_threshold,
            decision=Decision.REVIEW,
            created_at=now,
            detail={"other_worker_id": hit.worker_id, "template_id": template.id, "rank": hit.rank},
        )
        session.add(check)
        session.flush()
        case = ReviewCase(
            kind=ReviewKind.DUPLICATE_ENROLMENT,
            worker_id=worker.id,
            other_worker_id=hit.worker_id,
            face_check_id=check.id,
            distance=hit.distance,
            created_at=now,
            **summary_fields(
                N_("新登记照片与从业人员%(name)s的人脸相似（距离%(distance)s）"),
                name=_name(session, hit.worker_id),
                distance=f"{hit.distance:.3f}",
            ),
        )
        session.add(case)
        cases.append(case)
    session.flush()
    return cases


def _name(session: DbSession, worker_id: int) -> str:
    return session.scalar(select(Worker.name).where(Worker.id == worker_id)) or "（已删除）"


def active_templates(session: DbSession, worker_id: int) -> list[Template]:
    """Return the worker's newest active template of each model the engine holds, the primary model's first."""
    keys = model_keys()
    rows = session.execute(
        select(
            FaceTemplate.id, FaceTemplate.vector, FaceTemplate.model_name, FaceTemplate.model_version, FacePhoto.source
        )
        .join(FacePhoto, FacePhoto.id == FaceTemplate.photo_id)
        .where(
            FaceTemplate.worker_id == worker_id,
            FaceTemplate.active,
            tuple_(FaceTemplate.model_name, FaceTemplate.model_version).in_(keys),
        )
        .order_by(FaceTemplate.id.desc())
    ).all()
    newest: dict[tuple[str, str], Template] = {}
    for row in rows:
        newest.setdefault(
            (row.model_name, row.model_version),
            Template.from_stored(row.vector, row.model_name, row.model_version, PhotoSource(row.source).value, row.id),
        )
    return [newest[key] for key in keys if key in newest]


def active_template(session: DbSession, worker_id: int) -> Template | None:
    """Return the worker's active template of the primary model, or None if not enrolled with it."""
    name, version = model_key()
    row = session.execute(
        select(FaceTemplate.id, FaceTemplate.vector, FacePhoto.source)
        .join(FacePhoto, FacePhoto.id == FaceTemplate.photo_id)
        .where(
            FaceTemplate.worker_id == worker_id,
            FaceTemplate.active,
            FaceTemplate.model_name == name,
            FaceTemplate.model_version == version,
        )
        .order_by(FaceTemplate.id.desc())
        .limit(1)
    ).first()
    if row is None:
        return None
    return Template.from_stored(row.vector, name, version, PhotoSource(row.source).value, row.id)


def is_enrolled(session: DbSession, worker_id: int) -> bool:
    """Tell whether the worker has an active template of the primary model (no face work)."""
    name, version = model_key()
    return bool(
        session.scalar(
            select(FaceTemplate.id)
            .where(
                FaceTemplate.worker_id == worker_id,
                FaceTemplate.active,
                FaceTemplate.model_name == name,
                FaceTemplate.model_version == version,
            )
            .limit(1)
        )
    )


def deactivate_template(session: DbSession, template_id: int, now: datetime | None = None) -> None:
    """Stop using a template and every other model's template of its photo; take the worker out of the 1:N indexes."""
    template = session.get(FaceTemplate, template_id)
    if template is None or not template.active:
        return
    session.execute(
        update(FaceTemplate)
        .where(FaceTemplate.photo_id == template.photo_id, FaceTemplate.active)
        .values(active=False, superseded_at=now or utcnow())
    )
    session.refresh(template)
    for model in engine().models:
        index(model).remove(template.worker_id)
    index_sync.record_change(session, template.worker_id)


def best_of(*results: Any) -> Any:
    """Return the most favourable verification (match before review before mismatch, then the nearest)."""
    order = {"match": 0, "review": 1, "mismatch": 2}
    found = [r for r in results if r is not None]
    return min(found, key=lambda r: (order[r.decision], r.distance)) if found else None


def save_evidence(frame: bytes, now: datetime | None = None) -> str:
    """Keep a frame under DATA_DIR/evidence/<bureau date>/ and return its path relative to DATA_DIR."""
    relative = _write_evidence(
        frame, data_dir() / "evidence", now=localday.local(now or localday.utcnow()), settings=settings()
    )
    return f"evidence/{relative}"


# Beside a kept ID-card chip photo: its analysis at begin(), so that the burst's decision does not analyse it again.
CHIP_ANALYSIS_SUFFIX = ".face.json"


def save_chip_analysis(path: str, sample: FaceSample) -> None:
    """Keep the embeddings of a chip photo's face (every model's) beside the kept photo at `path`."""
    vectors = {key: [float(v) for v in e.vector] for key, e in sample.embeddings.items()}
    (data_dir() / (path + CHIP_ANALYSIS_SUFFIX)).write_text(json.dumps({"kind": sample.kind, "vectors": vectors}))


def chip_templates(path: str) -> list[Template] | None:
    """Return the templates kept by save_chip_analysis for the chip photo at `path` (None without them)."""
    try:
        kept = json.loads((data_dir() / (path + CHIP_ANALYSIS_SUFFIX)).read_text())
    except (OSError, ValueError):
        return None
    templates = []
    for key, vector in kept["vectors"].items():
        name, _, version = key.partition("/")
        templates.append(Template.from_stored(np.asarray(vector, dtype=np.float32), name, version, kept["kind"]))
    return templates


CROP_PX = 240


def face_crop(image: bytes, kind: str) -> bytes | None:
    """Return a JPEG square of the image's only face (CROP_PX wide), or None without exactly one face.

    An image with two faces is shown whole: the second face is what the reviewer must see.
    """
    current = engine()
    try:
        rgb = current.decode(image, kind).rgb
        face = current.find_single_face(rgb, kind)
    except FaceRefusal:
        return None
    square = face_square(rgb, face.box, CROP_PX)
    ok, encoded = cv2.imencode(".jpg", cv2.cvtColor(square, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, 90])
    return encoded.tobytes() if ok else None


def _write_private(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    with open(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o640), "wb") as handle:
        handle.write(data)
    os.replace(tmp, path)


def rebuild_index(session: DbSession) -> int:
    """Rewrite the 1:N index of every held model from its active templates; return the primary index's size."""
    sizes = [_rebuild_one(session, model) for model in engine().models]
    return sizes[0]


def _rebuild_one(session: DbSession, model: EmbeddingModel) -> int:
    rows = session.execute(
        select(FaceTemplate.worker_id, FaceTemplate.vector)
        .where(FaceTemplate.active, FaceTemplate.model_name == model.name, FaceTemplate.model_version == model.version)
        .order_by(FaceTemplate.id)
    ).all()
    vectors = {row.worker_id: row.vector for row in rows}  # the newest wins if a worker has two
    matrix = np.array([np.frombuffer(v, dtype="<f4") for v in vectors.values()], dtype=np.float32).reshape(
        len(vectors), model.dim
    )
    built = FaceIndex.build(index(model).path, model.key, list(vectors), matrix, model.metric)
    with _lock:
        _indexes[(str(data_dir()), model.key)] = built
    return len(vectors)


def purge_evidence(
    session: DbSession,
    retention_days: int,
    *,
    now: datetime | None = None,
    user_id: int | None = None,
    batch: int = 1000,
) -> int:
    """Delete evidence older than the retention period, except for open review cases; return the files removed."""
    # Commits every batch so that a year of frames does not become one transaction.
    now = now or utcnow()
    cutoff = now - timedelta(days=retention_days)
    root = data_dir()
    open_case = ReviewCase.status == ReviewStatus.OPEN
    check_in_open_case = exists().where(
        open_case,
        or_(
            ReviewCase.face_check_id == FaceCheck.id,
            and_(FaceCheck.sitting_id.is_not(None), ReviewCase.sitting_id == FaceCheck.sitting_id),
            and_(FaceCheck.checkin_id.is_not(None), ReviewCase.checkin_id == FaceCheck.checkin_id),
        ),
    )
    removed = 0
    while True:
        checks = session.scalars(
            select(FaceCheck)
            .where(
                FaceCheck.created_at < cutoff,
                FaceCheck.evidence_path.is_not(None),
                FaceCheck.evidence_purged_at.is_(None),
                ~check_in_open_case,
            )
            .limit(batch)
        ).all()
        chips = session.scalars(
            select(CheckIn)
            .where(
                CheckIn.created_at < cutoff,
                CheckIn.chip_photo_path.is_not(None),
                ~exists().where(open_case, ReviewCase.checkin_id == CheckIn.id),
            )
            .limit(batch)
        ).all()
        if not checks and not chips:
            break
        # Both queries select only rows that still name a file.
        for check in checks:
            assert check.evidence_path is not None
            (root / check.evidence_path).unlink(missing_ok=True)
            check.evidence_purged_at = now
        for checkin in chips:
            assert checkin.chip_photo_path is not None
            (root / checkin.chip_photo_path).unlink(missing_ok=True)
            (root / (checkin.chip_photo_path + CHIP_ANALYSIS_SUFFIX)).unlink(missing_ok=True)
            checkin.chip_photo_path = None
        removed += len(checks) + len(chips)
        session.commit()
    # The frames' perceptual hashes are derived from the same faces: they follow the frames' retention (the
    # replay check compares a burst with recent frames only, replays._RECENT).
    hashes = rows_touched(session.execute(delete(FrameHash).where(FrameHash.created_at < cutoff)))
    audit.record(
        session,
        "evidence_purged",
        user_id=user_id,
        detail={
            "files": removed,
            "frame_hashes": hashes,
            "older_than": cutoff.isoformat(),
            "retention_days": retention_days,
        },
    )
    session.commit()
    return removed


IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png"}


def image_files(directory: Path) -> list[Path]:
    """Return the JPEG and PNG files of a directory, sorted by name."""
    return sorted(p for p in Path(directory).iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)


def plan_batch(session: DbSession, paths: list[Path]) -> tuple[list[tuple[Path, int]], list[dict], int]:
    """Match files named by citizen ID to workers; return (todo, refused rows, number already enrolled)."""
    # A worker whose active template came from a file with the same SHA-256 is skipped, so an
    # interrupted run can simply be started again.
    from exam_server.citizen_id import InvalidCitizenId, normalise_citizen_id

    refused: list[dict] = []
    wanted: dict[str, Path] = {}
    for path in paths:
        try:
            citizen_id, _ = normalise_citizen_id(path.stem)
        except InvalidCitizenId as exc:
            refused.append(
                {
                    "file": path.name,
                    "citizen_id": path.stem,
                    "error": "invalid_citizen_id",
                    "message": str(exc),
                    "detail": "",
                }
            )
            continue
        wanted[citizen_id] = path
    workers: dict[str, int] = {}
    enrolled_from: dict[int, str] = {}
    ids = list(wanted)
    for start in range(0, len(ids), 1000):
        chunk = ids[start : start + 1000]
        workers.update(session.execute(select(Worker.citizen_id, Worker.id).where(Worker.citizen_id.in_(chunk))).all())
        enrolled_from.update(
            session.execute(
                select(FaceTemplate.worker_id, FacePhoto.sha256)
                .join(FacePhoto, FacePhoto.id == FaceTemplate.photo_id)
                .join(Worker, Worker.id == FaceTemplate.worker_id)
                .where(Worker.citizen_id.in_(chunk), FaceTemplate.active)
            ).all()
        )
    todo, skipped = [], 0
    for citizen_id, path in wanted.items():
        worker_id = workers.get(citizen_id)
        if worker_id is None:
            refused.append(
                {
                    "file": path.name,
                    "citizen_id": citizen_id,
                    "error": "worker_not_found",
                    "message": "未找到该身份证号的从业人员",
                    "detail": "",
                }
            )
        elif enrolled_from.get(worker_id) == photo_sha256(path.read_bytes()):
            skipped += 1
        else:
            todo.append((path, worker_id))
    return todo, refused, skipped


def enrol_file(session: DbSession, worker_id: int, path: Path, sample: FaceSample) -> Enrolment:
    """Enrol a worker from a batch file already analysed by the engine's batch helper."""
    return enrol(session, session.get_one(Worker, worker_id), path.read_bytes(), PhotoSource.BATCH, sample=sample)
