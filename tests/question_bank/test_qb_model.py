"""Question model: every type, serialisation, and structural validation."""

from __future__ import annotations

import pytest

from question_bank import Problem, Question, QuestionType, Status, validate_bank, validate_question

from .helpers import make_question


@pytest.mark.parametrize("qtype", ["single", "multiple", "truefalse"])
def test_each_type_is_valid_and_round_trips_through_dict(qtype):
    q = make_question(
        "FIRE-001",
        qtype,
        industries=("hazchem",),
        job_categories=("general", "principal"),
        points=2.5,
        version=3,
        status=Status.DRAFT,
    )
    assert validate_question(q) == []
    data = q.to_dict()
    assert data["type"] == qtype and isinstance(data["options"], list)
    assert Question.from_dict(data) == q


def test_from_dict_accepts_the_bundled_format_with_optional_keys_missing():
    data = {
        "code": "FIRE-001",
        "type": "truefalse",
        "stem": "灭火器压力表指针在绿区表示压力正常。",
        "options": ["正确", "错误"],
        "answer": "A",
        "explanation": "绿区为正常。",
        "category": "消防安全",
        "industries": [],
        "job_categories": [],
        "difficulty": 1,
        "basis": "GB 4351",
        "status": "active",
    }
    q = Question.from_dict(data)
    assert q.points is None and q.version == 1 and q.type is QuestionType.TRUEFALSE
    assert q.to_dict() == data | {"points": None, "version": 1}


def columns(q: Question) -> dict[str, str]:
    return {p.column: p.message for p in validate_question(q)}


def test_answer_not_among_options():
    msgs = columns(make_question(answer="E"))
    assert '"E" is not among the options A-D' in msgs["answer"]


@pytest.mark.parametrize(
    "kw, column, text",
    [
        (dict(qtype="multiple", answer="A"), "answer", "at least two correct"),
        (dict(answer="AB"), "answer", "exactly one correct"),
        (dict(qtype="truefalse", answer="AB"), "answer", "exactly one correct"),
        (dict(answer="BA"), "answer", "sorted and unique"),
        (dict(answer=""), "answer", "answer is empty"),
        (dict(answer="1"), "answer", "letters A-F"),
        (dict(qtype="truefalse", options=("对", "错")), "options", '["正确","错误"]'),
        (dict(options=("甲",), answer="A"), "options", "at least 2 options"),
        (dict(qtype="multiple", options=("甲", "乙"), answer="AB"), "options", "at least 3 options"),
        (dict(options=tuple("甲乙丙丁戊己庚"), answer="A"), "options", "at most 6"),
        (dict(options=("甲", "乙", "", "丁")), "options[2]", "option C is empty"),
        (dict(options=("甲", "乙", "甲 ", "丁")), "options[2]", "duplicates option A"),
        (dict(difficulty=0), "difficulty", "1-5"),
        (dict(difficulty=6), "difficulty", "1-5"),
        (dict(points=0.0), "points", "greater than 0"),
        (dict(version=0), "version", "positive integer"),
        (dict(code=""), "code", "code is empty"),
        (dict(code="FIRE 001"), "code", "no spaces"),
        (dict(code="X" * 33), "code", "max 32"),
        (dict(stem="  "), "stem", "stem is empty"),
        (dict(category=""), "category", "category is empty"),
        (dict(basis="法" * 256), "basis", "longer than 255"),
        (dict(stem="a\x07b"), "stem", "control characters"),
        (dict(industries=("危化",)), "industries", "invalid industry code"),
        (dict(job_categories=("boss",)), "job_categories", "unknown job category"),
    ],
)
def test_structural_problems(kw, column, text):
    kw = dict(kw)
    q = make_question(qtype=kw.pop("qtype", "single"), **kw)
    msgs = columns(q)
    assert column in msgs, msgs
    assert text in msgs[column]


def test_validate_bank_reports_duplicate_codes_and_stems_naming_both_rows():
    a = make_question("A-1", stem="动火作业前应当办理动火作业许可证。")
    b = make_question("A-2", stem="动火作业前应当办理动火作业许可证")  # same stem, no full stop
    c = make_question("A-1", stem="完全不同的题干")
    d = make_question("A-4", stem="动火作业前应当办理 动火作业许可证。")  # extra space
    problems = validate_bank([a, b, c, d], source="fire.json")
    found = {(p.row, p.column): p.message for p in problems}
    assert "row 1" in found[(2, "stem")]
    assert "row 1" in found[(3, "code")] and '"A-1"' in found[(3, "code")]
    assert "row 1" in found[(4, "stem")]
    assert len(problems) == 3
    assert str(problems[0]).startswith("fire.json, row ")


def test_problem_string_matches_the_issue_format():
    p = Problem(17, "答案", '"E" is not among the options A-D')
    assert str(p) == 'row 17, column 答案: "E" is not among the options A-D'
    assert Problem.from_dict(p.to_dict()) == p
