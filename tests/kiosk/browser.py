"""Drive Debian's chromium through Playwright, as the kiosk browser shows the screen, and take screenshots."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / "test-artifacts" / "kiosk"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SCREEN = {"width": 1280, "height": 800}


def chromium_missing() -> str | None:
    if not CHROMIUM.exists() and not shutil.which("chromium"):
        return "Debian's chromium is not installed (apt-get install chromium); browser tests need it"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "the playwright Python package is not installed (pip install playwright)"
    return None


@pytest.fixture(scope="module")
def browser():
    reason = chromium_missing()
    if reason:
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield launched
        launched.close()


def shot(page, name: str) -> Path:
    """Save a screenshot of the kiosk screen into test-artifacts/kiosk/."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path))
    return path


def wait_screen(kiosk, screens: set[str], timeout: float = 60.0) -> dict:
    """Wait until the kiosk shows one of the screens; return its state."""
    deadline = time.monotonic() + timeout
    state = kiosk.state()
    while state["screen"] not in screens:
        if time.monotonic() > deadline:
            raise AssertionError(
                f"kiosk stayed on {state['screen']} ({state}) instead of {screens}\n{kiosk.log.read_text()[-4000:]}"
            )
        time.sleep(0.2)
        state = kiosk.state()
    return state


def type_citizen_id(page, citizen_id: str) -> None:
    page.click("#start")
    page.wait_for_selector(".keypad")
    for key in citizen_id:
        page.click(f'button[data-key="{key}"]')
    assert page.inner_text("#idbox").replace(" ", "") == citizen_id


def check_in(page, kiosk, citizen_id: str, screens_dir: str | None = None, attempts: int = 8) -> dict:
    """Go from the welcome screen through the ID, the guidance and the burst; return the state after the verdict."""
    type_citizen_id(page, citizen_id)
    if screens_dir:
        shot(page, f"{screens_dir}-02-id-entry")
    page.click("#confirm-id")
    for attempt in range(attempts):
        wait_screen(kiosk, {"guidance"})
        page.wait_for_selector("#ready:not([disabled])", timeout=30000)
        if screens_dir and attempt == 0:
            shot(page, f"{screens_dir}-03-guidance")
        page.click("#ready")
        wait_screen(kiosk, {"challenge"})
        if screens_dir and attempt == 0:
            page.wait_for_selector(".rec", timeout=15000)
            shot(page, f"{screens_dir}-04-challenge")
        state = wait_screen(kiosk, {"exam", "retry", "refusal"}, timeout=120)
        # Still photos cannot blink: a blink challenge fails and the worker films the new challenge.
        if state["screen"] == "retry" and state["code"] == "liveness_failed":
            page.click("#retry")
            continue
        return state
    raise AssertionError("no turn challenge came up in time")
