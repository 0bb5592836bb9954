"""Paper rules in the console (issue 18): listed by name, each rule shown and edited, a sample paper and its shortfall."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

import question_bank as qb
from exam_server.models import AuditLog, ExamPlan, PaperRuleSet, utcnow
from exam_server.services.admin import paper_rules, plans


def general(db) -> qb.RuleSet:
    return paper_rules.find(db.session, "general")


def form(ruleset: qb.RuleSet, action: str = "preview", **changes) -> dict:
    data = {
        "name": ruleset.name,
        "duration_minutes": str(ruleset.duration_minutes),
        "pass_mark": f"{ruleset.pass_mark:g}",
        **{f"points_{t.value}": f"{ruleset.points[t]:g}" for t in qb.QuestionType},
        "action": action,
    }
    for i, rule in enumerate(ruleset.rules):
        described = rule.to_dict()
        data |= {
            f"rules-{i}-category": described["category"] or "",
            f"rules-{i}-qtype": described["type"],
            f"rules-{i}-difficulty": described["difficulty"],
            f"rules-{i}-count": str(described["count"]),
        }
    return data | changes


def test_rule_sets_are_listed_by_name_with_their_figures(db, world, login, bundled_questions):
    html = login(world.city).get("/console/paper-rules").get_data(as_text=True)
    rs = general(db)
    row = html[html.index(rs.name) :]
    row = row[: row.index("</tr>")]
    assert "通用（所有行业、岗位）" in row and f">{rs.question_count}<" in row
    assert f"{rs.duration_minutes} 分钟" in row and f"{rs.pass_mark:g} / {rs.nominal_points:g}" in row
    assert ">general<" not in html
    page = login(world.city).get("/console/paper-rules/general").get_data(as_text=True)
    assert page.count('name="rules-') >= 4 * len(rs.rules) and "预览试卷" in page


def test_preview_draws_a_sample_paper_and_names_the_shortfall_and_save_refuses_it(db, world, login, bundled_questions):
    city, rs = login(world.city), general(db)
    sample = city.post("/console/paper-rules/general", data=form(rs)).get_data(as_text=True)
    assert "样卷预览" in sample and f"共 {rs.question_count} 题" in sample and 'id="shortfall"' not in sample
    assert sample.count('<td class="stem">') == rs.question_count
    greedy = form(rs, **{"rules-0-count": "150"})
    shown = city.post("/console/paper-rules/general", data=greedy).get_data(as_text=True)
    shortfall = shown[shown.index('id="shortfall"') :]
    assert "题库题目不足" in shortfall and "需要 150 题，题库仅有" in shortfall
    assert rs.rules[0].category in shortfall
    refused = city.post("/console/paper-rules/general", data=greedy | {"action": "save"}).get_data(as_text=True)
    assert "未保存：题库题目不足" in refused
    assert db.session.scalar(select(func.count(PaperRuleSet.id))) == 0
    too_high = city.post("/console/paper-rules/general", data=form(rs, action="save", pass_mark="999"))
    assert "及格分 999 须在 0 与满分" in too_high.get_data(as_text=True)
    assert db.session.scalar(select(func.count(PaperRuleSet.id))) == 0


def test_a_saved_edit_replaces_the_rule_set_for_plans_saved_after_it(db, world, login, bundled_questions):
    city, rs = login(world.city), general(db)
    changed = form(rs, action="save", duration_minutes="45", pass_mark="70", name="通用安全知识考试（修订）")
    changed |= {"rules-1-count": "", f"rules-{len(rs.rules)}-category": rs.rules[1].category or ""}
    changed |= {f"rules-{len(rs.rules)}-qtype": "single", f"rules-{len(rs.rules)}-difficulty": "any"}
    changed |= {f"rules-{len(rs.rules)}-count": "0"}  # a row of 0 is no rule, like an empty one
    assert city.post("/console/paper-rules/general", data=changed).status_code == 302
    saved = general(db)
    assert (saved.name, saved.duration_minutes, saved.pass_mark, saved.version) == (
        "通用安全知识考试（修订）",
        45,
        70,
        rs.version + 1,
    )
    assert len(saved.rules) == len(rs.rules) - 1 and saved.question_count == rs.question_count - rs.rules[1].count
    entry = db.session.scalars(select(AuditLog).where(AuditLog.action == "ruleset_updated")).one()
    assert entry.user_id == world.city.id and entry.detail["duration_minutes"] == 45
    listing = city.get("/console/paper-rules").get_data(as_text=True)
    assert "通用安全知识考试（修订）" in listing and "45 分钟" in listing
    plan_form = city.get("/console/plans/new").get_data(as_text=True)
    assert "通用安全知识考试（修订）（45分钟，及格70分）" in plan_form
    plan, _, _ = plans.save_plan(
        db.session,
        world.city,
        plans.PlanInput(
            name="修订后的考试",
            opens_at=utcnow(),
            closes_at=utcnow() + timedelta(days=30),
            ruleset_id="general",
        ),
    )
    assert db.session.get(ExamPlan, plan.id).ruleset["duration_minutes"] == 45


def test_only_the_city_sees_and_edits_paper_rules(db, world, login, bundled_questions):
    for user in (world.county_admin_a, world.enterprise_admin_a, world.reviewer):
        client = login(user)
        assert client.get("/console/paper-rules").status_code in (302, 403)
        assert client.post("/console/paper-rules/general", data=form(general(db), action="save")).status_code in (
            302,
            403,
        )
    assert db.session.scalar(select(func.count(PaperRuleSet.id))) == 0
    assert login(world.city).get("/console/paper-rules/nonesuch").status_code == 404
