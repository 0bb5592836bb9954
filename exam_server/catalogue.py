"""The console's message catalogues read without a request: a job writes in its requester's language."""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from pathlib import Path

from babel.support import NullTranslations, Translations

SHIPPED = "zh_Hans_CN"  # the msgids themselves: no catalogue
# Labels are translated in their own context: 启用 the state ("active") is not 启用 the button ("activate").
LABEL_CONTEXT = "label"
DIRECTORY = Path(__file__).resolve().parent / "translations"


@cache
def _translations(locale: str) -> NullTranslations:
    return Translations.load(str(DIRECTORY), [locale])


def translator(locale: str) -> Callable[[str], str]:
    """Return gettext for a console language (an unknown one, or zh_CN, gives the Chinese msgid back)."""
    return _translations(locale or SHIPPED).gettext


def label_translator(locale: str) -> Callable[[object], str]:
    """Return the translation of a stored state's Chinese label (msgctxt "label") for a console language."""
    translations = _translations(locale or SHIPPED)

    def label(text: object) -> str:
        return str(translations.pgettext(LABEL_CONTEXT, str(text))) if text else ""

    return label
