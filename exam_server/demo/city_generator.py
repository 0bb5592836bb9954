"""Generate a whole city (regions, enterprises, workers, kiosks, plans, requirements) by bulk inserts.

Rows get precomputed ids and go in through Core inserts in chunks; ``city_history`` makes the year
of exams. Deterministic from the seed and anchor date, except secrets (kiosk token hashes,
certificate codes), which stay random so a generated database holds no guessable credentials.
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import func, insert, select, text

from exam_server import localday
from exam_server.database import DbSession
from exam_server.demo import synthetic
from exam_server.demo.city_rows import CITY, TINY, TOWN, City, CityScale, Loader, next_id
from exam_server.models import (
    County,
    DomainError,
    Enterprise,
    ExamPlan,
    ExamRequirement,
    Industry,
    JobCategory,
    Kiosk,
    Township,
    Worker,
)
from exam_server.reference import COUNTIES, INDUSTRIES, credit_code, township_names
from exam_server.services.exam import question_store

# Urban districts hold more enterprises than rural counties (index in COUNTIES -> weight).
COUNTY_WEIGHTS = {0: 3.0, 1: 2.0, 2: 1.6, 12: 1.2}
INDUSTRY_WEIGHTS = {
    "construction": 14,
    "commerce": 12,
    "machinery": 10,
    "crowded_places": 9,
    "light_industry": 8,
    "road_transport": 7,
    "building_materials": 6,
    "warehousing_logistics": 6,
    "textile": 5,
    "hazchem": 5,
    "dust_explosion": 4,
    "metallurgy": 2,
    "noncoal_mine": 2,
    "gas": 2,
    "nonferrous": 2,
    "ammonia_refrigeration": 2,
    "power": 2,
    "fireworks": 1,
    "tobacco": 1,
}
# Share of special-operations workers (electricians, welders, blasters...) by industry; 0.08 elsewhere.
SPECIAL_SHARE = {
    "hazchem": 0.25,
    "noncoal_mine": 0.30,
    "fireworks": 0.25,
    "metallurgy": 0.20,
    "gas": 0.20,
    "construction": 0.20,
    "power": 0.25,
    "nonferrous": 0.18,
    "ammonia_refrigeration": 0.15,
}
SUFFIX = {
    "hazchem": "化工有限公司",
    "noncoal_mine": "矿业有限公司",
    "metallurgy": "钢铁有限公司",
    "construction": "建设工程有限公司",
    "fireworks": "烟花爆竹有限公司",
    "nonferrous": "有色金属有限公司",
    "building_materials": "建材有限公司",
    "machinery": "机械制造有限公司",
    "light_industry": "食品有限公司",
    "textile": "纺织有限公司",
    "tobacco": "卷烟配送有限公司",
    "commerce": "商贸有限公司",
    "road_transport": "运输有限公司",
    "gas": "燃气有限公司",
    "dust_explosion": "木业有限公司",
    "ammonia_refrigeration": "冷链食品有限公司",
    "power": "电力工程有限公司",
    "warehousing_logistics": "物流有限公司",
    "crowded_places": "商业管理有限公司",
}
BRAND = "鑫华泰恒盛金宏远达源丰顺瑞兴隆昌通安利德祥康嘉新永联正信大"
# Real county-level codes (GB/T 2260) of places many of the city's migrant workers come from.
OTHER_REGIONS = (
    "370102",
    "370211",
    "370303",
    "370883",
    "371121",
    "320311",
    "321322",
    "320722",
    "341302",
    "340321",
    "410102",
    "411522",
    "130102",
    "220102",
)
LOCAL_SHARE = 0.82


@dataclass
class Summary:
    """What was generated: rows per table, the rates reached and the time taken."""

    rows: dict[str, int] = field(default_factory=dict)
    rates: dict[str, float] = field(default_factory=dict)
    seconds: float = 0.0

    def describe(self) -> str:
        """Return one line of counts for printing."""
        parts = [f"{self.rows.get(k, 0):,} {k}" for k in ("enterprise", "worker", "exam_requirement", "sitting")]
        rates = ", ".join(f"{k} {v:.1%}" for k, v in self.rates.items())
        return f"{', '.join(parts)} ({rates}) in {self.seconds:.0f} s"


def anchor_of(day: date | None) -> datetime:
    """Return the generation's "now": the start of the bureau's day ``day`` (default today), on its wall clock."""
    return localday.local(localday.day_start(day or localday.today()))


def generate(
    session: DbSession,
    scale: CityScale = CITY,
    *,
    anchor: date | None = None,
    data_dir: str | None = None,
    progress: bool = True,
) -> Summary:
    """Fill an empty database with a city and its year of exams; commit after each table."""
    from exam_server.demo import city_history

    if session.scalar(select(func.count(Enterprise.id))):
        raise DomainError("数据库中已有企业，请在空数据库中生成 / enterprises exist: generate into an empty database")
    started = time.perf_counter()
    city = City(scale, anchor_of(anchor), random.Random(scale.seed))
    question_store.load_bundled(session)
    load_reference(session, city)
    make_enterprises(session, city)
    make_workers(session, city)
    make_kiosks(session, city)
    make_plans(session, city)
    make_requirements(session, city)
    loader = Loader(session, len(city.enterprises) + len(city.workers) + len(city.kiosks) + len(city.plans), progress)
    try:
        for model, rows in (
            (Enterprise, city.enterprises),
            (Worker, city.workers),
            (Kiosk, city.kiosks),
            (ExamPlan, city.plans),
        ):
            loader.insert(model, rows)
            session.commit()
        loader.bar.set_description("simulating the year")
        loader.bar.refresh()
        history = city_history.simulate(session, city)
        loader.bar.total = loader.bar.n + len(city.requirements) + history.size()
        loader.insert(ExamRequirement, city.requirements)
        session.commit()
        city_history.load(session, city, history, loader, data_dir)
    finally:
        loader.close()
    fix_sequences(session)
    summary = Summary(rows=loader.rows, rates=city_history.rates(city.requirements))
    summary.seconds = time.perf_counter() - started
    return summary


def load_reference(session: DbSession, city: City) -> None:
    """Create the counties, townships and industries the scale needs, or reuse those present."""
    scale = city.scale
    if not session.scalar(select(func.count(County.id))):
        county_id, township_id = next_id(session, County), next_id(session, Township)
        counties, townships = [], []
        for index, (code, name) in enumerate(COUNTIES[: scale.counties]):
            counties.append({"id": county_id + index, "code": code, "name": name})
            for t, township in enumerate(township_names(index), start=1):
                townships.append(
                    {"id": township_id, "county_id": county_id + index, "code": f"{code}{t:03d}000", "name": township}
                )
                township_id += 1
        session.execute(insert(County.__table__), counties)
        session.execute(insert(Township.__table__), townships)
    if not session.scalar(select(func.count(Industry.id))):
        first = next_id(session, Industry)
        session.execute(
            insert(Industry.__table__),
            [{"id": first + i, "code": code, "name": name} for i, (code, name) in enumerate(INDUSTRIES)],
        )
    session.commit()
    rows = session.execute(select(County.id, County.code, County.name).order_by(County.id).limit(scale.counties))
    city.counties = [dict(r._mapping) for r in rows]
    for county in city.counties:
        city.townships[county["id"]] = [
            dict(r._mapping)
            for r in session.execute(
                select(Township.id, Township.name).where(Township.county_id == county["id"]).order_by(Township.id)
            )
        ]
    city.industries = [
        dict(r._mapping)
        for r in session.execute(
            select(Industry.id, Industry.code, Industry.name).order_by(Industry.id).limit(scale.industries)
        )
    ]


def _county_weight(county: dict) -> float:
    codes = [code for code, _ in COUNTIES]
    return COUNTY_WEIGHTS.get(codes.index(county["code"]) if county["code"] in codes else -1, 1.0)


def make_enterprises(session: DbSession, city: City) -> None:
    """Place enterprises in counties and industries, name them and give each a size (a few large, many small)."""
    rng, scale = city.rng, city.scale
    first = next_id(session, Enterprise)
    counties = rng.choices(city.counties, weights=[_county_weight(c) for c in city.counties], k=scale.enterprises)
    industries = rng.choices(
        city.industries, weights=[INDUSTRY_WEIGHTS.get(i["code"], 3) for i in city.industries], k=scale.enterprises
    )
    names: set[str] = set()
    for n, (county, industry) in enumerate(zip(counties, industries, strict=False)):
        township = rng.choice(city.townships[county["id"]])
        name = ""
        while not name or name in names:
            name = f"临沂{township['name'][:2]}{rng.choice(BRAND)}{rng.choice(BRAND)}{SUFFIX.get(industry['code'], '有限公司')}"
        names.add(name)
        city.enterprises.append(
            {
                "id": first + n,
                "credit_code": credit_code(county["code"], first + n),
                "name": name,
                "county_id": county["id"],
                "township_id": township["id"],
                "industry_id": industry["id"],
                "active": True,
                "_industry": industry["code"],
                "_county_code": county["code"],
            }
        )
    for enterprise, size in zip(
        city.enterprises, enterprise_sizes(rng, scale.enterprises, scale.workers), strict=False
    ):
        enterprise["_size"] = size


def enterprise_sizes(rng: random.Random, count: int, total: int) -> list[int]:
    """Split total workers over count enterprises, lognormally skewed, each with at least a minimum staff."""
    minimum = 3 if total >= 3 * count else max(1, total // count)
    weights = [rng.lognormvariate(0.0, 1.25) for _ in range(count)]
    rest, scale = total - minimum * count, sum(weights)
    raw = [w / scale * rest for w in weights]
    sizes = [minimum + int(r) for r in raw]
    by_fraction = sorted(range(count), key=lambda i: (int(raw[i]) - raw[i], i))
    for i in by_fraction[: total - sum(sizes)]:
        sizes[i] += 1
    return sizes


def job_mix(rng: random.Random, size: int, industry: str) -> list[JobCategory]:
    """Return the job categories of an enterprise's staff: one principal, managers, special ops, the rest."""
    managers = min(max(1, round(size / 50)), max(size - 1, 0))
    others = size - 1 - managers
    special = min(others, round(others * SPECIAL_SHARE.get(industry, 0.08) * rng.uniform(0.6, 1.4)))
    return (
        [JobCategory.PRINCIPAL]
        + [JobCategory.SAFETY_MANAGER] * managers
        + [JobCategory.SPECIAL_OPS] * special
        + [JobCategory.GENERAL] * (others - special)
    )[:size]


def make_workers(session: DbSession, city: City) -> None:
    """Create every enterprise's staff with unique, valid-format synthetic citizen IDs."""
    rng, today = city.rng, city.anchor.date()
    worker_id = next_id(session, Worker)
    seen: set[str] = set()
    for enterprise in city.enterprises:
        for job in job_mix(rng, enterprise["_size"], enterprise["_industry"]):
            region = enterprise["_county_code"] if rng.random() < LOCAL_SHARE else rng.choice(OTHER_REGIONS)
            min_age = 28 if job is JobCategory.PRINCIPAL else 18
            cid = synthetic.citizen_id(rng, region, min_age=min_age, max_age=60, today=today)
            while cid in seen:
                cid = synthetic.citizen_id(rng, region, min_age=min_age, max_age=60, today=today)
            seen.add(cid)
            city.workers.append(
                {
                    "id": worker_id,
                    "citizen_id": cid,
                    "name": synthetic.person_name(rng),
                    "gender": "M" if int(cid[16]) % 2 else "F",
                    "birth_date": date(int(cid[6:10]), int(cid[10:12]), int(cid[12:14])),
                    "enterprise_id": enterprise["id"],
                    "job_category": job,
                    "phone": None,
                    "active": True,
                    "created_at": city.anchor - timedelta(days=rng.randint(380, 1500), seconds=rng.randint(0, 86399)),
                }
            )
            worker_id += 1


def make_kiosks(session: DbSession, city: City) -> None:
    """Create one kiosk per township and one at each county's service centre (token hashes are random)."""
    import secrets

    from exam_server.services.exam.kiosks import hash_token

    kiosk_id = next_id(session, Kiosk)
    for county in city.counties:
        places = [(t["id"], f"{county['name']}{t['name']}考点") for t in city.townships[county["id"]]]
        for township_id, name in [(None, f"{county['name']}政务服务中心考点"), *places]:
            token = secrets.token_urlsafe(32)
            city.kiosks.append(
                {
                    "id": kiosk_id,
                    "name": name,
                    "location": name.removesuffix("考点") + "安全培训考场",
                    "county_id": county["id"],
                    "token_hash": hash_token(token),
                    "token_prefix": token[:8],
                    "enabled": True,
                    "last_seen_at": city.anchor,
                    "created_at": city.anchor - timedelta(days=400),
                    "_township": township_id,
                }
            )
            kiosk_id += 1


def make_plans(session: DbSession, city: City) -> None:
    """Create the year's plans: one per industry for all its workers, one for managers, one for special ops."""
    plan_id = next_id(session, ExamPlan)
    opens, closes = city.anchor - timedelta(days=365), city.anchor + timedelta(days=30)
    year = opens.year
    specs: list[tuple[str, int | None, list[str]]] = [
        (f"{year}年度{i['name']}行业从业人员安全生产培训考试", i["id"], []) for i in city.industries
    ]
    specs.append(
        (
            f"{year}年度主要负责人和安全生产管理人员安全生产知识考核",
            None,
            [JobCategory.PRINCIPAL.value, JobCategory.SAFETY_MANAGER.value],
        )
    )
    specs.append((f"{year}年度特种作业人员安全技术理论考试", None, [JobCategory.SPECIAL_OPS.value]))
    codes = {i["id"]: i["code"] for i in city.industries}
    every_job = [job.value for job in JobCategory]
    for n, (name, industry_id, jobs) in enumerate(specs):
        ruleset = plan_ruleset(
            session, [codes[industry_id]] if industry_id else list(codes.values()), jobs or every_job
        )
        city.plans.append(
            {
                "id": plan_id + n,
                "name": name,
                "ruleset": ruleset,
                "county_id": None,
                "industry_id": industry_id,
                "enterprise_id": None,
                "job_categories": jobs,
                "opens_at": opens,
                "closes_at": closes,
                "max_attempts": 2,
                "face_policy": {},
                "certificate_valid_days": 365 * 3,
                "created_by_id": None,
                "created_at": opens - timedelta(days=20),
            }
        )


def plan_ruleset(session: DbSession, industries: list[str], jobs: list[str]) -> dict:
    """Return the most specific rule set whose paper can be drawn for every industry and job the plan covers."""
    import question_bank as qb

    bank, _ = question_store.bank(session)
    try:
        bundled = qb.load_rulesets()
    except (OSError, ValueError):
        bundled = {}
    found = qb.select_ruleset(
        bundled, industries[0] if len(industries) == 1 else None, jobs[0] if len(jobs) == 1 else None
    )
    candidates = ([found.to_dict()] if found else []) + [
        question_store.default_ruleset(),
        dict(question_store.GENERAL_RULESET),
    ]
    for candidate in candidates:
        ruleset = qb.RuleSet.from_dict(candidate)
        if not any(qb.shortfalls(bank, ruleset, industry=i, job_category=j) for i in industries for j in jobs):
            return candidate
    return candidates[-1]


def make_requirements(session: DbSession, city: City) -> None:
    """Require every worker under their industry's plan, and managers and special ops under theirs too."""
    requirement_id = next_id(session, ExamRequirement)
    by_industry = {p["industry_id"]: p["id"] for p in city.plans if p["industry_id"]}
    by_job = {job: p["id"] for p in city.plans for job in p["job_categories"]}
    enterprises = {e["id"]: e for e in city.enterprises}
    for worker in city.workers:
        enterprise = enterprises[worker["enterprise_id"]]
        plans = [by_industry[enterprise["industry_id"]]]
        if worker["job_category"].value in by_job:
            plans.append(by_job[worker["job_category"].value])
        for plan_id in plans:
            city.requirements.append(
                {
                    "id": requirement_id,
                    "plan_id": plan_id,
                    "worker_id": worker["id"],
                    "enterprise_id": enterprise["id"],
                    "county_id": enterprise["county_id"],
                    "township_id": enterprise["township_id"],
                    "industry_id": enterprise["industry_id"],
                    "status": "pending",
                    "attempts": 0,
                    "first_sat_at": None,
                    "passed_at": None,
                }
            )
            requirement_id += 1


def fix_sequences(session: DbSession) -> None:
    """Move PostgreSQL's id sequences past the ids inserted explicitly (SQLite needs nothing)."""
    if session.get_bind().dialect.name != "postgresql":
        return
    from exam_server.models import Base

    for table in Base.metadata.sorted_tables:
        if "id" in table.c:
            session.execute(
                text(
                    f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), "
                    f'GREATEST((SELECT MAX(id) FROM "{table.name}"), 1))'
                )
            )
    session.commit()


SCALES = {"city": CITY, "town": TOWN, "tiny": TINY}


def scale_named(name: str, **overrides: Any) -> CityScale:
    """Return the "city", "town" or "tiny" scale with any fields overridden (None values are ignored)."""
    base = SCALES[name]
    return replace(base, **{k: v for k, v in overrides.items() if v is not None})


def load_city(session: DbSession, data_dir: str | None = None, progress: bool = True, scale: str = "city") -> str:
    """Generate the city unless enterprises exist; describe what is there (for ``exam-server demo``)."""
    if not session.scalar(select(func.count(Enterprise.id))):
        return generate(session, SCALES[scale], data_dir=data_dir, progress=progress).describe()
    workers = session.scalar(select(func.count(Worker.id)))
    return f"{session.scalar(select(func.count(Enterprise.id)))} enterprises, {workers} workers"


__all__ = ["CITY", "SCALES", "TINY", "TOWN", "CityScale", "Summary", "generate", "load_city", "scale_named"]
