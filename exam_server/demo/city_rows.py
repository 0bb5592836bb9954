"""The rows of a generated city while it is made: its scale, the rows kept in memory, and their chunked insert."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import func, insert, select

from exam_server.database import DbSession

CHUNK = 5_000


@dataclass(frozen=True)
class CityScale:
    """How big a city to make and the rates its year of exams should land near."""

    counties: int = 13
    industries: int = 19
    enterprises: int = 9_032
    workers: int = 310_000
    sittings: int = 374_000
    participation: float = 0.95  # requirements sat at least once / requirements
    pass_rate: float = 0.95  # requirements passed / requirements sat
    retake_pass_rate: float = 0.75  # second attempts that pass
    spread: float = 25.0  # Beta concentration of enterprise rates: lower means wider spread
    template_share: float = 1.0  # workers given synthetic face templates (one per model)
    answer_sample: int = 1_000  # sittings stored with a real paper and their answers
    face_checks: int = 400
    review_cases: int = 200
    seed: int = 2026


CITY = CityScale()
TINY = CityScale(
    counties=2, enterprises=30, workers=500, sittings=605, answer_sample=20, face_checks=40, review_cases=20
)
# The demo's first start: every county and industry, a few thousand workers and their year, in seconds.
TOWN = CityScale(enterprises=150, workers=3_000, sittings=3_620, answer_sample=300, face_checks=300, review_cases=60)


@dataclass
class City:
    """The generated rows, kept in memory between steps (ids are final)."""

    scale: CityScale
    anchor: datetime
    rng: random.Random
    counties: list[dict] = field(default_factory=list)
    townships: dict[int, list[dict]] = field(default_factory=dict)
    industries: list[dict] = field(default_factory=list)
    enterprises: list[dict] = field(default_factory=list)
    workers: list[dict] = field(default_factory=list)
    kiosks: list[dict] = field(default_factory=list)
    plans: list[dict] = field(default_factory=list)
    requirements: list[dict] = field(default_factory=list)


class Loader:
    """Insert rows in chunks with a shared progress bar and count them per table."""

    def __init__(self, session: DbSession, total: int, progress: bool) -> None:
        from tqdm import tqdm

        self.session = session
        self.rows: dict[str, int] = {}
        self.bar = tqdm(total=total, unit="rows", unit_scale=True, disable=not progress, mininterval=0.5)

    def insert(self, model: Any, rows: list[dict]) -> None:
        """Insert rows into the model's table, a chunk at a time."""
        table = model.__table__
        self.bar.set_description(table.name)
        if rows and any(key.startswith("_") for key in rows[0]):
            rows = [{k: v for k, v in row.items() if not k.startswith("_")} for row in rows]
        conn = self.session.connection()
        for start in range(0, len(rows), CHUNK):
            chunk = rows[start : start + CHUNK]
            conn.execute(insert(table), chunk)
            self.bar.update(len(chunk))
        self.rows[table.name] = self.rows.get(table.name, 0) + len(rows)

    def close(self) -> None:
        self.bar.close()


def next_id(session: DbSession, model: Any) -> int:
    """Return the first free id of a table."""
    return (session.scalar(select(func.max(model.id))) or 0) + 1
