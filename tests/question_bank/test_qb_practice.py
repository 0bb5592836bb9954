"""Practice draws: exam-only questions are never drawn, eligibility and shuffling are the papers' own."""

from __future__ import annotations

import pytest

import question_bank as qb
from tests.question_bank.helpers import grid_bank, make_question


def test_exam_only_survives_the_json_form():
    question = make_question("Q-EO", exam_only=True)
    assert qb.Question.from_dict(question.to_dict()).exam_only is True
    assert qb.Question.from_dict({**question.to_dict(), "exam_only": None}).exam_only is False


def test_practice_bank_leaves_out_exam_only_questions_but_papers_keep_them():
    questions = [make_question(f"Q-{n:03d}", exam_only=n % 2 == 0) for n in range(10)]
    bank = qb.IndexedBank(questions)
    practice = bank.for_practice()
    assert {q.code for q in practice.questions} == {f"Q-{n:03d}" for n in range(1, 10, 2)}
    assert len(bank) == 10


def test_practice_draws_never_show_an_exam_only_question_over_many_seeds():
    questions = [q.with_changes(exam_only=n % 3 == 0) for n, q in enumerate(grid_bank(per_cell=2))]
    exam_only = {q.code for q in questions if q.exam_only}
    practice = qb.IndexedBank(questions).for_practice()
    seen = set()
    for seed in range(400):
        item = qb.draw_practice(practice, "消防安全", seed)
        assert item.category == "消防安全"
        seen.add(item.code)
    assert seen and not seen & exam_only
    assert len(seen) > 10  # the draw spreads over the category, not one question


def test_draw_prefers_questions_not_yet_seen_then_repeats():
    questions = [make_question(f"Q-{n:03d}") for n in range(3)]
    practice = qb.IndexedBank(questions).for_practice()
    assert qb.draw_practice(practice, "消防安全", 1, avoid={"Q-000", "Q-001"}).code == "Q-002"
    assert qb.draw_practice(practice, "消防安全", 1, avoid={"Q-000", "Q-001", "Q-002"}).code in {
        "Q-000",
        "Q-001",
        "Q-002",
    }


def test_draw_follows_the_papers_eligibility():
    questions = [
        make_question("Q-SPECIAL", job_categories=("special_ops",)),
        make_question("Q-HAZCHEM", industries=("hazchem",)),
        make_question("Q-ALL"),
    ]
    practice = qb.IndexedBank(questions).for_practice()
    drawn = {qb.draw_practice(practice, "消防安全", s, industry="gas", job_category="general").code for s in range(50)}
    assert drawn == {"Q-ALL"}
    assert practice.categories("gas", "general") == ["消防安全"]
    with pytest.raises(KeyError):
        qb.present(practice, "Q-SPECIAL", 1, industry="gas", job_category="general")


def test_presentation_is_the_same_for_the_same_seed_and_maps_back():
    practice = qb.IndexedBank([make_question("Q-M", "multiple")]).for_practice()
    drawn = qb.draw_practice(practice, "消防安全", 7)
    again = qb.present(practice, "Q-M", 7)
    assert drawn == again
    assert again.to_original(again.answer) == "ACD"


def test_a_category_without_practice_questions_is_explained():
    practice = qb.IndexedBank([make_question("Q-1", exam_only=True)]).for_practice()
    with pytest.raises(qb.AssemblyError):
        qb.draw_practice(practice, "消防安全", 1)
    with pytest.raises(KeyError):
        qb.present(practice, "Q-1", 1)
