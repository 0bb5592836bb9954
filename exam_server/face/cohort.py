"""The enrolled population a 1:1 decision is judged against: cohort score normalisation and the rank check.

- **Cohort normalisation** (adaptive symmetric normalisation, after Terhörst et al. 2020, "Fair Score
  Normalization", and Linghu et al. 2024, "Score Normalization for Demographic Fairness in Face
  Recognition"): per model, a distance d between live face p and template t becomes
  s = ((d - mean_p) / std_p + (d - mean_t) / std_t) / 2, where mean_p, std_p describe the `top_k`
  nearest of an evenly spread sample of `sample_size` other enrolled workers to p (and likewise for t).
  An impostor's distance sits among the faces nearest to the live one, a genuine one far below them,
  whatever the population: so one threshold holds for populations whose faces sit closer together.
  The sample has a fixed size so that the statistics do not depend on how many are enrolled.
- **Rank check**: when another enrolled worker (the claimed worker's colleagues, or everyone) is nearer
  to the live face than the claimed worker is, by the model the 1:N index searches, a "match" goes to
  review and the look-alike is named.

Galleries are FaceIndex files on the server and ArrayGallery for labelled photos (`face evaluate --cohort`).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple, Protocol

import numpy as np


class Hit(NamedTuple):
    """A gallery search result: what the rank check reads of FaceIndex's SearchHit too."""

    worker_id: int
    distance: float
    rank: int
    within_threshold: bool


class Gallery(Protocol):
    """Enrolled vectors of one model that can be searched and sampled."""

    model_key: str
    metric: str

    def __len__(self) -> int: ...

    def __contains__(self, worker_id: object) -> bool: ...

    def search(
        self, vector: np.ndarray, k: int = 10, threshold: float | None = None, exclude: int | None = None
    ) -> Sequence[Any]: ...  # FaceIndex's SearchHit or Hit: worker_id, distance, rank

    def spread(self, count: int, exclude: int | None = None) -> np.ndarray: ...


class ArrayGallery:
    """An in-memory gallery: one row per enrolled photo, rows of one person sharing an id."""

    def __init__(
        self,
        model_key: str,
        ids: Sequence[int] | np.ndarray,
        vectors: np.ndarray,
        metric: str = "cosine",
        mask: np.ndarray | None = None,
    ) -> None:
        self.model_key = model_key
        self.metric = metric
        self.ids = np.asarray(ids, dtype=np.int64)
        array = np.asarray(vectors, dtype=np.float32)
        self.vectors = (
            array.reshape(len(self.ids), array.shape[-1] if array.ndim > 1 else -1) if len(self.ids) else array
        )
        self.mask = np.ones(len(self.ids), bool) if mask is None else np.asarray(mask, bool)

    def restricted(self, drop_rows: Collection[int] = (), drop_ids: Collection[int] = ()) -> ArrayGallery:
        """Return a view without some rows and without every row of some ids."""
        mask = self.mask.copy()
        if len(drop_rows):
            mask[np.asarray(list(drop_rows), dtype=np.int64)] = False
        if len(drop_ids):
            mask &= ~np.isin(self.ids, np.asarray(list(drop_ids), dtype=np.int64))
        return ArrayGallery(self.model_key, self.ids, self.vectors, self.metric, mask)

    def __len__(self) -> int:
        return int(np.unique(self.ids[self.mask]).size)

    def __contains__(self, worker_id: object) -> bool:
        return bool(np.any(self.ids[self.mask] == int(worker_id)))  # type: ignore[call-overload]

    def _rows(self, exclude: int | None) -> np.ndarray:
        keep = self.mask if exclude is None else self.mask & (self.ids != exclude)
        return np.flatnonzero(keep)

    def search(
        self, vector: np.ndarray, k: int = 10, threshold: float | None = None, exclude: int | None = None
    ) -> list[Hit]:
        """Return the k nearest ids (each id once, at its nearest row), nearest first."""
        rows = self._rows(exclude)
        if not rows.size or k <= 0:
            return []
        values = distances(self.vectors[rows], vector, self.metric)
        order = np.argsort(values, kind="stable")
        hits: list[Hit] = []
        seen: set[int] = set()
        for row in order:
            worker = int(self.ids[rows[row]])
            if worker in seen:
                continue
            seen.add(worker)
            d = float(values[row])
            hits.append(Hit(worker, d, len(hits) + 1, threshold is not None and d <= threshold))
            if len(hits) == k:
                break
        return hits

    def spread(self, count: int, exclude: int | None = None) -> np.ndarray:
        """Return up to count vectors spread evenly over the gallery's rows."""
        rows = self._rows(exclude)
        if rows.size > count:
            rows = rows[np.linspace(0, rows.size - 1, count).round().astype(np.int64)]
        return self.vectors[rows]


def distances(matrix: np.ndarray, vector: np.ndarray, metric: str) -> np.ndarray:
    """Return the distance of one vector to every row, as EmbeddingModel.distance measures it."""
    rows = np.asarray(matrix, dtype=np.float64)
    query = np.asarray(vector, dtype=np.float64).reshape(-1)
    if metric == "cosine":
        units = rows / np.maximum(np.linalg.norm(rows, axis=1, keepdims=True), 1e-12)
        unit = query / max(float(np.linalg.norm(query)), 1e-12)
        return np.maximum(1.0 - units @ unit, 0.0)
    return np.asarray(np.linalg.norm(rows - query, axis=1))


def mean_vector(vectors: Sequence[np.ndarray], metric: str) -> np.ndarray:
    """Return the vector standing for several pictures of one face (unit-length mean for cosine models)."""
    stack = np.asarray(vectors, dtype=np.float64).reshape(len(vectors), -1)
    if metric == "cosine":
        stack = stack / np.maximum(np.linalg.norm(stack, axis=1, keepdims=True), 1e-12)
        mean = stack.mean(axis=0)
        return mean / max(float(np.linalg.norm(mean)), 1e-12)
    return np.asarray(stack.mean(axis=0))


@dataclass(frozen=True)
class CohortStats:
    """How near the nearest of a cohort sample come to one face."""

    mean: float
    std: float
    sampled: int


def cohort_stats(
    gallery: Gallery, vector: np.ndarray, sample_size: int, top_k: int, exclude: int | None
) -> CohortStats:
    """Describe the top_k nearest of sample_size gallery rows spread evenly (the claimed worker left out)."""
    sample = gallery.spread(sample_size, exclude)
    values = np.sort(distances(sample, vector, gallery.metric))[: max(1, top_k)]
    return CohortStats(float(values.mean()), max(float(values.std()), 1e-6), int(len(sample)))


def normalised(distance: float, probe: CohortStats, template: CohortStats) -> float:
    """Return the symmetric cohort-normalised score of a distance (lower is more alike, like a distance)."""
    return 0.5 * ((distance - probe.mean) / probe.std + (distance - template.mean) / template.std)


@dataclass
class Population:
    """The other enrolled workers a decision is judged against (the claimed worker is left out everywhere)."""

    galleries: Mapping[str, Gallery]  # by model key: cohort normalisation
    claimed: int | None = None
    rank_gallery: Gallery | None = None  # the searched model's gallery the rank check looks in

    def size(self, model_keys: Sequence[str]) -> int:
        """Return how many other workers every one of these models' galleries holds (0 if one is missing)."""
        sizes = []
        for key in model_keys:
            gallery = self.galleries.get(key)
            if gallery is None:
                return 0
            sizes.append(len(gallery) - int(self.claimed is not None and self.claimed in gallery))
        return min(sizes) if sizes else 0
