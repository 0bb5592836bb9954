"""Keep every host's 1:N index files in step with the database, for whatever model each index holds.

Each host keeps its index files on its own disk (a memory-mapped file must not live on shared
storage). The database is the truth: whoever changes a worker's templates adds a
`face_index_change` row in the same transaction (`record_change`), and before a host uses an
index it replays the changes it has not seen (`catch_up`, at most once per INDEX_SYNC_SECONDS per
process): for each changed worker it stores that model's active template, or removes the worker.
A host with no sync state (a new host, an index written by hand) rebuilds the index from the
templates once. The state file beside each index remembers the changes applied; ids of the last
GRACE_SECONDS are read again, so a transaction that committed after a later one is not missed.
"""

from __future__ import annotations

import fcntl
import json
import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import Engine, delete, func, select
from sqlalchemy.orm import Session

from exam_server.database import DbSession, rows_touched
from exam_server.face.index import FaceIndex
from exam_server.face.models import EmbeddingModel
from exam_server.models import FaceIndexChange, FaceTemplate, utcnow

GRACE_SECONDS = 120.0
REBUILD_AFTER_SECONDS = 7 * 24 * 3600.0  # changes are kept 8 days (prune_changes); older state means rebuild
_last_sync: dict[str, float] = {}
_lock = threading.Lock()


def record_change(session: DbSession, worker_id: int) -> None:
    """Note, in the caller's transaction, that a worker's templates changed (every index will follow)."""
    session.add(FaceIndexChange(worker_id=worker_id, created_at=utcnow()))


def keep_current(index: FaceIndex, model: EmbeddingModel, engine: Engine, every_seconds: float) -> None:
    """Catch the index up unless this process did so less than every_seconds ago."""
    key = str(index.path)
    now = time.monotonic()
    with _lock:
        if every_seconds > 0 and now - _last_sync.get(key, -1e9) < every_seconds:
            return
        _last_sync[key] = now
    catch_up(index, model, engine)


def _state_path(index: FaceIndex) -> Path:
    return index.path.with_name(index.path.name + ".sync.json")


@contextmanager
def _host_lock(index: FaceIndex) -> Iterator[None]:
    """Let one process of this host replay changes into an index file at a time."""
    path = index.path.with_name(index.path.name + ".sync.lock")
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+b") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def catch_up(index: FaceIndex, model: EmbeddingModel, engine: Engine) -> dict[str, int]:
    """Apply the changes this host's index has not seen; rebuild it first if it has no sync state."""
    with _host_lock(index), Session(engine) as session:
        state = _read_state(index)
        rebuilt = 0
        if state is None or time.time() - state.get("synced_at", 0) > REBUILD_AFTER_SECONDS:
            # Changes settled before the rebuild are in the templates it reads; the recent ones are replayed.
            settled_before = utcnow() - timedelta(seconds=GRACE_SECONDS)
            floor = session.scalar(
                select(func.max(FaceIndexChange.id)).where(FaceIndexChange.created_at < settled_before)
            )
            rebuilt = _rebuild(session, index, model)
            state = {"floor": floor or 0, "seen": []}
        floor, seen = int(state["floor"]), set(state["seen"])
        rows = session.execute(
            select(FaceIndexChange.id, FaceIndexChange.worker_id, FaceIndexChange.created_at)
            .where(FaceIndexChange.id > floor)
            .order_by(FaceIndexChange.id)
        ).all()
        changed = sorted({row.worker_id for row in rows if row.id not in seen})
        applied = _apply(session, index, model, changed)
        cutoff = utcnow().timestamp() - GRACE_SECONDS
        settled = [row.id for row in rows if row.created_at.timestamp() < cutoff]
        new_floor = max(settled, default=floor)
        _write_state(
            index,
            {"floor": new_floor, "seen": [row.id for row in rows if row.id > new_floor], "synced_at": time.time()},
        )
    return {"rebuilt": rebuilt, "workers": applied}


def _apply(session: DbSession, index: FaceIndex, model: EmbeddingModel, worker_ids: list[int]) -> int:
    """Store each worker's active template of this model in the index, or take the worker out."""
    for start in range(0, len(worker_ids), 1000):
        part = worker_ids[start : start + 1000]
        vectors = dict(
            session.execute(
                select(FaceTemplate.worker_id, FaceTemplate.vector)
                .where(
                    FaceTemplate.worker_id.in_(part),
                    FaceTemplate.active,
                    FaceTemplate.model_name == model.name,
                    FaceTemplate.model_version == model.version,
                )
                .order_by(FaceTemplate.id)  # the newest wins if a worker has two
            ).all()
        )
        for worker_id in part:
            if worker_id in vectors:
                index.upsert(worker_id, np.frombuffer(vectors[worker_id], dtype="<f4"))
            else:
                index.remove(worker_id)
    return len(worker_ids)


def _rebuild(session: DbSession, index: FaceIndex, model: EmbeddingModel) -> int:
    rows = session.execute(
        select(FaceTemplate.worker_id, FaceTemplate.vector)
        .where(FaceTemplate.active, FaceTemplate.model_name == model.name, FaceTemplate.model_version == model.version)
        .order_by(FaceTemplate.id)
    ).all()
    vectors = {row.worker_id: row.vector for row in rows}
    matrix = np.array([np.frombuffer(v, dtype="<f4") for v in vectors.values()], dtype=np.float32).reshape(
        len(vectors), model.dim
    )
    FaceIndex.build(index.path, model.key, list(vectors), matrix, model.metric)  # the open index remaps on use
    return len(vectors)


def _read_state(index: FaceIndex) -> dict[str, Any] | None:
    try:
        return json.loads(_state_path(index).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def _write_state(index: FaceIndex, state: dict[str, Any]) -> None:
    path = _state_path(index)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(state), encoding="utf-8")
    os.replace(tmp, path)


def forget(index: FaceIndex) -> None:
    """Drop the sync state of an index rewritten by other means, so its next use rebuilds it."""
    _state_path(index).unlink(missing_ok=True)
    with _lock:
        _last_sync.pop(str(index.path), None)


def prune_changes(session: DbSession, older_than_seconds: float = REBUILD_AFTER_SECONDS + 24 * 3600) -> int:
    """Delete change rows every host has long applied (a host silent longer rebuilds); commit."""
    cutoff = utcnow() - timedelta(seconds=older_than_seconds)
    result = session.execute(delete(FaceIndexChange).where(FaceIndexChange.created_at < cutoff))
    removed = rows_touched(result)
    session.commit()
    return removed
