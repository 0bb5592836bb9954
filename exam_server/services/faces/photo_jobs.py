"""Enrol a zip of photos named by citizen ID in a background thread, keeping progress in a JSON file."""

from __future__ import annotations

import logging
import threading
import time
import zipfile
from pathlib import Path, PurePosixPath
from typing import IO

from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session

from exam_server.citizen_id import InvalidCitizenId, normalise_citizen_id
from exam_server.face import FaceRefusal
from exam_server.models import Enterprise, FacePhoto, FaceTemplate, PhotoSource, User, Worker
from exam_server.services.admin import staging
from exam_server.services.faces import face_service
from exam_server.services.scope import enterprise_filter

KIND = "jobs"
MAX_PHOTOS = 5000
STALE_SECONDS = 300  # a running job silent this long was cut off by a restart
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png")
logger = logging.getLogger(__name__)


class Progress:
    """The job's status file: counts, state and the refused photos."""

    def __init__(self, folder: Path) -> None:
        self.path = folder / "status.json"
        self.data = {
            "state": "queued",
            "total": 0,
            "done": 0,
            "enrolled": 0,
            "skipped": 0,
            "duplicates": 0,
            "refused": [],
            "error": None,
        }
        self.save()

    def save(self, **changes) -> None:
        self.data.update(changes, updated=time.time())
        staging.write_json(self.path, self.data)

    def refuse(self, name: str, citizen_id: str, message: str) -> None:
        self.data["refused"].append({"file": name[:120], "citizen_id": citizen_id[:32], "message": message})


def start(app: Flask, stream: IO[bytes], filename: str, user: User) -> str:
    """Stage the zip and start enrolling it in a thread; return the job's token."""
    staged = staging.stage(app.config["DATA_DIR"], KIND, stream, filename, {"user_id": user.id, "job": "photo_zip"})
    Progress(staged.folder)
    thread = threading.Thread(
        target=run, args=(app, staged.token, user.id), name=f"photo-job-{staged.token[:8]}", daemon=True
    )
    thread.start()
    return staged.token


def status(data_dir: str, token: str, user_id: int) -> dict | None:
    """Return the job's progress for its owner, or None; a silent running job is reported as interrupted."""
    staged = staging.load(data_dir, KIND, token, user_id)
    data = staging.read_json(staged.folder / "status.json") if staged else None
    if data and data["state"] in ("queued", "running") and time.time() - data["updated"] > STALE_SECONDS:
        data["state"] = "interrupted"
    return data


def run(app: Flask, token: str, user_id: int) -> None:
    """Enrol every photo of a staged zip; each photo commits on its own, so a restart loses little."""
    from exam_server.extensions import db

    with app.app_context():
        staged = staging.load(app.config["DATA_DIR"], KIND, token, user_id)
        progress = Progress(staged.folder)
        try:
            with zipfile.ZipFile(staged.upload) as archive:
                enrol_archive(db.session, archive, db.session.get(User, user_id), progress)
            progress.save(state="done")
        except zipfile.BadZipFile:
            progress.save(state="failed", error="不是有效的ZIP文件")
        except Exception as exc:  # the page must learn the job died, whatever killed it
            logger.exception("photo job %s failed", token)
            progress.save(state="failed", error=f"处理中断：{exc.__class__.__name__}")
        finally:
            db.session.remove()
            staged.upload.unlink(missing_ok=True)


def enrol_archive(session: Session, archive: zipfile.ZipFile, user: User, progress: Progress) -> None:
    """Match photos to workers in the user's scope and enrol them one by one."""
    entries = [info for info in archive.infolist() if not info.is_dir() and _is_photo(info.filename)]
    if len(entries) > MAX_PHOTOS:
        progress.save(state="failed", error=f"照片超过{MAX_PHOTOS}张，请分批上传")
        return
    progress.save(state="running", total=len(entries))
    named = {}
    for info in entries:
        stem = PurePosixPath(info.filename).stem
        try:
            named[info.filename] = normalise_citizen_id(stem)[0]
        except InvalidCitizenId as exc:
            progress.refuse(info.filename, stem, "文件名不是有效的身份证号：" + str(exc).split(" / ")[0])
    workers, enrolled_from = _lookup(session, user, sorted(set(named.values())))
    limit = face_service.settings().max_bytes
    for info in entries:
        citizen_id = named.get(info.filename)
        worker = workers.get(citizen_id)
        if citizen_id and worker is None:
            progress.refuse(info.filename, citizen_id, "未找到该身份证号的从业人员，或其不在您的管理范围内")
        elif worker is not None and info.file_size > limit:
            progress.refuse(info.filename, citizen_id, "照片文件过大")
        elif worker is not None:
            _enrol_one(session, archive, info, worker, user, enrolled_from.get(worker.id), progress)
        progress.save(done=progress.data["done"] + 1)


def _enrol_one(session, archive, info, worker: Worker, user: User, current_sha: str | None, progress) -> None:
    image = archive.read(info)
    if face_service.photo_sha256(image) == current_sha:
        progress.data["skipped"] += 1
        return
    try:
        enrolment = face_service.enrol(session, worker, image, PhotoSource.BATCH, user_id=user.id)
        session.commit()
    except FaceRefusal as exc:
        session.rollback()
        progress.refuse(info.filename, worker.citizen_id, exc.photo_message_zh)
        return
    progress.data["enrolled"] += 1
    progress.data["duplicates"] += len(enrolment.duplicates)


def _lookup(session: Session, user: User, citizen_ids: list[str]) -> tuple[dict[str, Worker], dict[int, str]]:
    """Return the scoped workers by citizen ID and the SHA-256 of each one's active photo."""
    workers: dict[str, Worker] = {}
    shas: dict[int, str] = {}
    for start in range(0, len(citizen_ids), 1000):
        chunk = citizen_ids[start : start + 1000]
        stmt = (
            select(Worker).join(Enterprise, Enterprise.id == Worker.enterprise_id).where(Worker.citizen_id.in_(chunk))
        )
        found = session.scalars(enterprise_filter(user, stmt, Worker.enterprise_id)).all()
        workers.update((w.citizen_id, w) for w in found)
        shas.update(
            session.execute(
                select(FaceTemplate.worker_id, FacePhoto.sha256)
                .join(FacePhoto, FacePhoto.id == FaceTemplate.photo_id)
                .where(FaceTemplate.worker_id.in_([w.id for w in found]), FaceTemplate.active)
            ).all()
        )
    return workers, shas


def _is_photo(name: str) -> bool:
    path = PurePosixPath(name.replace("\\", "/"))
    return path.suffix.lower() in IMAGE_SUFFIXES and not path.name.startswith(".") and "__MACOSX" not in path.parts
