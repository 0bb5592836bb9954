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
from .authoring import AUTHORED_PREFIX, authored_options, check_authored, edited_ruleset, next_code
from .bundled import BankError, load_bundled, load_ruleset, load_rulesets, read_question_files, select_ruleset
from .grading import GradeResult, ItemGrade, grade
from .importer import ImportResult, export_questions, import_file
from .model import INDUSTRIES, JOB_CATEGORIES, Problem, Question, QuestionType, Status, validate_bank, validate_question
from .stats import FLAG_LABELS, ItemStats, item_statistics
from .template import build_template

__all__ = [
    "AUTHORED_PREFIX",
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
    "authored_options",
    "check_authored",
    "build_template",
    "draw_practice",
    "edited_ruleset",
    "eligible",
    "export_questions",
    "grade",
    "import_file",
    "item_statistics",
    "load_bundled",
    "load_ruleset",
    "load_rulesets",
    "next_code",
    "present",
    "read_question_files",
    "select_ruleset",
    "shortfalls",
    "validate_bank",
    "validate_question",
]
