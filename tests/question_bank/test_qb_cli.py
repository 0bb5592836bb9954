"""The question-bank command line."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from question_bank import Paper, assemble, export_questions, grade, import_file
from question_bank.cli import main

from .helpers import grid_bank, make_question, ruleset

COMMANDS = ["validate", "import", "export", "assemble", "stats"]


@pytest.fixture()
def run():
    runner = CliRunner()
    return lambda *args: runner.invoke(main, [str(a) for a in args], catch_exceptions=False)


@pytest.fixture()
def bank_file(tmp_path):
    path = tmp_path / "bank.json"
    path.write_bytes(export_questions(grid_bank(per_cell=2), "json"))
    return path


@pytest.fixture()
def ruleset_file(tmp_path):
    path = tmp_path / "rs.json"
    rs = ruleset(
        [
            {"category": "消防安全", "type": "single", "difficulty": "1-3", "count": 4},
            {"category": "危险化学品", "type": "multiple", "difficulty": "4-5", "count": 2},
        ]
    )
    path.write_text(json.dumps(rs.to_dict(), ensure_ascii=False), encoding="utf-8")
    return path


def test_help_lists_every_command(run):
    result = run("--help")
    assert result.exit_code == 0
    assert all(c in result.output for c in COMMANDS)
    for command in COMMANDS:
        sub = run(command, "--help")
        assert sub.exit_code == 0 and "Usage:" in sub.output and len(sub.output) > 200


def test_validate_ok_and_with_problems(run, tmp_path, bank_file):
    ok = run("validate", bank_file, "--min-questions", 100)
    assert ok.exit_code == 0 and "120 valid questions in 4 categories" in ok.output
    too_few = run("validate", bank_file, "--min-questions", 500)
    assert too_few.exit_code == 1 and "too few questions" in too_few.output
    bad = [make_question("A-1").to_dict(), make_question("A-1", stem="另一题", answer="E").to_dict()]
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "bad.json").write_text(json.dumps(bad, ensure_ascii=False), encoding="utf-8")
    result = run("validate", tmp_path / "bad")
    assert result.exit_code == 1
    assert "bad.json, row 2, column answer: " in result.output and "duplicate code" in result.output


def test_validate_reports_duplicates_across_files(run, tmp_path):
    for name in ("a.json", "b.json"):
        (tmp_path / name).write_text(json.dumps([make_question("SAME-1").to_dict()]), encoding="utf-8")
    result = run("validate", tmp_path)
    assert result.exit_code == 1 and "a.json row 1" in result.output


def test_import_reports_problems_and_writes_only_when_allowed(run, tmp_path, bank_file):
    rows = [make_question(f"N-{i}", stem=f"新题 {i}") for i in range(3)]
    rows[1] = rows[1].with_changes(answer="E")
    src = tmp_path / "new.csv"
    src.write_bytes(export_questions(rows, "csv"))
    out = tmp_path / "out.json"
    refused = run("import", src, "-o", out)
    assert refused.exit_code == 1 and "row 3, column 答案" in refused.output and not out.exists()
    accepted = run("import", src, "--accept-valid-rows", "-o", out, "--existing", bank_file)
    assert accepted.exit_code == 0 and out.exists()
    assert [q.code for q in import_file(out).questions] == ["N-0", "N-2"]
    dup = run("import", bank_file, "--existing", bank_file)
    assert dup.exit_code == 1 and "already exists" in dup.output


@pytest.mark.parametrize("fmt", ["xlsx", "csv", "json"])
def test_export_formats_and_template(run, tmp_path, bank_file, fmt):
    out = tmp_path / f"out.{fmt}"
    result = run("export", "--source", bank_file, "-o", out)
    assert result.exit_code == 0 and len(import_file(out).questions) == 120
    template = tmp_path / "template.xlsx"
    assert run("export", "--template", "-o", template).exit_code == 0
    assert import_file(template).skipped_example_rows == 1


def test_assemble_text_json_and_shortfall(run, tmp_path, bank_file, ruleset_file):
    text = run("assemble", "-r", ruleset_file, "-s", "worker-1", "--bank", bank_file, "--answers")
    assert text.exit_code == 0 and "6 题" in text.output and "答案:" in text.output
    as_json = run("assemble", "-r", ruleset_file, "-s", 7, "--bank", bank_file, "--json")
    paper = Paper.from_dict(json.loads(as_json.output))
    assert paper.seed == 7 and len(paper.items) == 6
    data = json.loads(ruleset_file.read_text(encoding="utf-8"))
    data["rules"][1]["count"] = 9
    ruleset_file.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    short = run("assemble", "-r", ruleset_file, "-s", 1, "--bank", bank_file)
    assert short.exit_code == 1
    assert "category 危险化学品, multiple choice, difficulty 4-5: need 9, bank has 4" in short.output


def test_stats_table_and_json(run, tmp_path):
    bank = grid_bank(per_cell=2)
    rs = ruleset([{"category": "消防安全", "type": "single", "count": 6}])
    results = []
    for seed in range(30):
        paper = assemble(bank, rs, seed)
        results.append(grade(paper, {i.code: i.answer for i in paper.items[: seed % 7]}).to_dict())
    path = tmp_path / "sittings.json"
    path.write_text(json.dumps(results), encoding="utf-8")
    table = run("stats", path)
    assert table.exit_code == 0 and "facility" in table.output and "C1-S1-0" in table.output
    rows = json.loads(run("stats", path, "--json", "--min-responses", 1).output)
    assert {r["code"] for r in rows} <= {q.code for q in bank} and all("flags" in r for r in rows)
