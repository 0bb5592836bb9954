"""Enrol a ZIP of photos named by citizen ID as a queued job: chunks any worker host takes, each photo once.

The upload is split at once into items (one per photo, the photo's bytes kept in the database
until it is done, so a worker on another host needs nothing from this one) and chunks of
JOB_CHUNK_PHOTOS photos. A worker analyses a photo outside any transaction, then stores the
enrolment and marks the item done in one transaction (services/job_state.py).
"""

from __future__ import annotations

import zipfile
from collections.abc import Iterator
from pathlib import PurePosixPath
from typing import IO

from sqlalchemy import select

from exam_server.citizen_id import InvalidCitizenId, normalise_citizen_id
from exam_server.database import DbSession
from exam_server.face import FaceRefusal
from exam_server.models import (
    N_,
    DomainError,
    Enterprise,
    FacePhoto,
    FaceTemplate,
    ItemState,
    Job,
    JobItem,
    PhotoSource,
    User,
    Worker,
)
from exam_server.services import job_state
from exam_server.services.faces import face_service
from exam_server.services.policy import enterprise_filter

KIND = "photo_zip"
MAX_PHOTOS = 5000
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png")
NOT_IN_SCOPE = "未找到该身份证号的从业人员，或其不在您的管理范围内"


def create(session: DbSession, stream: IO[bytes], filename: str, user: User, chunk_size: int) -> Job:
    """Read the ZIP into a job's items (bad names refused at once); raise DomainError for a bad ZIP."""
    try:
        archive = zipfile.ZipFile(stream)
    except (zipfile.BadZipFile, OSError, EOFError):
        raise DomainError(N_("不是有效的ZIP文件")) from None
    with archive:
        entries = [info for info in archive.infolist() if not info.is_dir() and _is_photo(info.filename)]
        if len(entries) > MAX_PHOTOS:
            raise DomainError(N_("照片超过%(count)d张，请分批上传"), count=MAX_PHOTOS)
        if not entries:
            raise DomainError(N_("压缩包中没有 JPG 或 PNG 照片"))
        limit = face_service.settings().max_bytes
        try:
            return job_state.create(
                session,
                KIND,
                _items(archive, entries, limit),
                chunk_size=chunk_size,
                title=filename or "photos.zip",
                user_id=user.id,
                params={"filename": (filename or "")[:200]},
            )
        except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError):  # a member that will not inflate
            raise DomainError(N_("ZIP文件已损坏，无法读取其中的照片")) from None


def _items(archive: zipfile.ZipFile, entries: list[zipfile.ZipInfo], limit: int) -> Iterator[job_state.NewItem]:
    for info in entries:
        stem = PurePosixPath(info.filename.replace("\\", "/")).stem
        try:
            citizen_id = normalise_citizen_id(stem)[0]
        except InvalidCitizenId as exc:
            yield job_state.NewItem(
                info.filename, stem, refused="文件名不是有效的身份证号：" + str(exc).split(" / ")[0]
            )
            continue
        if info.file_size > limit:
            yield job_state.NewItem(info.filename, citizen_id, refused="照片文件过大")
            continue
        yield job_state.NewItem(info.filename, citizen_id, payload=archive.read(info))


def run_chunk(session: DbSession, job_id: int, number: int, lease_seconds: float) -> dict[str, int]:
    """Enrol the chunk's photos still pending, if this worker gets the chunk's lease; return what it did."""
    lease = job_state.take_chunk(session, job_id, number, lease_seconds)
    if lease is None:
        return {"claimed": 0}
    user = job_state.active_starter(session, lease.job)
    if user is None:
        job_state.fail(session, job_id, "上传照片的账号已停用")
        return {"claimed": 1, "done": 0}
    done = 0
    for item_id in job_state.each_item(session, lease):
        _enrol_item(session, item_id, user)
        done += 1
    return {"claimed": 1, "done": done}


def _enrol_item(session: DbSession, item_id: int, user: User) -> None:
    """Enrol one photo and mark its item, together; analysis runs before the transaction holds any lock."""
    item = session.get_one(JobItem, item_id)
    image = job_state.item_payload(session, item_id)
    worker, current_sha = _lookup(session, user, item.key)
    session.commit()  # end the read transaction before the face analysis
    if worker is None or image is None:
        _finish(session, item_id, ItemState.REFUSED, NOT_IN_SCOPE if image is not None else "照片数据缺失")
        return
    if face_service.photo_sha256(image) == current_sha:
        _finish(session, item_id, ItemState.SKIPPED)
        return
    try:
        sample = face_service.engine().enrol_sample(image, PhotoSource.BATCH.value)
        enrolment = face_service.enrol(session, worker, image, PhotoSource.BATCH, sample=sample, user_id=user.id)
    except FaceRefusal as exc:
        session.rollback()
        _finish(session, item_id, ItemState.REFUSED, exc.photo_message_zh)
        return
    if job_state.finish_item(session, item_id, ItemState.DONE, flags=len(enrolment.duplicates)):
        session.commit()
    else:
        session.rollback()  # another worker enrolled this photo meanwhile: keep theirs only


def _finish(session: DbSession, item_id: int, state: ItemState, message: str | None = None) -> None:
    job_state.finish_item(session, item_id, state, message)
    session.commit()


def _lookup(session: DbSession, user: User, citizen_id: str) -> tuple[Worker | None, str | None]:
    """Return the worker of this citizen ID in the user's scope, and the SHA-256 of their active photo."""
    stmt = select(Worker).join(Enterprise, Enterprise.id == Worker.enterprise_id).where(Worker.citizen_id == citizen_id)
    worker = session.scalar(enterprise_filter(user, stmt, Worker.enterprise_id))
    if worker is None:
        return None, None
    sha = session.scalar(
        select(FacePhoto.sha256)
        .join(FaceTemplate, FaceTemplate.photo_id == FacePhoto.id)
        .where(FaceTemplate.worker_id == worker.id, FaceTemplate.active)
        .limit(1)
    )
    return worker, sha


def find(session: DbSession, job_id: int, user: User) -> Job | None:
    """Return the user's own photo job, or None."""
    job = session.get(Job, job_id)
    return job if job is not None and job.kind == KIND and job.created_by_id == user.id else None


def _is_photo(name: str) -> bool:
    path = PurePosixPath(name.replace("\\", "/"))
    return path.suffix.lower() in IMAGE_SUFFIXES and not path.name.startswith(".") and "__MACOSX" not in path.parts
