import pytest
from sqlalchemy.exc import IntegrityError

from exam_server.citizen_id import InvalidCitizenId
from exam_server.models import DomainError, JobCategory, Sitting, SittingStatus, Worker
from exam_server.services.admin.workers import register_worker
from tests import factories
from tests.foundation.test_citizen_id import VALID


def test_worker_model_refuses_invalid_citizen_id(db, world):
    with pytest.raises(InvalidCitizenId, match="校验位"):
        Worker(
            citizen_id="371302199003071257",
            name="张三",
            enterprise_id=world.enterprise_a.id,
            job_category=JobCategory.GENERAL,
        )


def test_worker_model_derives_birth_date_and_gender(db, world):
    worker = register_worker(
        db.session, citizen_id=VALID, name="张三", enterprise_id=world.enterprise_a.id, job_category="general"
    )
    assert worker.birth_date.isoformat() == "1990-03-07"
    assert worker.gender == "M"


def test_duplicate_citizen_id_is_refused_with_the_existing_name(db, world):
    register_worker(
        db.session, citizen_id=VALID, name="张三", enterprise_id=world.enterprise_a.id, job_category="general"
    )
    with pytest.raises(DomainError, match="已登记（张三）"):
        register_worker(
            db.session,
            citizen_id=VALID.lower(),
            name="李四",
            enterprise_id=world.enterprise_b.id,
            job_category="general",
        )


def test_database_itself_refuses_duplicate_citizen_id(db, world):
    db.session.add(
        Worker(citizen_id=VALID, name="张三", enterprise_id=world.enterprise_a.id, job_category=JobCategory.GENERAL)
    )
    db.session.add(
        Worker(citizen_id=VALID, name="李四", enterprise_id=world.enterprise_a.id, job_category=JobCategory.GENERAL)
    )
    with pytest.raises(IntegrityError):
        db.session.flush()


def test_unknown_enterprise_is_refused(db, world):
    with pytest.raises(DomainError, match="企业999999不存在"):
        register_worker(db.session, citizen_id=VALID, name="张三", enterprise_id=999999, job_category="general")


def test_unknown_job_category_is_refused(db, world):
    with pytest.raises(DomainError, match="岗位类别'boss'无效"):
        register_worker(
            db.session, citizen_id=VALID, name="张三", enterprise_id=world.enterprise_a.id, job_category="boss"
        )


def test_database_allows_one_active_sitting_per_worker(db, world):
    from datetime import timedelta

    from exam_server.models import ExamPlan, ExamRequirement, utcnow

    worker = world.workers_a[0]
    now = utcnow()
    plan = ExamPlan(name="年度考试", ruleset={}, opens_at=now, closes_at=now + timedelta(days=30))
    db.session.add(plan)
    db.session.flush()
    requirement = ExamRequirement(
        plan_id=plan.id,
        worker_id=worker.id,
        enterprise_id=worker.enterprise_id,
        county_id=world.county_a.id,
        industry_id=world.enterprise_a.industry_id,
    )
    db.session.add(requirement)
    db.session.flush()

    def sitting(status):
        return Sitting(
            plan_id=plan.id,
            worker_id=worker.id,
            requirement_id=requirement.id,
            seed=1,
            paper={},
            deadline_at=now + timedelta(hours=1),
            status=status,
        )

    db.session.add_all(
        [sitting(SittingStatus.SUBMITTED), sitting(SittingStatus.VOIDED), sitting(SittingStatus.IN_PROGRESS)]
    )
    db.session.flush()  # finished sittings do not count
    db.session.add(sitting(SittingStatus.SUSPENDED))
    with pytest.raises(IntegrityError):
        db.session.flush()


def test_role_scope_is_required(db, world):
    from exam_server.models import Role

    with pytest.raises(DomainError, match="区县管理员必须指定区县"):
        factories.user(db.session, Role.COUNTY)
    with pytest.raises(DomainError, match="企业管理员必须指定企业"):
        factories.user(db.session, Role.ENTERPRISE)


def test_weak_password_is_refused(db):
    from exam_server.services.admin import accounts

    with pytest.raises(DomainError, match="至少10位"):
        accounts.create_user(db.session, "someone", "short1", "city")
    with pytest.raises(DomainError, match="字母和数字"):
        accounts.create_user(db.session, "someone", "onlylettersherexx", "city")
