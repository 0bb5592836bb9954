"""The question bank and rule sets shipped in question_bank/data."""

from __future__ import annotations

from collections import Counter

import pytest

from question_bank import JOB_CATEGORIES, IndexedBank, assemble, grade, load_bundled, load_rulesets
from question_bank.bundled import QUESTIONS_DIR, bundled_files, read_question_files


@pytest.fixture(scope="module")
def bundled():
    assert bundled_files(), f"no bundled question files in {QUESTIONS_DIR}"
    return load_bundled()


def test_bundled_bank_passes_validation_with_300_questions_in_14_categories():
    questions, problems = read_question_files(bundled_files())
    assert problems == [], "\n".join(map(str, problems[:30]))
    categories = Counter(q.category for q in questions)
    assert len(questions) >= 300, f"only {len(questions)} questions"
    assert len(categories) >= 14, f"only {len(categories)} categories: {sorted(categories)}"
    assert {q.type.value for q in questions} == {"single", "multiple", "truefalse"}


def test_shipped_rulesets_are_the_general_one_and_one_per_industry_set():
    rulesets = load_rulesets()
    assert {rs.industry for rs in rulesets.values()} >= {None, "hazchem", "noncoal_mine", "metallurgy", "construction"}
    general = next(rs for rs in rulesets.values() if rs.industry is None and rs.job_category is None)
    assert (general.question_count, general.nominal_points, general.pass_mark, general.duration_minutes) == (
        50,
        100,
        80,
        60,
    )
    for rs in rulesets.values():
        assert rs.nominal_points == 100 and rs.pass_mark == 80


@pytest.mark.parametrize("ruleset_id", sorted(load_rulesets()))
def test_each_shipped_ruleset_assembles_from_the_bundled_bank(bundled, ruleset_id):
    rs = load_rulesets()[ruleset_id]
    bank = IndexedBank(bundled)
    by_code = {q.code: q for q in bundled}
    for job in (None, *JOB_CATEGORIES):
        for seed in range(5):
            paper = assemble(bank, rs, f"{ruleset_id}:{job}:{seed}", job_category=job)
            assert len(paper.items) == rs.question_count
            assert paper.total_points == rs.nominal_points
            for item in paper.items:
                q = by_code[item.code]
                assert not q.industries or rs.industry in q.industries
                assert not q.job_categories or job in q.job_categories or len(q.job_categories) == 4
            perfect = grade(paper, {i.number: i.answer for i in paper.items})
            assert perfect.total == 100 and perfect.passed
    if rs.industry:
        industry_items = [i for i in paper.items if by_code[i.code].industries]
        assert industry_items, "an industry paper should draw industry-specific questions"
