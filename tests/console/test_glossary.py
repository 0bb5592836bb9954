"""One vocabulary (issue 18): the console's pages and messages use the words of docs/glossary.md, not their synonyms."""

from __future__ import annotations

from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
# What the console shows: its templates, its views' messages and the admin services' messages.
CONSOLE_TEXT = [
    *sorted((REPO / "exam_server" / "templates" / "console").glob("*.html")),
    *sorted((REPO / "exam_server" / "console").glob("*.py")),
    *sorted((REPO / "exam_server" / "services" / "admin").glob("*.py")),
]
# What the other audiences read: the worker's pages, the certificate check, exports and PDFs, the kiosk's
# messages and screen texts, the API's messages (shown at the kiosk) and the exam services' review reasons.
OTHER_TEXT = [
    *sorted((REPO / "exam_server" / "templates" / "worker").glob("*.html")),
    *sorted((REPO / "exam_server" / "templates" / "public").glob("*.html")),
    *sorted((REPO / "exam_server" / "worker").glob("*.py")),
    *sorted((REPO / "exam_server" / "services" / "practice").glob("*.py")),
    *sorted((REPO / "exam_server" / "services" / "reporting").glob("*.py")),
    *sorted((REPO / "exam_server" / "services" / "exam").glob("*.py")),
    *sorted((REPO / "exam_server" / "api").glob("*.py")),
    REPO / "kiosk_client" / "texts.py",
    REPO / "kiosk_client" / "web" / "static" / "app.js",
]
# Where an avoided word is the right one, and why (file, word).
ALLOWED = {
    # The certificate's printed field is the form's own label; the worker is spoken to about "您单位".
    ("exam_server/services/reporting/certificate_pdf.py", "单位"),
    ("kiosk_client/texts.py", "单位"),
}


def avoided_words() -> dict[str, str]:
    """Return each word of the glossary's "不用" column with the word to use instead."""
    avoided = {}
    for line in (REPO / "docs" / "glossary.md").read_text(encoding="utf-8").splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) != 4 or cells[0] in ("用词", "---"):
            continue
        for word in cells[3].split("、"):
            if word and word != "—":
                avoided[word] = cells[0]
    return avoided


def test_the_glossary_names_the_words_to_avoid():
    avoided = avoided_words()
    assert {"工人", "组卷规则", "已通过", "考点终端", "刷脸"} <= set(avoided)
    assert avoided["组卷规则"] == "试卷规则" and avoided["考点终端"] == "考试终端"


def _uses_of_avoided_words(paths: list[Path]) -> list[str]:
    found = []
    for path in paths:
        text = path.read_text(encoding="utf-8")
        for word, instead in avoided_words().items():
            if (str(path.relative_to(REPO)), word) in ALLOWED:
                continue
            for number, line in enumerate(text.splitlines(), start=1):
                if word in line:
                    found.append(f"{path.relative_to(REPO)}:{number}: “{word}”, use “{instead}”")
    return found


def test_console_pages_and_messages_use_the_glossary():
    assert _uses_of_avoided_words(CONSOLE_TEXT) == []


def test_worker_pages_exports_kiosk_and_api_messages_use_the_glossary():
    assert all(path.is_file() for path in OTHER_TEXT)
    assert _uses_of_avoided_words(OTHER_TEXT) == []


def test_the_console_calls_workers_workers_and_leaves_candidate_to_the_kiosk():
    """考生 is the kiosk's word for the worker at the screen; the console says 从业人员."""
    templates = [p for p in CONSOLE_TEXT if p.suffix == ".html"]
    assert [str(p.relative_to(REPO)) for p in templates if "考生" in p.read_text(encoding="utf-8")] == []
