"""Editing an account's name, role and scope: within the editor's own scope, audited, sessions ended on a move."""

from __future__ import annotations

from sqlalchemy import select

from exam_server.models import AuditLog, Role, User
from exam_server.services.admin import enterprise_picker
from tests import factories


def edit(client, user: User, **fields):
    return client.post(f"/console/users/{user.id}/edit", data={"display_name": user.display_name} | fields)


def entries(db, user: User) -> list[AuditLog]:
    stmt = select(AuditLog).where(AuditLog.action == "user_updated", AuditLog.target_id == str(user.id))
    return db.session.scalars(stmt.order_by(AuditLog.id)).all()


def test_county_admin_renames_and_moves_an_account_within_its_county(db, world, login):
    target = world.enterprise_admin_a
    their_session = login(target)
    admin = login(world.county_admin_a)
    page = admin.get(f"/console/users/{target.id}/edit").get_data(as_text=True)
    assert enterprise_picker.label(world.enterprise_a) in page and 'data-suggest="/console/enterprises/suggest"' in page
    assert 'value="county"' not in page and 'value="city"' not in page  # only the roles it may give
    assert f'href="/console/users/{target.id}/edit"' in admin.get("/console/users").get_data(as_text=True)

    renamed = edit(admin, target, display_name="王经理", role="enterprise", enterprise_code=world.enterprise_a.name)
    assert renamed.status_code == 302
    db.session.refresh(target)
    assert target.display_name == "王经理" and their_session.get("/console/").status_code == 200  # a name: no logout
    moved = edit(admin, target, display_name="王审核", role="reviewer", county_id="0")
    assert moved.status_code == 302
    db.session.refresh(target)
    assert (target.role, target.county_id, target.enterprise_id) == (Role.REVIEWER, world.county_a.id, None)
    assert their_session.get("/console/").status_code == 302  # a new role: signed out, to sign in again
    first, second = entries(db, target)
    assert first.user_id == world.county_admin_a.id
    assert first.detail == {"username": "ent_a", "changes": {"display_name": ["ent_a", "王经理"]}}
    assert second.detail["changes"] == {
        "display_name": ["王经理", "王审核"],
        "role": ["enterprise", "reviewer"],
        "county_id": [None, world.county_a.id],
        "enterprise_id": [world.enterprise_a.id, None],
    }
    assert edit(admin, target, display_name="王审核", role="reviewer").status_code == 302
    assert len(entries(db, target)) == 2  # nothing changed, nothing recorded


def test_nobody_widens_an_account_beyond_their_scope(db, world, login):
    target = world.enterprise_admin_a
    admin = login(world.county_admin_a)
    before = (target.display_name, target.role, target.county_id, target.enterprise_id)
    for fields, message in [
        ({"role": "county", "county_id": str(world.county_a.id)}, "不是有效的选择"),
        ({"role": "city"}, "不是有效的选择"),
        ({"role": "enterprise", "enterprise_code": world.enterprise_b.credit_code}, "不在您的管理范围内"),
        ({"role": "enterprise", "enterprise_code": enterprise_picker.label(world.enterprise_b)}, "不在您的管理范围内"),
        ({"role": "reviewer", "county_id": str(world.county_b.id)}, "不是有效的选择"),
        ({"role": "enterprise", "enterprise_code": ""}, "请填写企业名称或统一社会信用代码"),
    ]:
        page = edit(admin, target, display_name="越权", **fields)
        assert page.status_code == 200 and message in page.get_data(as_text=True), fields
    db.session.refresh(target)
    assert (target.display_name, target.role, target.county_id, target.enterprise_id) == before
    assert entries(db, target) == []


def test_accounts_outside_the_scope_cannot_be_opened_or_edited(db, world, login):
    other = factories.user(db.session, Role.ENTERPRISE, enterprise_obj=world.enterprise_b, username="ent_b")
    db.session.commit()
    admin = login(world.county_admin_a)
    for user in (other, world.city, world.reviewer, world.county_admin_a):  # B's, above it, city-wide, itself
        assert admin.get(f"/console/users/{user.id}/edit").status_code == 404
        assert edit(admin, user, display_name="越权", role="reviewer").status_code == 404
    assert login(world.enterprise_admin_a).get(f"/console/users/{world.enterprise_admin_a.id}/edit").status_code == 403
    assert login(world.reviewer).get(f"/console/users/{world.reviewer.id}/edit").status_code == 403
    db.session.refresh(other)
    assert other.display_name == "ent_b" and other.role is Role.ENTERPRISE
    assert db.session.scalar(select(AuditLog.id).where(AuditLog.action == "user_updated")) is None


def test_city_admin_renames_itself_but_keeps_its_role(db, world, login):
    city = login(world.city)
    assert edit(city, world.city, display_name="市局管理员", role="city").status_code == 302
    refused = edit(city, world.city, display_name="市局管理员", role="county", county_id=str(world.county_a.id))
    assert "不能修改自己的角色或管理范围" in refused.get_data(as_text=True)
    db.session.refresh(world.city)
    assert world.city.display_name == "市局管理员" and world.city.role is Role.CITY
    county = edit(
        city, world.county_admin_a, display_name="罗庄管理员", role="county", county_id=str(world.county_b.id)
    )
    assert county.status_code == 302
    db.session.refresh(world.county_admin_a)
    assert world.county_admin_a.county_id == world.county_b.id
