"""The console's English catalogue is complete, current with the source, and compiled."""

from __future__ import annotations

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
