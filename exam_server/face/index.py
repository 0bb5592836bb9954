"""Exact 1:N search over every enrolled template, in one memory-mapped file shared by all processes.

The file holds a header, the ids, each vector's norm and the unit-length float32 vectors. Writers
take an exclusive lock on a side file and bump a generation counter (odd while a write is in
progress); readers retry a search that overlapped a write, and remap when a writer replaced the
file to grow it.
"""

from __future__ import annotations

import fcntl
import os
import re
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .engine import Embedding, FaceSample
from .errors import ModelMismatchError
from .models import EmbeddingModel

MAGIC = b"EXFACEIX"
FORMAT_VERSION = 1
HEADER_BYTES = 4096
_HEADER = np.dtype(
    [
        ("magic", "S8"),
        ("format", "<u4"),
        ("dim", "<u4"),
        ("capacity", "<u8"),
        ("count", "<u8"),
        ("generation", "<u8"),
        ("metric", "S16"),
        ("model", "S128"),
    ]
)
_INITIAL_CAPACITY = 1024


@dataclass(frozen=True)
class SearchHit:
    """One candidate of a 1:N search (a hit is only ever a lead for human review)."""

    worker_id: int
    distance: float
    rank: int
    within_threshold: bool

    def to_dict(self) -> dict[str, object]:
        return {
            "worker_id": self.worker_id,
            "distance": round(self.distance, 6),
            "rank": self.rank,
            "within_threshold": self.within_threshold,
        }


def index_path(data_dir: str | os.PathLike[str], model_key: str) -> Path:
    """Return the index file for a model under the data directory."""
    safe = re.sub(r"[^A-Za-z0-9._-]+", "_", model_key)
    return Path(data_dir) / "face" / f"{safe}.faceidx"


def _layout(capacity: int, dim: int) -> tuple[int, int, int, int]:
    ids_at = HEADER_BYTES
    norms_at = ids_at + 8 * capacity
    vectors_at = -(-(norms_at + 4 * capacity) // 64) * 64
    return ids_at, norms_at, vectors_at, vectors_at + 4 * capacity * dim


class FaceIndex:
    """A file-backed exact index keyed by integer id (worker or template id)."""

    def __init__(
        self, path: str | os.PathLike[str], model_key: str, dim: int, metric: str = "euclidean", create: bool = True
    ) -> None:
        self.path = Path(path)
        self.model_key = model_key
        self.dim = dim
        self.metric = metric
        self._lock_path = self.path.with_name(self.path.name + ".lock")
        self._inode: tuple[int, int] | None = None
        if not self.path.exists():
            if not create:
                raise FileNotFoundError(self.path)
            with self._locked():
                if not self.path.exists():
                    self._write_file(
                        self.path, np.empty(0, np.int64), np.empty((0, dim), np.float32), _INITIAL_CAPACITY
                    )
        self._map()

    @classmethod
    def for_model(cls, data_dir: str | os.PathLike[str], model: EmbeddingModel) -> FaceIndex:
        """Open (or create) the index of an EmbeddingModel under the data directory."""
        return cls(index_path(data_dir, model.key), model.key, model.dim, model.metric)

    @classmethod
    def build(
        cls,
        path: str | os.PathLike[str],
        model_key: str,
        ids: Sequence[int] | np.ndarray,
        vectors: np.ndarray,
        metric: str = "euclidean",
    ) -> FaceIndex:
        """Write a complete index at once (replacing any file there) and open it."""
        vectors = np.asarray(vectors, dtype=np.float32)
        ids = np.asarray(ids, dtype=np.int64)
        if len(np.unique(ids)) != len(ids):
            raise ValueError("ids must be unique")
        index = cls.__new__(cls)
        index.path, index.model_key, index.dim, index.metric = Path(path), model_key, vectors.shape[1], metric
        index._lock_path = index.path.with_name(index.path.name + ".lock")
        index._inode = None
        with index._locked():
            index._write_file(index.path, ids, vectors, max(_INITIAL_CAPACITY, len(ids)))
        index._map()
        return index

    # Mapping.

    def _map(self) -> None:
        stat = os.stat(self.path)
        self._mm = np.memmap(self.path, dtype=np.uint8, mode="r+")
        self._header = np.ndarray((), dtype=_HEADER, buffer=self._mm, offset=0)
        header = self._header
        if bytes(header["magic"][()]) != MAGIC or int(header["format"]) != FORMAT_VERSION:
            raise ValueError(f"{self.path} is not a face index of format {FORMAT_VERSION}")
        stored = bytes(header["model"][()]).decode()
        if stored != self.model_key or int(header["dim"]) != self.dim:
            raise ModelMismatchError(f"{self.model_key} (dim {self.dim})", f"index {stored} (dim {int(header['dim'])})")
        capacity = int(header["capacity"])
        ids_at, norms_at, vectors_at, _ = _layout(capacity, self.dim)
        self._capacity = capacity
        self._ids = np.ndarray((capacity,), np.int64, self._mm, ids_at)
        self._norms = np.ndarray((capacity,), np.float32, self._mm, norms_at)
        self._units = np.ndarray((capacity, self.dim), np.float32, self._mm, vectors_at)
        self._inode = (stat.st_dev, stat.st_ino)

    def refresh(self) -> bool:
        """Remap if another process replaced the file; return whether it did."""
        stat = os.stat(self.path)
        if (stat.st_dev, stat.st_ino) == self._inode:
            return False
        self._map()
        return True

    def close(self) -> None:
        """Drop the mapping."""
        for name in ("_ids", "_norms", "_units", "_header", "_mm"):
            self.__dict__.pop(name, None)

    def _write_file(self, path: Path, ids: np.ndarray, vectors: np.ndarray, capacity: int) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        ids_at, norms_at, vectors_at, size = _layout(capacity, self.dim)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        with open(tmp, "wb") as handle:
            handle.truncate(size)
        mm = np.memmap(tmp, dtype=np.uint8, mode="r+")
        header = np.ndarray((), dtype=_HEADER, buffer=mm, offset=0)
        header["magic"], header["format"], header["dim"] = MAGIC, FORMAT_VERSION, self.dim
        header["capacity"], header["count"], header["generation"] = capacity, len(ids), 0
        header["metric"], header["model"] = self.metric.encode(), self.model_key.encode()
        count = len(ids)
        np.ndarray((capacity,), np.int64, mm, ids_at)[:count] = ids
        norms, units = _split(vectors)
        np.ndarray((capacity,), np.float32, mm, norms_at)[:count] = norms
        np.ndarray((capacity, self.dim), np.float32, mm, vectors_at)[:count] = units
        mm.flush()
        del header, mm
        os.replace(tmp, path)

    @contextmanager
    def _locked(self) -> Iterator[None]:
        self._lock_path.parent.mkdir(parents=True, exist_ok=True)
        with open(self._lock_path, "a+b") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    # Reading.

    def __len__(self) -> int:
        self.refresh()
        return int(self._header["count"])

    def __contains__(self, worker_id: object) -> bool:
        self.refresh()
        count = int(self._header["count"])
        return bool(np.any(self._ids[:count] == int(worker_id)))  # type: ignore[call-overload]

    @property
    def generation(self) -> int:
        return int(self._header["generation"])

    def ids(self) -> np.ndarray:
        """Return a copy of every id in the index."""
        self.refresh()
        return self._ids[: int(self._header["count"])].copy()

    def spread(self, count: int, exclude: int | None = None) -> np.ndarray:
        """Return up to count stored vectors spread evenly over the index (a cohort sample), leaving one id out."""
        self.refresh()
        total = int(self._header["count"])
        rows = np.arange(total)
        if exclude is not None:
            rows = rows[self._ids[:total] != exclude]
        if rows.size > count:
            rows = rows[np.linspace(0, rows.size - 1, count).round().astype(np.int64)]
        return (self._units[rows] * self._norms[rows, None]).astype(np.float32)

    def vector(self, worker_id: int) -> np.ndarray | None:
        """Return the stored vector of an id, or None."""
        self.refresh()
        count = int(self._header["count"])
        rows = np.flatnonzero(self._ids[:count] == worker_id)
        if not rows.size:
            return None
        return (self._units[rows[0]] * self._norms[rows[0]]).astype(np.float32)

    def search(
        self,
        vector: np.ndarray | Embedding | FaceSample,
        k: int = 10,
        threshold: float | None = None,
        exclude: int | None = None,
    ) -> list[SearchHit]:
        """Return the k nearest ids with exact distances, nearest first."""
        query = self._query(vector)
        self.refresh()
        for attempt in range(100):
            before = int(self._header["generation"])
            if before % 2:
                time.sleep(0.0005 * (attempt + 1))
                continue
            hits = self._search_once(query, k, threshold, exclude)
            if int(self._header["generation"]) == before:
                return hits
        raise TimeoutError(f"{self.path} kept changing during the search")

    def _search_once(self, query: np.ndarray, k: int, threshold: float | None, exclude: int | None) -> list[SearchHit]:
        count = int(self._header["count"])
        if count == 0 or k <= 0:
            return []
        q_norm = float(np.linalg.norm(query))
        cosine = self._units[:count] @ (query / q_norm)
        if self.metric == "cosine":
            scores = 1.0 - cosine
        else:
            norms = self._norms[:count]
            # |q - x|^2 = |q|^2 + |x|^2 - 2 |q| |x| cos(q, x)
            scores = norms * (norms - 2.0 * q_norm * cosine)
            scores += q_norm * q_norm
        if exclude is not None:
            scores[self._ids[:count] == exclude] = np.inf
        take = min(k, count)
        nearest = _smallest(scores, take)
        nearest = nearest[np.argsort(scores[nearest], kind="stable")]
        ids = self._ids[nearest].copy()
        # Recompute the few winners in float64: the expanded form loses precision for near-duplicates.
        stored = self._units[nearest].astype(np.float64) * self._norms[nearest, None]
        exact = query.astype(np.float64)
        if self.metric == "cosine":
            # As EmbeddingModel.distance: never below 0. 1 - cosine with the float32 norm of the query
            # gave a stored vector's own search up to -7e-8.
            units = stored / np.linalg.norm(stored, axis=1, keepdims=True)
            values = 0.5 * np.sum((units - exact / np.linalg.norm(exact)) ** 2, axis=1)
        else:
            values = np.linalg.norm(stored - exact, axis=1)
        values[~np.isfinite(scores[nearest])] = np.inf
        order = np.argsort(values, kind="stable")
        ids, values = ids[order], values[order]
        return [
            SearchHit(int(i), float(d), rank, threshold is not None and float(d) <= threshold)
            for rank, (i, d) in enumerate(zip(ids, values, strict=False), start=1)
            if np.isfinite(d)
        ]

    def _query(self, vector: np.ndarray | Embedding | FaceSample) -> np.ndarray:
        if isinstance(vector, FaceSample):
            vector = vector.embedding
        if isinstance(vector, Embedding):
            if vector.model_key != self.model_key:
                raise ModelMismatchError(vector.model_key, self.model_key)
            vector = vector.vector
        query = np.asarray(vector, dtype=np.float32).reshape(-1)
        if query.shape != (self.dim,):
            raise ValueError(f"expected a vector of {self.dim} values, got {query.shape}")
        if not np.isfinite(query).all() or not np.any(query):
            raise ValueError("vector must be finite and non-zero")
        return query

    # Writing.

    def upsert(self, worker_id: int, vector: np.ndarray | Embedding | FaceSample) -> None:
        """Insert or replace the vector of an id."""
        query = self._query(vector)
        norms, units = _split(query.reshape(1, -1))
        with self._locked():
            self.refresh()
            count = int(self._header["count"])
            rows = np.flatnonzero(self._ids[:count] == worker_id)
            if rows.size:
                row = int(rows[0])
            else:
                if count == self._capacity:
                    self._grow(count)
                row = count
            self._begin_write()
            self._ids[row] = worker_id
            self._norms[row] = norms[0]
            self._units[row] = units[0]
            if row == count:
                self._header["count"] = count + 1
            self._end_write()

    def remove(self, worker_id: int) -> bool:
        """Remove an id; return whether it was there."""
        with self._locked():
            self.refresh()
            count = int(self._header["count"])
            rows = np.flatnonzero(self._ids[:count] == worker_id)
            if not rows.size:
                return False
            row, last = int(rows[0]), count - 1
            self._begin_write()
            self._ids[row] = self._ids[last]
            self._norms[row] = self._norms[last]
            self._units[row] = self._units[last]
            self._header["count"] = last
            self._end_write()
            return True

    def flush(self) -> None:
        """Write the mapped pages to disk."""
        self._mm.flush()

    def _begin_write(self) -> None:
        self._header["generation"] = int(self._header["generation"]) + 1

    def _end_write(self) -> None:
        self._header["generation"] = int(self._header["generation"]) + 1

    def _grow(self, count: int) -> None:
        ids = self._ids[:count].copy()
        vectors = self._units[:count] * self._norms[:count, None]
        self._write_file(self.path, ids, vectors, max(_INITIAL_CAPACITY, self._capacity * 2))
        self._map()


def _smallest(scores: np.ndarray, take: int) -> np.ndarray:
    """Return the indices of the take smallest scores (unordered)."""
    if take >= len(scores):
        return np.arange(len(scores))
    stride = 64
    if len(scores) >= stride * take * 4:
        # The take-th smallest of every 64th score bounds the take-th smallest of all of them from above,
        # so a cheap filter leaves a few hundred candidates for the exact partition.
        cut = np.partition(scores[::stride], take - 1)[take - 1]
        candidates = np.flatnonzero(scores <= cut)
        if len(candidates) <= take:
            return candidates
        return candidates[np.argpartition(scores[candidates], take - 1)[:take]]
    return np.argpartition(scores, take - 1)[:take]


def _split(vectors: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    vectors = np.asarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(vectors, axis=1).astype(np.float32)
    safe = np.where(norms > 0, norms, 1.0).astype(np.float32)
    return norms, (vectors / safe[:, None]).astype(np.float32)
