"""The console's English catalogue is complete, current with the source, and compiled."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[1]
TRANSLATIONS = ROOT / "exam_server" / "translations"
PO = TRANSLATIONS / "en" / "LC_MESSAGES" / "messages.po"
MO = TRANSLATIONS / "en" / "LC_MESSAGES" / "messages.mo"
PLACEHOLDER = re.compile(r"%\(\w+\)")


def msgids(catalog) -> set[tuple[str | None, str]]:
    return {(message.context, message.id) for message in catalog if message.id}


def test_every_english_entry_is_translated_and_not_fuzzy():
    catalog = read_po(PO.open("rb"))
    untranslated = [m.id for m in catalog if m.id and not m.string]
    fuzzy = [m.id for m in catalog if m.id and m.fuzzy]
    assert untranslated == [] and fuzzy == []
    assert not catalog.fuzzy


def test_english_keeps_every_placeholder():
    for message in read_po(PO.open("rb")):
        if message.id:
            assert set(PLACEHOLDER.findall(message.id)) == set(PLACEHOLDER.findall(message.string)), message.id


def test_pot_and_po_match_the_source(tmp_path):
    fresh = tmp_path / "messages.pot"
    subprocess.run(
        [sys.executable, "-m", "babel.messages.frontend", "-q", "extract", "-F", "babel.cfg", "-k", "_l"]
        + ["--no-location", "-o", str(fresh), "."],
        cwd=ROOT,
        check=True,
    )
    source = msgids(read_po(fresh.open("rb")))
    assert len(source) > 500
    assert msgids(read_po((TRANSLATIONS / "messages.pot").open("rb"))) == source, "run pybabel extract (docs)"
    assert msgids(read_po(PO.open("rb"))) == source, "run pybabel update and translate (docs)"


def test_compiled_catalogue_matches_the_po():
    po = {(m.context, m.id): m.string for m in read_po(PO.open("rb")) if m.id}
    mo = {(m.context, m.id): m.string for m in read_mo(MO.open("rb")) if m.id}
    assert mo == po, "run pybabel compile -d exam_server/translations (docs)"


def test_every_enum_label_is_in_the_catalogue():
    from exam_server import models
    from exam_server.i18n import LABEL_CONTEXT
    from question_bank import QuestionType, Status

    labelled = [
        models.JobCategory,
        models.RequirementStatus,
        models.ReviewKind,
        models.ReviewStatus,
        QuestionType,
        Status,
    ]
    words = {member.label for enum in labelled for member in enum} | set(models.ROLE_LABELS.values())
    catalogued = {m.id for m in read_po(PO.open("rb")) if m.context == LABEL_CONTEXT}
    assert words <= catalogued


# ---- service refusals: every DomainError raised in services/ is a catalogued msgid with its values ----

SERVICES = ROOT / "exam_server" / "services"
# The worker's practice pages stay Chinese (docs/architecture.md, "Console languages"): their refusals are not extracted.
WORKER_ONLY = {"practice/drills.py", "practice/mock.py"}
# A msgid passed on by name: where it is marked with N_() instead (user_admin raises policy.account_scope_error's).
PASSED_ON = {("admin/user_admin.py", "refusal")}


def _domain_errors() -> set[str]:
    """Return DomainError and the names of its subclasses in services/."""
    names = {"DomainError"}
    for path in SERVICES.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ClassDef) and any(getattr(b, "id", None) in names for b in node.bases):
                names.add(node.name)
    return names


def _called(node: ast.AST) -> str | None:
    func = node.func if isinstance(node, ast.Call) else None
    return func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else None


def service_refusals() -> list[tuple[str, int, ast.Call]]:
    """Return (module, line, call) of every `raise DomainError(...)` (or a subclass) in the console's services."""
    errors = _domain_errors()
    found = []
    for path in sorted(SERVICES.rglob("*.py")):
        module = str(path.relative_to(SERVICES))
        if module in WORKER_ONLY:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Raise) and isinstance(node.exc, ast.Call) and _called(node.exc) in errors:
                found.append((module, node.lineno, node.exc))
    return found


def test_every_service_refusal_is_a_marked_msgid_with_its_values():
    refusals = service_refusals()
    assert len(refusals) > 70
    wrong = []
    for module, line, call in refusals:
        first = call.args[0] if call.args else None
        if isinstance(first, ast.Name) and (module, first.id) in PASSED_ON:
            continue
        marked = isinstance(first, ast.Call) and _called(first) == "N_" and isinstance(first.args[0], ast.Constant)
        if not marked:
            wrong.append(f"{module}:{line}: DomainError(N_('…%(name)s…'), name=value), not {ast.unparse(first)}")
            continue
        named = set(re.findall(r"%\((\w+)\)", first.args[0].value))
        if named != {k.arg for k in call.keywords}:
            wrong.append(
                f"{module}:{line}: values {sorted(k.arg for k in call.keywords)} for placeholders {sorted(named)}"
            )
    assert wrong == []


def test_every_marked_service_message_has_an_english_translation():
    english = {m.id: m.string for m in read_po(PO.open("rb")) if m.id and m.context is None}
    marked = {
        node.args[0].value
        for path in SERVICES.rglob("*.py")
        if str(path.relative_to(SERVICES)) not in WORKER_ONLY
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        if isinstance(node, ast.Call) and _called(node) == "N_"
    }
    assert len(marked) > 90
    assert sorted(m for m in marked if not english.get(m)) == []


def test_a_refusal_is_chinese_as_a_string_and_english_in_an_english_console(app):
    from flask_babel import force_locale

    from exam_server.i18n import error_text
    from exam_server.models import N_, DomainError

    refusal = DomainError(N_("用户名%(username)s已存在"), username="zhang")
    assert str(refusal) == "用户名zhang已存在"
    with app.test_request_context("/console/"), force_locale("en"):
        assert error_text(refusal) == "Username zhang is taken"
        assert error_text(ValueError("其他")) == "其他"
