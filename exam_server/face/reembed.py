"""Engine side of re-enrolment with another embedding model: stored photos in, one template per photo out.

The server's command (`exam-server face reenrol --model NAME`) owns the database: it lists the stored
enrolment photos that have no active template of the new model's key yet (which makes the work
resumable: run it again after a stop and it picks up the rest), calls `reembed_files`, stores each
vector with `embedding.model_name` / `embedding.model_version`, and counts progress as results arrive.
Templates of different models are never mixed: each result carries its model's key.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Container, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from .batch import analyse_files
from .engine import SOURCE_KINDS, Embedding, FaceEngine
from .settings import FaceSettings


@dataclass(frozen=True)
class ReembedResult:
    """The new model's embedding of one stored photo, or why the photo was refused."""

    photo_id: Any
    path: str
    embedding: Embedding | None
    error: str | None = None
    detail: str = ""

    @property
    def ok(self) -> bool:
        return self.embedding is not None


def model_key(model: str, settings: FaceSettings | None = None) -> str:
    """Return the "name/version" key the model would give its templates (loads the model)."""
    settings = settings or FaceSettings()
    return FaceEngine(settings.replace(model=model, extra_models=())).model.key


def reembed_files(
    photos: Iterable[tuple[Any, str | os.PathLike[str], str]],
    model: str,
    settings: FaceSettings | None = None,
    processes: int | None = None,
    done: Container[Any] = (),
    progress: Callable[[int, ReembedResult], None] | None = None,
) -> Iterator[ReembedResult]:
    """Yield, in order, a template vector of `model` for every (photo_id, path, source) not in `done`.

    Each photo is analysed once (detection, landmarks, quality) on `processes` processes
    (settings.batch_processes by default); `progress(count, result)` is called after each one.
    """
    settings = (settings or FaceSettings()).replace(model=model.strip().lower(), extra_models=())
    todo = [(pid, os.fspath(path), source) for pid, path, source in photos if pid not in done]
    for source in {s for _, _, s in todo}:
        if source not in SOURCE_KINDS:
            raise ValueError(f"unknown photo source {source!r}; known: {sorted(SOURCE_KINDS)}")
    count = 0
    # One pool per kind of photo (ID-card photos are detected with more upsampling), results back in input order.
    by_kind: dict[str, list[int]] = {}
    for number, (_, _, source) in enumerate(todo):
        by_kind.setdefault(SOURCE_KINDS[source], []).append(number)
    results: dict[int, ReembedResult] = {}
    order = iter(range(len(todo)))
    pending = next(order, None)
    for kind, numbers in by_kind.items():
        for number, item in zip(
            numbers, analyse_files([todo[n][1] for n in numbers], kind, processes, settings), strict=False
        ):
            pid, path, _ = todo[number]
            results[number] = (
                ReembedResult(pid, path, item.sample.embedding)
                if item.sample is not None
                else ReembedResult(pid, path, None, item.error, item.detail)
            )
            while pending is not None and pending in results:
                result = results.pop(pending)
                count += 1
                if progress is not None:
                    progress(count, result)
                yield result
                pending = next(order, None)
