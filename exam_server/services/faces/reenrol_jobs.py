"""Re-enrolment for a model as a queued job: every current enrolment photo lacking that model's template.

The items name stored photos (FacePhoto ids); a worker reads each photo from its DATA_DIR/photos,
so the worker hosts of a re-enrolment must see the photos (shared storage, docs/scaling.md).
Each template is stored and its item marked done in one transaction: a photo is never embedded
into two templates, and a killed worker's chunk is taken again from where it stopped.
"""

from __future__ import annotations

import threading

from exam_server.database import DbSession
from exam_server.face import FaceEngine, FaceRefusal
from exam_server.face.reembed import ReembedResult
from exam_server.models import FacePhoto, ItemState, Job, JobItem, PhotoSource
from exam_server.services import job_state
from exam_server.services.faces import face_reenrol, face_service

KIND = "reenrol"
_engines: dict[tuple[str, object], FaceEngine] = {}
_lock = threading.Lock()


def create(session: DbSession, model_name: str, model_version: str, chunk_size: int, user_id: int | None = None) -> Job:
    """Store a job over the photos still lacking a template of this model (the caller checked the model)."""
    plan = face_reenrol.plan(session, model_name, model_version)
    items = (job_state.NewItem(f"photo {photo_id}", str(photo_id)) for photo_id, _, _ in plan.todo)
    return job_state.create(
        session,
        KIND,
        items,
        chunk_size=chunk_size,
        title=f"重新提取人脸特征：{model_name}/{model_version}",
        user_id=user_id,
        params={"model_name": model_name, "model_version": model_version, "already_done": plan.done},
    )


def _engine(model_name: str) -> FaceEngine:
    settings = face_service.settings().replace(model=model_name, extra_models=())
    with _lock:
        key = (model_name, settings)
        if key not in _engines:
            _engines[key] = FaceEngine(settings)
        return _engines[key]


def run_chunk(session: DbSession, job_id: int, number: int, lease_seconds: float) -> dict[str, int]:
    """Embed the chunk's pending photos with the job's model, if this worker gets the chunk's lease."""
    lease = job_state.take_chunk(session, job_id, number, lease_seconds)
    if lease is None:
        return {"claimed": 0}
    name, version = lease.job.params["model_name"], lease.job.params["model_version"]
    plan = face_reenrol.Plan(name, version, [], 0)
    engine = _engine(name)
    if engine.model.key != plan.model_key:
        job_state.fail(session, job_id, f"本机模型为 {engine.model.key}，任务要求 {plan.model_key}")
        return {"claimed": 1, "done": 0}
    done = 0
    for item_id in job_state.each_item(session, lease):
        _embed_item(session, engine, plan, item_id)
        done += 1
    return {"claimed": 1, "done": done}


def _embed_item(session: DbSession, engine: FaceEngine, plan: face_reenrol.Plan, item_id: int) -> None:
    photo = session.get(FacePhoto, int(session.get_one(JobItem, item_id).key))
    if photo is None:
        job_state.finish_item(session, item_id, ItemState.SKIPPED, "照片已删除")
        session.commit()
        return
    photo_id, path, source = photo.id, face_service.data_dir() / photo.path, PhotoSource(photo.source).value
    session.commit()
    try:
        image: bytes | None = path.read_bytes()
    except OSError:
        image = None
    if image is None:
        job_state.finish_item(session, item_id, ItemState.REFUSED, "本机找不到照片文件（各主机须共享 DATA_DIR/photos）")
        session.commit()
        return
    try:
        embedding = engine.enrol_sample(image, source).embedding
    except FaceRefusal as exc:
        job_state.finish_item(session, item_id, ItemState.REFUSED, exc.photo_message_zh)
        session.commit()
        return
    stored = face_reenrol.store(session, plan, ReembedResult(photo_id, str(path), embedding))
    if job_state.finish_item(session, item_id, ItemState.DONE if stored else ItemState.SKIPPED):
        session.commit()
    else:
        session.rollback()
