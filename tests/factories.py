"""Small factories that build valid objects for tests."""

from __future__ import annotations

import itertools
import random
from dataclasses import dataclass
from datetime import date

from sqlalchemy import text

from exam_server.demo import synthetic
from exam_server.models import Base, County, Enterprise, Industry, JobCategory, Role, Township, User, Worker
from exam_server.reference import credit_code
from exam_server.services.admin import accounts
from exam_server.services.admin.workers import register_worker

PASSWORD = "correct-horse-42"
_serial = itertools.count(1)
_rng = random.Random(7)
# Birth dates count back from a fixed day, so generated citizen IDs do not change with the day the tests run.
ID_REFERENCE_DAY = date(2026, 1, 1)


def small_ruleset(rule_id: str, name: str) -> dict:
    """Return a paper of 8 questions the bundled bank can always fill, whatever rule sets question_bank ships."""
    return {
        "id": rule_id,
        "name": name,
        "duration_minutes": 30,
        "pass_mark": 10,
        "points": {"single": 2, "multiple": 3, "truefalse": 1},
        "rules": [
            {"category": "安全生产法律法规", "type": "single", "count": 4},
            {"category": "消防安全", "type": "multiple", "count": 2},
            {"category": "应急救援与疏散", "type": "truefalse", "count": 2},
        ],
    }


def empty_all_tables(sqla) -> None:
    """Delete every row, children first, so the next test starts empty."""
    with sqla.engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            names = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
            conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
        else:
            for table in reversed(Base.metadata.sorted_tables):
                conn.execute(table.delete())


def county(session, code: str | None = None, name: str | None = None) -> County:
    n = next(_serial)
    obj = County(code=code or f"3713{n % 100:02d}", name=name or f"测试区{n}")
    session.add(obj)
    session.flush()
    session.add(Township(county_id=obj.id, code=f"{obj.code}{n % 1_000_000:06d}", name=f"测试镇{n}"))
    session.flush()
    return obj


def industry(session, code: str = "hazchem", name: str = "危险化学品") -> Industry:
    obj = session.query(Industry).filter_by(code=code).one_or_none()
    if obj is None:
        obj = Industry(code=code, name=name)
        session.add(obj)
        session.flush()
    return obj


def enterprise(
    session, county_obj: County, industry_obj: Industry | None = None, name: str | None = None
) -> Enterprise:
    n = next(_serial)
    industry_obj = industry_obj or industry(session)
    township = session.query(Township).filter_by(county_id=county_obj.id).first()
    obj = Enterprise(
        credit_code=credit_code(county_obj.code, n),
        name=name or f"测试企业{n}",
        county_id=county_obj.id,
        township_id=township.id if township else None,
        industry_id=industry_obj.id,
    )
    session.add(obj)
    session.flush()
    return obj


def worker(
    session,
    enterprise_obj: Enterprise,
    job: JobCategory = JobCategory.GENERAL,
    name: str | None = None,
    citizen_id: str | None = None,
) -> Worker:
    county_code = enterprise_obj.county.code if enterprise_obj.county else "371302"
    return register_worker(
        session,
        citizen_id=citizen_id or synthetic.citizen_id(_rng, county_code, today=ID_REFERENCE_DAY),
        name=name or synthetic.person_name(_rng),
        enterprise_id=enterprise_obj.id,
        job_category=job,
    )


def user(
    session,
    role: Role | str,
    *,
    county_obj: County | None = None,
    enterprise_obj: Enterprise | None = None,
    username: str | None = None,
) -> User:
    return accounts.create_user(
        session,
        username or f"{Role(role).value}_{next(_serial)}",
        PASSWORD,
        role,
        county=county_obj,
        enterprise=enterprise_obj,
    )


@dataclass
class World:
    """Two tenants side by side, for ownership tests."""

    county_a: County
    county_b: County
    enterprise_a: Enterprise
    enterprise_b: Enterprise
    workers_a: list[Worker]
    workers_b: list[Worker]
    city: User
    county_admin_a: User
    enterprise_admin_a: User
    reviewer: User

    @classmethod
    def build(cls, session) -> World:
        county_a, county_b = county(session, "371302", "兰山区"), county(session, "371311", "罗庄区")
        enterprise_a, enterprise_b = enterprise(session, county_a), enterprise(session, county_b)
        world = cls(
            county_a=county_a,
            county_b=county_b,
            enterprise_a=enterprise_a,
            enterprise_b=enterprise_b,
            workers_a=[worker(session, enterprise_a) for _ in range(3)],
            workers_b=[worker(session, enterprise_b) for _ in range(2)],
            city=user(session, Role.CITY, username="city_admin"),
            county_admin_a=user(session, Role.COUNTY, county_obj=county_a, username="county_a"),
            enterprise_admin_a=user(session, Role.ENTERPRISE, enterprise_obj=enterprise_a, username="ent_a"),
            reviewer=user(session, Role.REVIEWER, username="reviewer_1"),
        )
        session.commit()
        return world
