"""Command line: question-bank validate|import|export|assemble|stats."""

from __future__ import annotations

import json
import sys
from collections import Counter
from pathlib import Path

import click

from .assembly import AssemblyError, IndexedBank
from .assembly import assemble as assemble_paper
from .bundled import QUESTIONS_DIR, bundled_files, load_ruleset, read_question_files
from .importer import FORMATS, detect_format, export_questions, import_file
from .model import LETTERS, Question
from .stats import FLAG_LABELS, item_statistics
from .template import build_template


def _load_bank(paths: tuple[str, ...]) -> list[Question]:
    """Load questions from files/directories (default: bundled), exiting on any problem."""
    questions, problems = read_question_files(paths or [QUESTIONS_DIR])
    if problems:
        for p in problems:
            click.echo(str(p), err=True)
        raise click.ClickException(f"{len(problems)} problem(s) in the question files; run `question-bank validate`")
    return questions


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def main() -> None:
    """Manage the safety-training question bank (题库): validate, import, export, assemble papers, item statistics."""


@main.command()
@click.argument("paths", nargs=-1, type=click.Path(exists=True))
@click.option("--min-questions", type=int, default=0, help="Fail if fewer questions than this.")
@click.option("--min-categories", type=int, default=0, help="Fail if fewer categories than this.")
def validate(paths: tuple[str, ...], min_questions: int, min_categories: int) -> None:
    """Check question files (default: the bundled bank) for structural problems.

    Checks every row (answer among the options, multiple choice with at least two
    correct options, true/false options, difficulty 1-5, ...) and duplicate codes and
    stems within and across files. PATHS may be .json/.xlsx/.csv files or directories.
    Exits with status 1 when any problem is found.
    """
    targets = list(paths) or [str(QUESTIONS_DIR)]
    if not paths and not bundled_files():
        raise click.ClickException(f"no bundled question files in {QUESTIONS_DIR}")
    questions, problems = read_question_files(targets)
    for p in problems:
        click.echo(str(p))
    by_cat = Counter(q.category for q in questions)
    by_type = Counter(q.type.value for q in questions)
    click.echo(
        f"{len(questions)} valid questions in {len(by_cat)} categories "
        f"({', '.join(f'{t} {n}' for t, n in sorted(by_type.items()))}); {len(problems)} problem(s)"
    )
    for cat, n in sorted(by_cat.items()):
        click.echo(f"  {cat}: {n}")
    failed = bool(problems)
    if len(questions) < min_questions:
        click.echo(f"too few questions: {len(questions)} < {min_questions}")
        failed = True
    if len(by_cat) < min_categories:
        click.echo(f"too few categories: {len(by_cat)} < {min_categories}")
        failed = True
    sys.exit(1 if failed else 0)


@main.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--format", "fmt", type=click.Choice(FORMATS), help="File format (default: from the extension).")
@click.option(
    "--existing",
    multiple=True,
    type=click.Path(exists=True),
    help="Question files/directories already in the bank; duplicates of their codes/stems are errors.",
)
@click.option("--accept-valid-rows", is_flag=True, help="Import the valid rows even if other rows have errors.")
@click.option("-o", "--output", type=click.Path(dir_okay=False), help="Write the accepted questions here as JSON.")
def import_cmd(
    file: str, fmt: str | None, existing: tuple[str, ...], accept_valid_rows: bool, output: str | None
) -> None:
    """Validate an XLSX/CSV/JSON question file and report every problem by row and column.

    A file with any error imports nothing unless --accept-valid-rows is given. With -o the
    accepted questions are written as JSON in the bundled format. Exits 1 if nothing may be written.
    """
    known = _load_bank(existing) if existing else []
    result = import_file(
        file,
        fmt,
        existing_codes=[q.code for q in known],
        existing_stems=[q.stem for q in known],
        accept_valid_rows=accept_valid_rows,
    )
    for p in result.problems:
        click.echo(str(p))
    click.echo(result.summary())
    if not result.ok_to_write:
        sys.exit(1)
    if output:
        Path(output).write_bytes(export_questions(result.questions, "json"))
        click.echo(f"wrote {len(result.questions)} questions to {output}")


@main.command()
@click.option(
    "-o",
    "--output",
    required=True,
    type=click.Path(dir_okay=False),
    help="Output file; the format follows its extension (.xlsx, .csv, .json).",
)
@click.option(
    "--source",
    "sources",
    multiple=True,
    type=click.Path(exists=True),
    help="Question files/directories to export (default: the bundled bank).",
)
@click.option("--format", "fmt", type=click.Choice(FORMATS), help="Override the format chosen by extension.")
@click.option("--template", is_flag=True, help="Write the empty XLSX import template instead of questions.")
def export(output: str, sources: tuple[str, ...], fmt: str | None, template: bool) -> None:
    """Export questions to XLSX, CSV or JSON, or write the XLSX import template."""
    if template:
        Path(output).write_bytes(build_template())
        click.echo(f"wrote template to {output}")
        return
    questions = _load_bank(sources)
    fmt = fmt or detect_format(output)
    Path(output).write_bytes(export_questions(questions, fmt))
    click.echo(f"wrote {len(questions)} questions to {output}")


@main.command()
@click.option("-r", "--ruleset", required=True, help="Bundled rule set id (e.g. general, hazchem) or a JSON file.")
@click.option("-s", "--seed", required=True, help="Seed; the same seed gives the same paper (e.g. exam:worker id).")
@click.option(
    "--bank",
    "banks",
    multiple=True,
    type=click.Path(exists=True),
    help="Question files/directories (default: the bundled bank).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the paper as JSON (includes answers).")
@click.option("--answers", is_flag=True, help="Show answers in the text output.")
def assemble(ruleset: str, seed: str, banks: tuple[str, ...], as_json: bool, answers: bool) -> None:
    """Assemble a paper (组卷) from a rule set and a seed; explains any rule the bank cannot satisfy."""
    rs = load_ruleset(ruleset)
    bank = IndexedBank(_load_bank(banks))
    seed_value: int | str = int(seed) if seed.lstrip("-").isdigit() else seed
    try:
        paper = assemble_paper(bank, rs, seed_value)
    except AssemblyError as exc:
        raise click.ClickException(str(exc)) from exc
    if as_json:
        click.echo(json.dumps(paper.to_dict(), ensure_ascii=False, indent=2))
        return
    click.echo(
        f"{paper.title}  {len(paper.items)} 题 / {paper.total_points:g} 分, 及格 {paper.pass_mark:g} 分, "
        f"{paper.duration_minutes} 分钟 (seed {paper.seed})"
    )
    for it in paper.items:
        click.echo(f"{it.number}. [{it.type.label} {it.points:g}分] {it.stem}  ({it.code})")
        for letter, text in zip(LETTERS, it.options, strict=False):
            click.echo(f"   {letter}. {text}")
        if answers:
            click.echo(f"   答案: {it.answer}")


@main.command()
@click.argument("sittings", type=click.Path(exists=True, dir_okay=False))
@click.option(
    "--min-responses",
    type=int,
    default=10,
    show_default=True,
    help="Only flag questions seen in at least this many sittings.",
)
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
@click.option("--flagged", is_flag=True, help="Only show flagged questions.")
def stats(sittings: str, min_responses: int, as_json: bool, flagged: bool) -> None:
    """Item statistics from graded sittings (a JSON array of GradeResult.to_dict() objects).

    Shows facility (proportion correct), corrected point-biserial and upper-lower 27%
    discrimination, and flags: too_easy (facility > 0.9), too_hard (< 0.2),
    negative_discrimination (< 0).
    """
    data = json.loads(Path(sittings).read_text(encoding="utf-8"))
    rows = item_statistics(data, min_responses=min_responses)
    if flagged:
        rows = [r for r in rows if r.flags]
    if as_json:
        click.echo(json.dumps([r.to_dict() for r in rows], ensure_ascii=False, indent=2))
        return
    click.echo(f"{'code':<16}{'n':>6}{'facility':>10}{'r_pb':>8}{'D_27':>8}  flags")
    for r in rows:
        pb = "-" if r.point_biserial is None else f"{r.point_biserial:.3f}"
        ul = "-" if r.upper_lower is None else f"{r.upper_lower:.3f}"
        flags = ", ".join(FLAG_LABELS[f] for f in r.flags)
        click.echo(f"{r.code:<16}{r.n:>6}{r.facility:>10.3f}{pb:>8}{ul:>8}  {flags}")


if __name__ == "__main__":
    main()
