"""The plan form's enterprise search: suggestions limited to the user's scope, and the picked one accepted."""

from __future__ import annotations

from sqlalchemy import select

from exam_server.models import ExamPlan
from exam_server.services.admin import enterprise_picker
from tests import factories
from tests.console.test_plans import form


def suggestions(client, text: str) -> list[dict]:
    response = client.get("/console/enterprises/suggest", query_string={"q": text})
    assert response.status_code == 200 and response.mimetype == "application/json"
    return response.get_json()["enterprises"]


def test_suggestions_keep_to_the_users_scope(db, world, login):
    world.enterprise_a.name, world.enterprise_b.name = "兰山安泰化工有限公司", "罗庄安泰化工有限公司"
    factories.enterprise(db.session, world.county_a, name="兰山宏达机械厂")
    db.session.commit()
    county = login(world.county_admin_a)
    assert [e["name"] for e in suggestions(county, "安泰")] == ["兰山安泰化工有限公司"]
    found = suggestions(county, world.enterprise_a.credit_code[:-1].lower())  # a code's beginning, any case
    assert [e["credit_code"] for e in found] == [world.enterprise_a.credit_code]
    assert found[0]["label"] == f"兰山安泰化工有限公司（{world.enterprise_a.credit_code}）"
    assert found[0]["county"] == "兰山区"
    assert suggestions(county, world.enterprise_b.credit_code) == []  # another county's, even by its full code
    assert suggestions(county, "") == [] and suggestions(county, "%") == []  # no wildcard lists everything
    city = login(world.city)
    assert {e["name"] for e in suggestions(city, "安泰")} == {"兰山安泰化工有限公司", "罗庄安泰化工有限公司"}
    for other in (world.enterprise_admin_a, world.reviewer):
        assert login(other).get("/console/enterprises/suggest?q=安泰").status_code == 403


def test_plan_form_offers_the_search_and_accepts_the_picked_enterprise(db, world, login):
    world.enterprise_a.name = "兰山安泰化工有限公司"
    db.session.commit()
    admin = login(world.county_admin_a)
    page = admin.get("/console/plans/new").get_data(as_text=True)
    assert 'list="enterprise-options"' in page and 'data-suggest="/console/enterprises/suggest"' in page
    assert '<datalist id="enterprise-options">' in page and "/static/console.js" in page
    picked = suggestions(admin, "安泰")[0]["label"]
    response = admin.post("/console/plans/new", data=form(county_id=str(world.county_a.id), enterprise_code=picked))
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    plan = db.session.scalars(select(ExamPlan)).one()
    assert plan.enterprise_id == world.enterprise_a.id and plan.county_id == world.county_a.id
    edit = admin.get(f"/console/plans/{plan.id}").get_data(as_text=True)
    assert f'value="{picked}"' in edit  # the edit form shows the name with the code
    county = str(world.county_a.id)
    by_name = admin.post(
        "/console/plans/new", data=form(name="按名称", county_id=county, enterprise_code="兰山安泰化工有限公司")
    )
    by_code = admin.post(
        "/console/plans/new", data=form(name="按代码", county_id=county, enterprise_code=world.enterprise_a.credit_code)
    )
    assert by_name.status_code == by_code.status_code == 302
    assert set(db.session.scalars(select(ExamPlan.enterprise_id))) == {world.enterprise_a.id}


def test_plan_form_refuses_another_countys_or_an_ambiguous_enterprise(db, world, login):
    factories.enterprise(db.session, world.county_a, name=world.enterprise_a.name)
    db.session.commit()
    admin = login(world.county_admin_a)
    foreign = enterprise_picker.label(world.enterprise_b)
    for text, message in [
        (foreign, "不在您的管理范围内"),
        (world.enterprise_b.name, "不在您的管理范围内"),
        (world.enterprise_a.name, "有多家企业名为"),
        ("没有这家企业", "未找到名为“没有这家企业”的企业"),
    ]:
        page = admin.post("/console/plans/new", data=form(county_id=str(world.county_a.id), enterprise_code=text))
        assert page.status_code == 200 and message in page.get_data(as_text=True), text
    assert db.session.scalar(select(ExamPlan.id)) is None
