"""Benchmark question_bank: paper assembly from a 5,000-question bank and XLSX import of 5,000 rows.

Prints medians and writes docs/benchmarks_question_bank.md with machine and date.
Targets (from the issue): assembly of a 100-question paper median < 20 ms; 5,000-row XLSX import < 10 s.
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import statistics
import sys
import time
from pathlib import Path

import benchdoc  # scripts/benchdoc.py rebuilds docs/benchmarks.md

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from question_bank import (  # noqa: E402  (after sys.path names the repository)
    IndexedBank,
    Question,
    QuestionType,
    RuleSet,
    assemble,
    export_questions,
    grade,
    import_file,
)

CATEGORIES = [
    "安全生产法律法规",
    "消防安全",
    "应急救援与疏散",
    "危险化学品",
    "电气安全",
    "高处作业",
    "有限空间",
    "特种设备",
    "职业健康",
    "急救常识",
]
TYPES = [QuestionType.SINGLE] * 2 + [QuestionType.MULTIPLE, QuestionType.TRUEFALSE]
DIFFICULTY = [1, 2, 2, 3, 3, 3, 4, 5]


def synthetic_bank(n: int, seed: int = 1) -> list[Question]:
    """Make n valid questions spread over 10 categories, 3 types and difficulties 1-5."""
    rng = random.Random(seed)
    out = []
    for i in range(n):
        qtype = rng.choice(TYPES)
        if qtype is QuestionType.TRUEFALSE:
            options, answer = ("正确", "错误"), rng.choice("AB")
        else:
            k = rng.choice([4, 4, 4, 5])
            options = tuple(f"第{i}题的选项{j}内容" for j in range(k))
            m = 1 if qtype is QuestionType.SINGLE else rng.randint(2, k)
            answer = "".join(sorted(rng.sample("ABCDE"[:k], m)))
        out.append(
            Question(
                code=f"SYN-{i:05d}",
                type=qtype,
                stem=f"合成题目第 {i} 题：下列说法正确的是？",
                options=options,
                answer=answer,
                explanation="解析",
                category=CATEGORIES[i % 10],
                difficulty=rng.choice(DIFFICULTY),
                basis="《中华人民共和国安全生产法》第二十八条",
            )
        )
    return out


def ruleset_100() -> RuleSet:
    """Return a 100-question rule set: per category 5 single (1-2 / 3 / 4-5), 3 multiple, 2 true/false."""
    rules = []
    for cat in CATEGORIES:
        rules += [
            {"category": cat, "type": "single", "difficulty": "1-2", "count": 2},
            {"category": cat, "type": "single", "difficulty": "3", "count": 2},
            {"category": cat, "type": "single", "difficulty": "4-5", "count": 1},
            {"category": cat, "type": "multiple", "difficulty": "1-3", "count": 2},
            {"category": cat, "type": "multiple", "difficulty": "4-5", "count": 1},
            {"category": cat, "type": "truefalse", "difficulty": "any", "count": 2},
        ]
    return RuleSet.from_dict(
        {
            "id": "bench",
            "name": "bench",
            "duration_minutes": 90,
            "pass_mark": 80,
            "points": {"single": 1, "multiple": 1.5, "truefalse": 0.5},
            "rules": rules,
        }
    )


def timed(fn, repeat: int) -> list[float]:
    """Return wall times in seconds of `repeat` calls."""
    times = []
    for i in range(repeat):
        t0 = time.perf_counter()
        fn(i)
        times.append(time.perf_counter() - t0)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=200, help="assembly repetitions")
    parser.add_argument("--import-repeat", type=int, default=3, help="XLSX import repetitions")
    parser.add_argument("--output", default=str(ROOT / "docs" / "benchmarks_question_bank.md"))
    parser.add_argument("--no-write", action="store_true", help="print only")
    args = parser.parse_args()

    bank_list = synthetic_bank(5000)
    rs = ruleset_100()
    t0 = time.perf_counter()
    bank = IndexedBank(bank_list)
    index_ms = (time.perf_counter() - t0) * 1000
    assemble(bank, rs, 0)  # fills the candidate cache, as a long-running server would have
    warm = timed(lambda i: assemble(bank, rs, f"worker-{i}"), args.repeat)
    cold = timed(lambda i: assemble(bank_list, rs, f"worker-{i}"), max(20, args.repeat // 10))
    paper = assemble(bank, rs, "grade")
    responses = {it.code: it.answer for it in paper.items}
    grading = timed(lambda i: grade(paper, responses), args.repeat)

    xlsx = export_questions(bank_list, "xlsx")
    export_t = timed(lambda i: export_questions(bank_list, "xlsx"), 1)
    imports = timed(lambda i: import_file(xlsx, "xlsx"), args.import_repeat)
    result = import_file(xlsx, "xlsx")
    assert result.ok_to_write and len(result.questions) == 5000, result.summary()

    ms = lambda xs: statistics.median(xs) * 1000  # noqa: E731
    rows = [
        (
            "Assemble 100 questions from 5,000 (indexed bank, warm)",
            f"{ms(warm):.2f} ms",
            f"p95 {sorted(warm)[int(len(warm) * 0.95) - 1] * 1000:.2f} ms, n={len(warm)}",
            "< 20 ms",
        ),
        (
            "Assemble 100 from a plain list of 5,000 (builds the index each time)",
            f"{ms(cold):.2f} ms",
            f"n={len(cold)}",
            "< 20 ms",
        ),
        ("Build IndexedBank of 5,000", f"{index_ms:.2f} ms", "once", ""),
        ("Grade a 100-question paper", f"{ms(grading):.3f} ms", f"n={len(grading)}", ""),
        (
            "Import 5,000-row XLSX (validate every row)",
            f"{statistics.median(imports):.2f} s",
            f"n={len(imports)}, file {len(xlsx) / 1024:.0f} KiB",
            "< 10 s",
        ),
        ("Export 5,000 questions to XLSX", f"{export_t[0]:.2f} s", "n=1", ""),
    ]
    for name, median, extra, target in rows:
        print(f"{name}: median {median} ({extra}) {('target ' + target) if target else ''}")
    if args.no_write:
        return
    now = dt.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z")
    lines = [
        "## question_bank",
        "",
        f"Run {now} on {benchdoc.machine()}.",
        "",
        "Command: `python scripts/bench_question_bank.py` (synthetic bank: 5,000 questions, 10 categories; "
        "rule set of 60 rules drawing 100 questions).",
        "",
        "| Measurement | Median | Notes | Target |",
        "| --- | --- | --- | --- |",
    ]
    lines += [f"| {n} | {m} | {e} | {t} |" for n, m, e, t in rows]
    Path(args.output).parent.mkdir(parents=True, exist_ok=True)
    Path(args.output).write_text("\n".join(lines) + "\n", encoding="utf-8")
    benchdoc.rebuild()
    print(f"wrote {args.output}")


if __name__ == "__main__":
    main()
