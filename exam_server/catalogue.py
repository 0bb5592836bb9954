"""The console's message catalogues read without a request: a job writes in its requester's language."""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from pathlib import Path

from babel.support import NullTranslations, Translations

SHIPPED = "zh_Hans_CN"  # the msgids themselves: no catalogue
DIRECTORY = Path(__file__).resolve().parent / "translations"


@cache
def _translations(locale: str) -> NullTranslations:
    return Translations.load(str(DIRECTORY), [locale])


def translator(locale: str) -> Callable[[str], str]:
    """Return gettext for a console language (an unknown one, or zh_CN, gives the Chinese msgid back)."""
    return _translations(locale or SHIPPED).gettext
