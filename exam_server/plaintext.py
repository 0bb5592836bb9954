"""The one rule for text people send: no NUL, no other C0 control character, no DEL."""

from __future__ import annotations

import re

from question_bank.model import CONTROL_CHARACTERS as _MULTI_LINE

# PostgreSQL refuses NUL in text (a 500 where SQLite silently stored it); the other control characters are
# never typed by a person and only hide content. Tab and line breaks are text in a multi-line field: the
# multi-line rule is the question bank's own (question_bank imports nothing of the server).
_SINGLE_LINE = re.compile(r"[\x00-\x1f\x7f]")
# The same rule as a JSON-schema pattern for single-line fields of the kiosk API's document.
SINGLE_LINE_PATTERN = r"^[^\x00-\x1f\x7f]*$"


def control_character(value: str, multiline: bool = False) -> str | None:
    """Return the first forbidden character of value as U+XXXX, or None when the text is clean."""
    found = (_MULTI_LINE if multiline else _SINGLE_LINE).search(value)
    return f"U+{ord(found.group()):04X}" if found else None


def refusal(field: str, character: str) -> str:
    """Return the bilingual message refusing a field for a control character."""
    return f"字段 {field} 含有控制字符 {character}，请删除后重试 / field {field} contains the control character {character}"
