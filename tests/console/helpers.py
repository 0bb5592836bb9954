"""Builders for console tests: worker spreadsheets, valid and broken citizen IDs."""

from __future__ import annotations

import csv
import io
import random
import tempfile

from exam_server import create_app
from exam_server.citizen_id import CHECK_CHARS, check_digit
from exam_server.demo import synthetic
from tests.factories import ID_REFERENCE_DAY

HEADER = ["姓名", "身份证号", "岗位类别", "手机号"]


def console_rules() -> list:
    """Return the console's routes, read from a throw-away app (no database is touched), in a stable order."""
    return blueprint_rules("console")


def blueprint_rules(blueprint: str) -> list:
    """Return one blueprint's routes, read from a throw-away app (no database is touched), in a stable order."""
    scratch = create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "k",
            "SQLALCHEMY_DATABASE_URI": "sqlite://",
            "DATA_DIR": tempfile.mkdtemp(prefix="exam-routes-"),
        }
    )
    return sorted(
        (r for r in scratch.url_map.iter_rules() if r.endpoint.startswith(f"{blueprint}.")),
        key=lambda r: (r.endpoint, r.rule),
    )


def citizen_ids(n: int, seed: int = 11, region: str = "371302") -> list[str]:
    """Return n distinct valid citizen IDs."""
    rng = random.Random(seed)
    found: dict[str, None] = {}
    while len(found) < n:
        found[synthetic.citizen_id(rng, region, today=ID_REFERENCE_DAY)] = None
    return list(found)


def wrong_check_digit(citizen_id: str) -> tuple[str, str]:
    """Return the ID with a wrong last character, and the character it should have."""
    right = check_digit(citizen_id[:17])
    wrong = next(c for c in CHECK_CHARS if c != right and c != "X")
    return citizen_id[:17] + wrong, right


def csv_bytes(rows: list[list], header: list[str] = HEADER, encoding: str = "utf-8-sig") -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue().encode(encoding)


def worker_rows(n: int, seed: int = 11, job: str = "一般从业人员") -> list[list]:
    rng = random.Random(seed)
    return [[synthetic.person_name(rng), cid, job, f"138{i:08d}"] for i, cid in enumerate(citizen_ids(n, seed))]
