"""Certificates issued through the real sittings service, the document settings, and plans to renew under."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import pytest
from PIL import Image, ImageDraw

from exam_server.extensions import limiter
from exam_server.models import Certificate, Enterprise, ExamPlan, ExamRequirement, Role, User, Worker
from tests import factories
from tests.console_stats.conftest import RULESET, add_requirement, finish_real_sitting, start_real_sitting

AUTHORITY = "临沂市应急管理局"
PUBLIC = "https://aq.example.cn"
ISSUED_AT = datetime(2026, 12, 1, 18, 17, tzinfo=UTC)  # 2026-12-02 02:17 in Beijing


@pytest.fixture()
def seal(tmp_path):
    """Return a seal image: a red ring and star on a transparent background, as a bureau's scan would be."""
    image = Image.new("RGBA", (300, 300), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    draw.ellipse((8, 8, 292, 292), outline=(200, 20, 20, 220), width=12)
    draw.regular_polygon((150, 150, 60), 5, fill=(200, 20, 20, 220), rotation=180)
    path = tmp_path / "seal.png"
    image.save(path)
    return path


@pytest.fixture()
def document_config(app, monkeypatch, seal):
    """Configure the issuing authority, its seal and the public address, as a deployment does."""
    for key, value in {
        "CERTIFICATE_AUTHORITY": AUTHORITY,
        "CERTIFICATE_SEAL_IMAGE": str(seal),
        "PUBLIC_BASE_URL": PUBLIC,
        "CERTIFICATE_PAGE_SIZE": "a4",
        "CERTIFICATE_SHOW_PHOTO": False,
    }.items():
        monkeypatch.setitem(app.config, key, value)
    return app.config


@pytest.fixture()
def fresh_limits():
    """Start and end with no rate-limit hits counted (the limiter's memory outlives a test)."""
    limiter.reset()
    yield
    limiter.reset()


def plan(session, name: str, opens: datetime, closes: datetime, valid_days: int = 365 * 3, **scope) -> ExamPlan:
    found = ExamPlan(
        name=name, ruleset=RULESET, opens_at=opens, closes_at=closes, certificate_valid_days=valid_days, **scope
    )
    session.add(found)
    session.flush()
    return found


@dataclass
class Holders:
    """Two enterprises in two counties; workers, their first plan, and the users who look at them."""

    enterprise: Enterprise
    other: Enterprise
    plan: ExamPlan
    workers: list[Worker]
    outsider: Worker
    users: dict[str, User] = field(default_factory=dict)

    def requirement(self, session, worker: Worker, plan: ExamPlan | None = None) -> ExamRequirement:
        return session.query(ExamRequirement).filter_by(worker_id=worker.id, plan_id=(plan or self.plan).id).one()


def pass_exam(session, requirement: ExamRequirement, at: datetime = ISSUED_AT) -> Certificate:
    """Sit and pass the requirement through the real sittings service at ``at``; return the certificate."""
    sitting = start_real_sitting(session, requirement, at - timedelta(minutes=20))
    finish_real_sitting(session, sitting, correct=True, now=at)
    return session.query(Certificate).filter_by(sitting_id=sitting.id).one()


def build_holders(session, valid_days: int = 365 * 3) -> Holders:
    county_a = factories.county(session, "371302", "兰山区")
    county_b = factories.county(session, "371311", "罗庄区")
    hazchem = factories.industry(session, "hazchem", "危险化学品")
    enterprise = factories.enterprise(session, county_a, hazchem, "兰山化工有限公司")
    other = factories.enterprise(session, county_b, hazchem, "罗庄化工有限公司")
    first = plan(
        session,
        "2026年度危险化学品从业人员安全培训考试",
        ISSUED_AT - timedelta(days=30),
        ISSUED_AT + timedelta(days=30),
        valid_days,
    )
    names = ["张伟", "王芳", "李娜"]
    workers = [factories.worker(session, enterprise, name=n) for n in names]
    outsider = factories.worker(session, other, name="赵强")
    for worker in [*workers, outsider]:
        worker.phone = f"1380000{worker.id:04d}"
        add_requirement(session, worker, first)
    holders = Holders(enterprise, other, first, workers, outsider)
    holders.users = {
        "city": factories.user(session, Role.CITY, username="cert_city"),
        "county_a": factories.user(session, Role.COUNTY, county_obj=county_a, username="cert_county_a"),
        "county_b": factories.user(session, Role.COUNTY, county_obj=county_b, username="cert_county_b"),
        "manager": factories.user(session, Role.ENTERPRISE, enterprise_obj=enterprise, username="cert_manager"),
        "other_manager": factories.user(session, Role.ENTERPRISE, enterprise_obj=other, username="cert_other"),
        "reviewer": factories.user(session, Role.REVIEWER, username="cert_reviewer"),
    }
    session.commit()
    return holders


@pytest.fixture()
def holders(db) -> Holders:
    return build_holders(db.session)
