"""Safety-training question bank: model, import/export, paper assembly, grading and item statistics."""

from .assembly import (
    AssemblyError,
    IndexedBank,
    Paper,
    PaperItem,
    Rule,
    RuleSet,
    assemble,
    draw_practice,
    eligible,
    present,
    shortfalls,
)
from .bundled import BankError, load_bundled, load_ruleset, load_rulesets, read_question_files, select_ruleset
from .grading import GradeResult, ItemGrade, grade
from .importer import ImportResult, export_questions, import_file
from .model import INDUSTRIES, JOB_CATEGORIES, Problem, Question, QuestionType, Status, validate_bank, validate_question
from .stats import FLAG_LABELS, ItemStats, item_statistics
from .template import build_template

__all__ = [
    "AssemblyError",
    "BankError",
    "FLAG_LABELS",
    "GradeResult",
    "INDUSTRIES",
    "ImportResult",
    "IndexedBank",
    "ItemGrade",
    "ItemStats",
    "JOB_CATEGORIES",
    "Paper",
    "PaperItem",
    "Problem",
    "Question",
    "QuestionType",
    "Rule",
    "RuleSet",
    "Status",
    "assemble",
    "build_template",
    "draw_practice",
    "eligible",
    "export_questions",
    "grade",
    "import_file",
    "item_statistics",
    "load_bundled",
    "load_ruleset",
    "load_rulesets",
    "present",
    "read_question_files",
    "select_ruleset",
    "shortfalls",
    "validate_bank",
    "validate_question",
]
