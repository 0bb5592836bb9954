"""Grading: per-type scoring, partial credit, pass/fail, and the shuffle-and-grade round trip."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from question_bank import GradeResult, Question, QuestionType, assemble, grade
from question_bank.model import LETTERS

from .helpers import make_question, ruleset


def fixed_paper(policy: str = "none", pass_mark: float = 6):
    """Return a paper with one item per type and options left in place (shuffle off)."""
    questions = [
        make_question("S-1", "single", answer="B"),
        make_question("M-1", "multiple", answer="ACD"),
        make_question("T-1", "truefalse", answer="B"),
    ]
    rs = ruleset(
        [{"category": "消防安全", "type": t, "count": 1} for t in ("single", "multiple", "truefalse")],
        shuffle_options=False,
        partial_credit=policy,
        pass_mark=pass_mark,
    )
    return assemble(questions, rs, 0)


@pytest.mark.parametrize(
    "responses, total, passed",
    [
        ({"S-1": "B", "M-1": "ACD", "T-1": "B"}, 6.0, True),
        ({"S-1": "b", "M-1": "D, C ,a", "T-1": ["B"]}, 6.0, True),
        ({"S-1": "A", "M-1": "ACD", "T-1": "B"}, 4.0, False),
        ({"S-1": "B", "M-1": "AC", "T-1": "B"}, 3.0, False),
        ({"S-1": "B", "M-1": "ABCD", "T-1": "A"}, 2.0, False),
        ({"S-1": "BC", "M-1": "ACD"}, 3.0, False),
        ({}, 0.0, False),
    ],
)
def test_per_type_scoring_with_no_partial_credit(responses, total, passed):
    result = grade(fixed_paper(), responses)
    assert (result.total, result.passed, result.max_total, result.policy) == (total, passed, 6.0, "none")


def test_per_item_points_and_letters():
    result = grade(fixed_paper(), {"S-1": "B", "M-1": "CA"})
    s, m, t = result.items
    assert (s.type, s.correct, s.points_awarded, s.points_possible) == (QuestionType.SINGLE, True, 2.0, 2.0)
    assert (m.type, m.response, m.correct, m.points_awarded, m.points_possible) == (
        QuestionType.MULTIPLE,
        "AC",
        False,
        0.0,
        3.0,
    )
    assert (t.type, t.response, t.correct, t.points_awarded, t.points_possible) == (
        QuestionType.TRUEFALSE,
        "",
        False,
        0.0,
        1.0,
    )


@pytest.mark.parametrize(
    "response, awarded",
    [
        ("ACD", 3.0),
        ("AC", 2.0),
        ("D", 1.0),
        ("ABC", 0.0),
        ("B", 0.0),
        ("", 0.0),
    ],
)
def test_proportional_partial_credit_for_multiple_choice(response, awarded):
    result = grade(fixed_paper(), {"M-1": response}, policy="proportional")
    assert result.items[1].points_awarded == awarded and result.policy == "proportional"


def test_partial_credit_policy_defaults_to_the_paper_and_never_touches_single_choice():
    paper = fixed_paper(policy="proportional")
    assert grade(paper, {"M-1": "AC"}).total == 2.0
    assert grade(paper, {"M-1": "AC"}, policy="none").total == 0.0
    assert grade(paper, {"S-1": "AB"}).total == 0.0
    with pytest.raises(ValueError, match="policy"):
        grade(paper, {}, policy="lenient")


def test_pass_mark_is_inclusive_and_rounding_is_to_cents():
    paper = fixed_paper(policy="proportional", pass_mark=5.0)
    assert grade(paper, {"S-1": "B", "M-1": "ACD"}).passed  # exactly 5 of 6
    three = [make_question("M-2", "multiple", answer="ABC", points=1.0)]
    rs = ruleset(
        [{"category": "消防安全", "type": "multiple", "count": 1}],
        shuffle_options=False,
        partial_credit="proportional",
        pass_mark=0.33,
    )
    result = grade(assemble(three, rs, 0), {"M-2": "A"})
    assert result.total == 0.33 and result.passed


def test_responses_by_item_number_and_bad_input():
    paper = fixed_paper()
    assert grade(paper, {1: "B", 2: "ACD", 3: "B"}).total == 6.0
    with pytest.raises(ValueError, match="not on this paper"):
        grade(paper, {"NOPE": "A"})
    with pytest.raises(ValueError, match="not among options A-B"):
        grade(paper, {"T-1": "C"})


def test_grade_result_serialises():
    result = grade(fixed_paper(), {"S-1": "B", "M-1": "AD"})
    assert GradeResult.from_dict(json.loads(json.dumps(result.to_dict()))) == result
    assert result.percent == pytest.approx(33.33)


@st.composite
def banks(draw):
    """Draw a small bank of valid questions of every type with random option counts and answers."""
    questions = []
    for i in range(draw(st.integers(3, 12))):
        qtype = draw(st.sampled_from(["single", "multiple", "truefalse"]))
        if qtype == "truefalse":
            questions.append(make_question(f"T-{i}", qtype, stem=f"判断{i}", answer=draw(st.sampled_from("AB"))))
            continue
        k = draw(st.integers(3 if qtype == "multiple" else 2, 6))
        size = 1 if qtype == "single" else draw(st.integers(2, k))
        answer = "".join(sorted(draw(st.permutations(LETTERS[:k]))[:size]))
        questions.append(
            make_question(
                f"Q-{i}",
                qtype,
                stem=f"题{i}",
                options=tuple(f"选项{i}-{j}" for j in range(k)),
                answer=answer,
                points=draw(st.sampled_from([None, 1.0, 2.5])),
            )
        )
    return questions


@settings(max_examples=150, deadline=None)
@given(
    bank=banks(),
    seed=st.integers(0, 2**32) | st.text(max_size=12),
    data=st.data(),
    policy=st.sampled_from(["none", "proportional"]),
)
def test_shuffle_and_grade_round_trip(bank: list[Question], seed, data, policy):
    counts = {t: sum(q.type.value == t for q in bank) for t in ("single", "multiple", "truefalse")}
    rs = ruleset([{"category": "消防安全", "type": t, "count": n} for t, n in counts.items() if n])
    paper = assemble(bank, rs, seed)
    assert assemble(bank, rs, seed) == paper
    by_code = {q.code: q for q in bank}

    # Answering every item with the bank's correct answer, translated to presented letters, scores full marks.
    perfect = grade(paper, {i.code: i.to_presented(by_code[i.code].answer) for i in paper.items}, policy)
    assert perfect.total == paper.total_points and perfect.passed
    assert all(g.response_original == by_code[g.code].answer for g in perfect.items)

    # Any response chosen in ORIGINAL letters and shown in presented letters grades as it would unshuffled.
    original = {}
    for item in paper.items:
        q = by_code[item.code]
        letters = data.draw(st.sets(st.sampled_from(LETTERS[: len(q.options)])))
        original[item.code] = "".join(sorted(letters))
    presented = {i.code: i.to_presented(original[i.code]) for i in paper.items}
    result = grade(paper, presented, policy)
    for g in result.items:
        q = by_code[g.code]
        assert g.response_original == original[g.code]
        assert g.correct == (original[g.code] == q.answer)
        if policy == "none" or q.type is not QuestionType.MULTIPLE:
            assert g.points_awarded == (g.points_possible if g.correct else 0.0)
        elif original[g.code] and set(original[g.code]) <= set(q.answer):
            assert g.points_awarded == round(g.points_possible * len(original[g.code]) / len(q.answer), 2)
        else:
            assert g.points_awarded == 0.0
