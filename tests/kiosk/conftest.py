"""Fixtures of the kiosk tests: chromium through Playwright (see browser.py)."""
from tests.kiosk.browser import browser  # noqa: F401  (a fixture)
