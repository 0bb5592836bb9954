"""Paper assembly: rule sets, reproducible shuffled draws, eligibility, and unsatisfiable rules."""

from __future__ import annotations

import json
import random
from collections import Counter

import pytest

from question_bank import (
    AssemblyError,
    IndexedBank,
    Paper,
    QuestionType,
    Rule,
    RuleSet,
    Status,
    assemble,
    select_ruleset,
    shortfalls,
)

from .helpers import grid_bank, make_question, ruleset

RULES = [
    {"category": "消防安全", "type": "single", "difficulty": "1-2", "count": 3},
    {"category": "消防安全", "type": "single", "difficulty": "3", "count": 2},
    {"category": "消防安全", "type": "multiple", "difficulty": "4-5", "count": 2},
    {"category": "危险化学品", "type": "multiple", "difficulty": "any", "count": 4},
    {"category": "电气安全", "type": "truefalse", "difficulty": [2, 4], "count": 5},
    {"category": None, "type": "truefalse", "difficulty": 1, "count": 2},
]


@pytest.fixture(scope="module")
def bank():
    return IndexedBank(grid_bank(per_cell=4))


def test_ruleset_json_round_trip_and_nominal_points():
    rs = ruleset(RULES)
    assert RuleSet.from_dict(json.loads(json.dumps(rs.to_dict()))) == rs
    assert rs.question_count == 18
    assert rs.nominal_points == 3 * 2 + 2 * 2 + 2 * 3 + 4 * 3 + 5 * 1 + 2 * 1
    assert rs.rules[4].difficulty == (2, 4) and rs.rules[5].category is None


@pytest.mark.parametrize(
    "change, text",
    [
        ({"rules": RULES + [{"category": "消防安全", "type": "single", "difficulty": "2-3", "count": 1}]}, "overlap"),
        ({"rules": RULES + [{"category": "电气安全", "type": "truefalse", "difficulty": "1", "count": 1}]}, "overlap"),
        ({"pass_mark": 1000}, "pass_mark"),
        ({"partial_credit": "generous"}, "partial_credit"),
        ({"rules": [{"type": "single", "difficulty": "4-6", "count": 1}]}, "within 1-5"),
        ({"rules": [{"type": "single", "count": 0}]}, "count"),
        ({"points": {"single": 2}}, "no positive points"),
        ({"job_category": "boss"}, "job_category"),
    ],
)
def test_invalid_rulesets_are_rejected(change, text):
    data = ruleset(RULES).to_dict() | change
    with pytest.raises(ValueError, match=text):
        RuleSet.from_dict(data)


def test_paper_follows_the_rules(bank):
    rs = ruleset(RULES)
    paper = assemble(bank, rs, seed=42)
    assert len(paper.items) == rs.question_count == len({i.code for i in paper.items})
    by_code = {q.code: q for q in bank.questions}
    for rule in rs.rules:
        assert sum(rule.matches(by_code[i.code]) for i in paper.items) == rule.count
    assert [i.number for i in paper.items] == list(range(1, 19))
    assert paper.total_points == rs.nominal_points
    assert (paper.pass_mark, paper.duration_minutes, paper.ruleset_id) == (rs.pass_mark, 60, "test")


def test_same_seed_same_paper_and_different_workers_differ(bank):
    rs = ruleset(RULES)
    assert assemble(bank, rs, "exam7:worker1") == assemble(bank, rs, "exam7:worker1")
    papers = [assemble(bank, rs, seed) for seed in range(20)]
    draws = {tuple(sorted(i.code for i in p.items)) for p in papers}
    orders = {tuple(i.code for i in p.items) for p in papers}
    assert len(draws) == 20 and len(orders) == 20


def test_draw_does_not_depend_on_the_order_the_bank_was_loaded_in():
    questions = grid_bank(per_cell=4)
    shuffled = questions[:]
    random.Random(3).shuffle(shuffled)
    rs = ruleset(RULES)
    assert assemble(questions, rs, 99) == assemble(IndexedBank(shuffled), rs, 99)


def test_options_are_shuffled_and_mapped_back(bank):
    rs = ruleset(RULES)
    by_code = {q.code: q for q in bank.questions}
    moved = 0
    for seed in range(10):
        for item in assemble(bank, rs, seed).items:
            q = by_code[item.code]
            assert sorted(item.order) == list(range(len(q.options)))
            assert item.options == tuple(q.options[i] for i in item.order)
            assert item.to_original(item.answer) == q.answer
            assert item.to_presented(q.answer) == item.answer
            moved += item.order != tuple(range(len(q.options)))
    assert moved > 50


def test_true_false_and_positional_options_keep_their_order():
    tf = [make_question(f"TF-{i}", "truefalse", stem=f"判断 {i}", answer="AB"[i % 2]) for i in range(10)]
    pos = [
        make_question(f"P-{i}", "single", stem=f"单选 {i}", options=("甲", "乙", "丙", "以上都对"), answer="D")
        for i in range(5)
    ]
    rs = ruleset(
        [
            {"category": "消防安全", "type": "truefalse", "count": 10},
            {"category": "消防安全", "type": "single", "count": 5},
        ]
    )
    for seed in range(5):
        paper = assemble(tf + pos, rs, seed)
        assert all(i.order == tuple(range(len(i.options))) for i in paper.items)
        assert all(i.options == ("正确", "错误") for i in paper.items if i.type is QuestionType.TRUEFALSE)


def test_questions_are_grouped_by_type_unless_disabled(bank):
    paper = assemble(bank, ruleset(RULES), 5)
    kinds = [i.type for i in paper.items]
    assert kinds == sorted(kinds, key=[QuestionType.SINGLE, QuestionType.MULTIPLE, QuestionType.TRUEFALSE].index)
    mixed = [assemble(bank, ruleset(RULES, group_by_type=False), s) for s in range(10)]
    assert any(
        [i.type for i in p.items]
        != sorted(
            [i.type for i in p.items], key=[QuestionType.SINGLE, QuestionType.MULTIPLE, QuestionType.TRUEFALSE].index
        )
        for p in mixed
    )


def test_unsatisfiable_rule_is_explained_not_returned_short():
    questions = [
        q for q in grid_bank(per_cell=1) if not (q.category == "危险化学品" and q.type is QuestionType.MULTIPLE)
    ]
    questions += [make_question(f"HC-M{i}", "multiple", category="危险化学品", difficulty=4 + i % 2) for i in range(3)]
    questions += [make_question("HC-DRAFT", "multiple", category="危险化学品", difficulty=5, status=Status.DRAFT)]
    rs = ruleset(
        [
            {"category": "危险化学品", "type": "multiple", "difficulty": "4-5", "count": 5},
            {"category": "消防安全", "type": "single", "difficulty": "any", "count": 2},
            {"category": "有限空间", "type": "truefalse", "difficulty": "3", "count": 1},
        ]
    )
    with pytest.raises(AssemblyError) as err:
        assemble(questions, rs, 1)
    assert err.value.shortfalls == [
        "分类 危险化学品，多选题，难度 4-5：需要 5 题，题库仅有 3 题 / "
        "category 危险化学品, multiple choice, difficulty 4-5: need 5, bank has 3",
        "分类 有限空间，判断题，难度 3：需要 1 题，题库仅有 0 题 / "
        "category 有限空间, true/false, difficulty 3: need 1, bank has 0",
    ]
    assert "category 危险化学品, multiple choice, difficulty 4-5: need 5, bank has 3" in str(err.value)
    assert shortfalls(IndexedBank(questions), rs) == err.value.shortfalls


def test_only_active_questions_are_drawn():
    questions = [make_question(f"A-{i}", stem=f"题 {i}") for i in range(3)]
    questions += [
        make_question(f"D-{i}", stem=f"草稿 {i}", status=s) for i, s in enumerate([Status.DRAFT, Status.RETIRED] * 5)
    ]
    rs = ruleset([{"category": "消防安全", "type": "single", "count": 3}])
    assert {i.code for i in assemble(questions, rs, 0).items} == {"A-0", "A-1", "A-2"}
    with pytest.raises(AssemblyError, match="need 4, bank has 3"):
        assemble(questions, ruleset([{"category": "消防安全", "type": "single", "count": 4}]), 0)


def test_industry_and_job_eligibility():
    general = [make_question(f"G-{i}", stem=f"通用 {i}") for i in range(2)]
    hazchem = [make_question(f"H-{i}", stem=f"危化 {i}", industries=("hazchem",)) for i in range(2)]
    principal = [make_question(f"P-{i}", stem=f"负责人 {i}", job_categories=("principal",)) for i in range(2)]
    everyone = [
        make_question("E-0", stem="所有岗位", job_categories=("principal", "safety_manager", "special_ops", "general"))
    ]
    bank = IndexedBank(general + hazchem + principal + everyone)
    rule = Rule(QuestionType.SINGLE, 1, "消防安全")
    codes = lambda ind, job: {q.code for q in bank.candidates(rule, ind, job)}  # noqa: E731
    assert codes(None, None) == {"G-0", "G-1", "E-0"}
    assert codes("hazchem", None) == {"G-0", "G-1", "E-0", "H-0", "H-1"}
    assert codes(None, "principal") == {"G-0", "G-1", "E-0", "P-0", "P-1"}
    assert codes("metallurgy", "general") == {"G-0", "G-1", "E-0"}
    rs = ruleset([{"category": "消防安全", "type": "single", "count": 5}])
    with pytest.raises(AssemblyError, match="need 5, bank has 3"):
        assemble(bank, rs, 0)
    # The worker's own job widens a rule set that leaves the job open.
    paper = assemble(bank, rs, 0, job_category="principal")
    assert {i.code for i in paper.items} == {"G-0", "G-1", "E-0", "P-0", "P-1"}
    rs_hc = ruleset([{"category": "消防安全", "type": "single", "count": 5}], industry="hazchem")
    assert {i.code for i in assemble(bank, rs_hc, 0, industry="metallurgy").items} >= {"H-0", "H-1"}


def test_points_default_per_type_and_question_override():
    questions = [
        make_question("S-1", stem="一"),
        make_question("S-2", stem="二", points=5.0),
        make_question("T-1", "truefalse", stem="三"),
    ]
    rs = ruleset(
        [
            {"category": "消防安全", "type": "single", "count": 2},
            {"category": "消防安全", "type": "truefalse", "count": 1},
        ],
        pass_mark=4,
    )
    paper = assemble(questions, rs, 0)
    assert {i.code: i.points for i in paper.items} == {"S-1": 2.0, "S-2": 5.0, "T-1": 1.0}
    assert paper.total_points == 8.0
    assert paper.pass_mark == 6.4  # 4 of a nominal 5 points, scaled to the actual 8


def test_paper_serialises_and_public_view_hides_answers(bank):
    paper = assemble(bank, ruleset(RULES), "w-1")
    data = json.loads(json.dumps(paper.to_dict(), ensure_ascii=False))
    assert Paper.from_dict(data) == paper
    public = json.dumps(paper.public_dict(), ensure_ascii=False)
    assert '"answer"' not in public and '"order"' not in public and '"explanation"' not in public
    assert paper.item(paper.items[3].code) == paper.item(4) == paper.items[3]


def test_select_ruleset_prefers_the_most_specific():
    base = dict(rules=[{"category": "消防安全", "type": "single", "count": 1}])
    sets = [
        ruleset(id="general", **base),
        ruleset(id="hc", industry="hazchem", **base),
        ruleset(id="hc-p", industry="hazchem", job_category="principal", **base),
        ruleset(id="sm", job_category="safety_manager", **base),
    ]
    pick = lambda ind, job: select_ruleset(sets, ind, job).id  # noqa: E731
    assert pick("hazchem", "principal") == "hc-p"
    assert pick("hazchem", "general") == "hc"
    assert pick("construction", "safety_manager") == "sm"
    assert pick("construction", "general") == "general"
    assert select_ruleset(sets[1:3], "construction", "general") is None


def test_rule_counts_use_every_cell_of_the_band(bank):
    rs = ruleset([{"category": "消防安全", "type": "single", "difficulty": "1-3", "count": 6}])
    seen = Counter()
    for seed in range(30):
        seen.update(i.difficulty for i in assemble(bank, rs, seed).items)
    assert set(seen) == {1, 2, 3}


@pytest.mark.parametrize(
    "option, pinned",
    [
        ("以上都对", True),
        ("以上说法均正确", True),
        ("A和B", True),
        ("A、B、C", True),
        ("都不对", True),
        ("80分及以上", False),
        ("CO和H2S", False),
        ("B级和C级", False),
        ("NaOH、HCl", False),
    ],
)
def test_options_that_refer_to_other_options_pin_the_order(option, pinned):
    from question_bank.assembly import keeps_option_order

    q = make_question(options=("甲", "乙", "丙", option))
    assert keeps_option_order(q) is pinned


@pytest.mark.parametrize(
    "change, text",
    [
        ({"rules": [{"type": "fill_in", "count": 1}]}, "rule 1 is invalid"),
        ({"rules": [{"type": "single"}]}, "rule 1 is invalid"),
        ({"points": {"essay": 5}}, "invalid points"),
        ({"pass_mark": None}, "missing or invalid field"),
    ],
)
def test_malformed_ruleset_json_gives_a_clear_error(change, text):
    with pytest.raises(ValueError, match=text):
        RuleSet.from_dict(ruleset(RULES).to_dict() | change)
