"""Analyse many image files on every core, yielding results in input order."""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace

from .detection import Ibug68Landmarks
from .engine import SOURCE_KINDS, FaceEngine, FaceSample
from .errors import FaceRefusal
from .settings import FaceSettings

_engine: FaceEngine | None = None


@dataclass(frozen=True)
class BatchResult:
    """The sample made from one file, or the reason it was refused."""

    path: str
    sample: FaceSample | None
    error: str | None = None
    message_zh: str | None = None
    detail: str = ""

    @property
    def ok(self) -> bool:
        return self.sample is not None


def enrol_batch(
    paths: Iterable[str | os.PathLike[str]],
    source: str = "batch",
    processes: int | None = None,
    settings: FaceSettings | None = None,
    chunksize: int = 2,
) -> Iterator[BatchResult]:
    """Yield an enrolment sample (or refusal) for every file, in order, using a process pool."""
    if source not in SOURCE_KINDS:
        raise ValueError(f"unknown photo source {source!r}; known: {sorted(SOURCE_KINDS)}")
    return analyse_files(paths, SOURCE_KINDS[source], processes, settings, source=source, chunksize=chunksize)


def analyse_files(
    paths: Iterable[str | os.PathLike[str]],
    kind: str = "upload",
    processes: int | None = None,
    settings: FaceSettings | None = None,
    source: str | None = None,
    id_card: bool = False,
    chunksize: int = 2,
    check: bool = True,
) -> Iterator[BatchResult]:
    """Yield the analysis of every file in order; id_card=True first cuts each to a 102x126 ID-card photo.

    check=False keeps the quality figures without refusing on them (the caller applies
    quality.check_quality for each use), so one analysis serves an image used as several kinds.
    """
    settings = settings or FaceSettings()
    processes = settings.batch_processes if processes is None else processes
    jobs = ((os.fspath(p), kind, source or kind, id_card, check) for p in paths)
    if processes <= 1:
        _init_worker(settings)
        yield from map(_analyse_job, jobs)
        return
    context = multiprocessing.get_context("fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn")
    pool = context.Pool(processes, initializer=_init_worker, initargs=(settings,))
    try:
        yield from pool.imap(_analyse_job, jobs, chunksize=chunksize)
        pool.close()
    finally:
        pool.terminate()
        pool.join()


def _init_worker(settings: FaceSettings) -> None:
    global _engine
    if _engine is None or _engine.settings != settings:
        _engine = FaceEngine(settings)


def _analyse_job(job: tuple[str, str, str, bool, bool]) -> BatchResult:
    path, kind, source, id_card, check = job
    assert _engine is not None
    try:
        with open(path, "rb") as handle:
            data = handle.read(_engine.settings.max_bytes + 1)
        if id_card:
            data = _engine.id_card_photo(data)
        if check:
            sample = _engine.analyse(data, kind, source)
        else:
            sample = _engine.analyse_rgb(_engine.decode(data, kind).rgb, kind, source, check=False)
    except FaceRefusal as refusal:
        return BatchResult(path, None, refusal.code, refusal.message_zh, refusal.detail)
    except OSError as exc:
        return BatchResult(path, None, "unreadable", "无法读取文件。", str(exc))
    # dlib's shape object does not travel between processes; the points do.
    landmarks = Ibug68Landmarks(sample.landmarks.points) if sample.landmarks is not None else None
    return BatchResult(path, replace(sample, landmarks=landmarks))
