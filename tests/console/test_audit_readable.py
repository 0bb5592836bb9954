"""The audit log page in words: who by name, the object by its label, the action and details in Chinese."""

from __future__ import annotations

import html
import re

from exam_server.services import audit
from exam_server.services.admin import plans
from tests.console.test_plans import plan_input


def cells(page: str, css: str) -> list[str]:
    return [html.unescape(re.sub(r"<[^>]+>", "", c)) for c in re.findall(rf'<td class="{css}">(.*?)</td>', page, re.S)]


def test_audit_log_names_people_and_objects(db, world, login):
    world.county_admin_a.display_name = "张科长"
    world.enterprise_a.name = "兰山安泰化工有限公司"
    worker = world.workers_a[0]
    db.session.commit()
    city = login(world.city)
    admin = login(world.county_admin_a)
    admin.post(
        f"/console/users/{world.enterprise_admin_a.id}/edit",
        data={"display_name": "王审核", "role": "reviewer", "county_id": "0"},
    )
    plans.save_plan(
        db.session,
        world.county_admin_a,
        plan_input(
            name="兰山主要负责人考试", enterprise_code=world.enterprise_a.credit_code, job_categories=["principal"]
        ),
    )
    audit.record(db.session, "view_citizen_id", target=worker, user_id=world.county_admin_a.id)
    db.session.commit()

    page = city.get("/console/audit").get_data(as_text=True)
    actors, actions, targets = cells(page, "actor"), cells(page, "nowrap action"), cells(page, "target")
    details = cells(page, "hint details")
    assert actors[:3] == ["张科长（county_a）"] * 3
    assert actions[:3] == ["查看完整身份证号", "新建考试计划", "修改账号"]
    masked = worker.citizen_id[:4] + "*" * 10 + worker.citizen_id[-4:]
    assert targets[:3] == [f"{worker.name} {masked}", "考试计划 兰山主要负责人考试", "账号 王审核（ent_a）"]
    assert worker.citizen_id not in page
    plan_details, user_details = details[1], details[2]
    assert "名称：兰山主要负责人考试" in plan_details and "区县：兰山区" in plan_details
    assert "企业：兰山安泰化工有限公司" in plan_details and "岗位类别：主要负责人" in plan_details
    assert "交卷后显示错题：否" in plan_details and "新增考试任务：0" in plan_details
    assert user_details.startswith("用户名：ent_a；")
    assert "姓名：ent_a → 王审核" in user_details and "角色：企业管理员 → 人脸审核员" in user_details
    assert "区县：全市 → 兰山区" in user_details and "企业：兰山安泰化工有限公司 → —" in user_details
    assert "登录" in actions and "账号 张科长（county_a）" in targets
    for raw in ("console_user#", "exam_plan#", "worker#", "username=", "enterprise_id", "user_updated"):
        assert raw not in page[page.index("<table") :], raw
