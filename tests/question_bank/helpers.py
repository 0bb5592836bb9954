"""Builders of small, valid question banks for the question_bank tests."""

from __future__ import annotations

import random
from typing import Any

from question_bank import Question, QuestionType, RuleSet, Status

OPTIONS4 = ("佩戴安全帽", "系好安全带", "设置警示标志", "关闭电源")
CATEGORIES = ("安全生产法律法规", "消防安全", "危险化学品", "电气安全")


def make_question(code: str = "Q-001", qtype: str = "single", **kw: Any) -> Question:
    """Return a valid question of the given type; keyword arguments override fields."""
    defaults: dict[str, Any] = {
        "single": {"options": OPTIONS4, "answer": "B"},
        "multiple": {"options": OPTIONS4, "answer": "ACD"},
        "truefalse": {"options": ("正确", "错误"), "answer": "A"},
    }[qtype]
    fields: dict[str, Any] = (
        dict(
            code=code,
            type=QuestionType(qtype),
            stem=f"题目 {code}：下列做法正确的是？",
            explanation="解析",
            category="消防安全",
            difficulty=3,
            basis="《中华人民共和国安全生产法》（2021年修正）第二十八条",
        )
        | defaults
    )
    fields.update(kw)
    return Question(**fields)


def grid_bank(
    per_cell: int = 4,
    categories: tuple[str, ...] = CATEGORIES,
    difficulties: tuple[int, ...] = (1, 2, 3, 4, 5),
    **kw: Any,
) -> list[Question]:
    """Return per_cell questions for every category x type x difficulty, with distinct options."""
    out = []
    n = 0
    for ci, cat in enumerate(categories):
        for qtype in ("single", "multiple", "truefalse"):
            for d in difficulties:
                for k in range(per_cell):
                    n += 1
                    code = f"C{ci}-{qtype[0].upper()}{d}-{k}"
                    extra: dict[str, Any] = {}
                    if qtype != "truefalse":
                        extra["options"] = tuple(f"{code} 选项{j}" for j in range(4 + k % 2))
                    out.append(make_question(code, qtype, category=cat, difficulty=d, **extra, **kw))
    return out


def synthetic_bank(n: int, seed: int = 1) -> list[Question]:
    """Return n valid questions over 10 categories with random types, answers and difficulties."""
    rng = random.Random(seed)
    cats = [f"分类{i}" for i in range(10)]
    out = []
    for i in range(n):
        qtype = rng.choice(["single", "single", "multiple", "truefalse"])
        if qtype == "truefalse":
            out.append(make_question(f"S-{i:05d}", qtype, category=cats[i % 10], difficulty=rng.randint(1, 5)))
            continue
        k = rng.choice([4, 5])
        m = 1 if qtype == "single" else rng.randint(2, k)
        answer = "".join(sorted(rng.sample("ABCDE"[:k], m)))
        out.append(
            make_question(
                f"S-{i:05d}",
                qtype,
                category=cats[i % 10],
                difficulty=rng.randint(1, 5),
                options=tuple(f"{i}-{j}" for j in range(k)),
                answer=answer,
            )
        )
    return out


def ruleset(rules: list[dict[str, Any]], **kw: Any) -> RuleSet:
    """Return a RuleSet with points single 2, multiple 3, true/false 1 and the given rules."""
    data: dict[str, Any] = {
        "id": "test",
        "name": "测试试卷",
        "duration_minutes": 60,
        "points": {"single": 2, "multiple": 3, "truefalse": 1},
        "rules": rules,
    }
    data.update(kw)
    if "pass_mark" not in data:
        nominal = sum(r["count"] * data["points"][r["type"]] for r in rules)
        data["pass_mark"] = round(nominal * 0.8, 2)
    return RuleSet.from_dict(data)


__all__ = ["CATEGORIES", "OPTIONS4", "Status", "grid_bank", "make_question", "ruleset", "synthetic_bank"]
