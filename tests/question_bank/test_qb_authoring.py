"""Rules of a hand-written question: its code, its options, and duplicates against the bank."""

from __future__ import annotations

import question_bank as qb

QUESTION = qb.Question(
    code="Q-0001",
    type=qb.QuestionType.SINGLE,
    stem="灭火器压力表指针在哪个区域表示压力正常？",
    options=("红区", "绿区", "黄区"),
    answer="B",
    category="消防安全",
)


def test_next_code_follows_the_highest_authored_code():
    assert qb.next_code([]) == "Q-0001"
    assert qb.next_code(["Q-0009", "Q-0010", "CHEM-001", "Q-x"]) == "Q-0011"


def test_blank_true_false_options_are_the_two_allowed_ones_and_trailing_blanks_go():
    assert qb.authored_options(qb.QuestionType.TRUEFALSE, ["", " ", ""]) == ("正确", "错误")
    assert qb.authored_options(qb.QuestionType.SINGLE, [" 红区", "绿区", "", ""]) == ("红区", "绿区")
    assert qb.authored_options(qb.QuestionType.TRUEFALSE, ["对", ""]) == ("对",)  # left for validation to refuse


def test_check_authored_refuses_a_taken_code_and_a_duplicate_stem_but_not_the_question_itself():
    bank = [("Q-0001", "灭火器压力表指针在哪个区域表示压力正常?"), ("FIRE-001", "其他题干")]
    problems = qb.check_authored(QUESTION, bank)
    assert {p.column for p in problems} == {"code", "stem"}
    assert qb.check_authored(QUESTION, bank, replacing="Q-0001") == []
    wrong = QUESTION.with_changes(answer="AB", code="Q-0002")
    assert [p.column for p in qb.check_authored(wrong, [])] == ["answer"]
