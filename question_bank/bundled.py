"""The question bank and rule sets shipped in question_bank/data."""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from pathlib import Path

from .assembly import RuleSet
from .importer import FORMATS, _relabel, parse_file
from .model import Problem, Question, find_duplicates

DATA_DIR = Path(__file__).resolve().parent / "data"
QUESTIONS_DIR = DATA_DIR / "questions"
RULESETS_DIR = DATA_DIR / "rulesets"


class BankError(ValueError):
    """Question files failed validation; `problems` lists every problem."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        shown = "\n".join(str(p) for p in problems[:20])
        more = f"\n... and {len(problems) - 20} more" if len(problems) > 20 else ""
        super().__init__(f"{len(problems)} problem(s) in question files:\n{shown}{more}")


def bundled_files() -> list[Path]:
    """Return the bundled question files (*.json), sorted by name."""
    return sorted(QUESTIONS_DIR.glob("*.json"))


def expand_paths(paths: Iterable[str | os.PathLike[str]]) -> list[Path]:
    """Expand directories into their .json/.xlsx/.csv files, sorted by name."""
    out: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            out.extend(sorted(f for f in p.iterdir() if f.suffix.lower().lstrip(".") in FORMATS))
        else:
            out.append(p)
    return out


def read_question_files(paths: Iterable[str | os.PathLike[str]]) -> tuple[list[Question], list[Problem]]:
    """Read and validate files together: row problems plus duplicates within and across files."""
    entries = []
    problems: list[Problem] = []
    labels: dict[str, dict[str, str]] = {}
    for path in expand_paths(paths):
        parsed = parse_file(path, source_name=path.name)
        entries.extend(parsed.entries)
        problems.extend(parsed.problems)
        labels[parsed.source] = parsed.labels
    problems.extend(_relabel(p, labels.get(p.source, {})) for p in find_duplicates(entries))
    bad = {(p.source, p.row) for p in problems}
    return [q for src, row, q in entries if (src, row) not in bad], problems


def load_bundled(strict: bool = True) -> list[Question]:
    """Load every bundled question file; raises BankError on any problem unless strict is False."""
    questions, problems = read_question_files(bundled_files())
    if problems and strict:
        raise BankError(problems)
    return questions


def load_rulesets(directory: str | os.PathLike[str] | None = None) -> dict[str, RuleSet]:
    """Load every *.json rule set in a directory (default: the bundled ones), keyed by id."""
    folder = Path(directory) if directory is not None else RULESETS_DIR
    out: dict[str, RuleSet] = {}
    for path in sorted(folder.glob("*.json")):
        rs = RuleSet.load(path)
        if rs.id in out:
            raise ValueError(f"duplicate rule set id {rs.id!r} in {path.name}")
        out[rs.id] = rs
    return out


def load_ruleset(name_or_path: str | os.PathLike[str]) -> RuleSet:
    """Load a rule set by bundled id (e.g. "general") or from a JSON file path."""
    path = Path(name_or_path)
    if path.suffix.lower() == ".json" and path.exists():
        return RuleSet.load(path)
    rulesets = load_rulesets()
    if str(name_or_path) not in rulesets:
        raise KeyError(f"unknown rule set {name_or_path!s}; bundled: {', '.join(sorted(rulesets))}")
    return rulesets[str(name_or_path)]


def select_ruleset(
    rulesets: Mapping[str, RuleSet] | Iterable[RuleSet], industry: str | None, job_category: str | None
) -> RuleSet | None:
    """Pick the most specific rule set for a worker: exact, then industry-only, job-only, general."""
    items = list(rulesets.values()) if isinstance(rulesets, Mapping) else list(rulesets)
    for ind, job in ((industry, job_category), (industry, None), (None, job_category), (None, None)):
        for rs in items:
            if rs.industry == ind and rs.job_category == job:
                return rs
    return None
