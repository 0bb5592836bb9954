"""The one rule for text people send: no NUL, no other C0 control character, no DEL."""

from __future__ import annotations

import re

# PostgreSQL refuses NUL in text (a 500 where SQLite silently stored it); the other control characters are
# never typed by a person and only hide content. Tab and line breaks are text in a multi-line field.
_SINGLE_LINE = re.compile(r"[\x00-\x1f\x7f]")
_MULTI_LINE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
# The same rule as a JSON-schema pattern for single-line fields of the kiosk API's document.
SINGLE_LINE_PATTERN = r"^[^\x00-\x1f\x7f]*$"


def control_character(value: str, multiline: bool = False) -> str | None:
    """Return the first forbidden character of value as U+XXXX, or None when the text is clean."""
    found = (_MULTI_LINE if multiline else _SINGLE_LINE).search(value)
    return f"U+{ord(found.group()):04X}" if found else None


def refusal(field: str, character: str) -> str:
    """Return the bilingual message refusing a field for a control character."""
    return f"字段 {field} 含有控制字符 {character}，请删除后重试 / field {field} contains the control character {character}"
