"""Drive Debian's chromium through Playwright, as the kiosk browser shows the screen, and take screenshots."""

from __future__ import annotations

import json
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
    # The kiosk browser speaks without waiting for a first touch (docs/kiosk.md starts chromium so).
    "--autoplay-policy=no-user-gesture-required",
]
SCREEN = {"width": 1280, "height": 800}
# The kiosk screens the layout must fit: portrait (the common kiosk), two landscape sizes and 5:4.
SIZES = {
    "portrait-1080x1920": {"width": 1080, "height": 1920},
    "landscape-1920x1080": {"width": 1920, "height": 1080},
    "landscape-1366x768": {"width": 1366, "height": 768},
    "square-1280x1024": {"width": 1280, "height": 1024},
}
# What a screen is for: no banner, notice or other box drawn over the page may cover these.
KEY_ELEMENTS = ", ".join(
    [
        "#verdict", "#score", "#mark", "#certificate", "#retake", "#weakest", "#wrong-answers", ".review-list h2",
        ".legend", ".grid", "main .say", "main h1", "main h2", "#refusal", "#hint",
    ]
)  # fmt: skip
# Every drawn element inside the viewport (scroll regions count as one box), no page scrolling, no text cut off,
# nothing drawn over the screen's key elements, the first wrong answer's right answer above the fold.
LAYOUT_PROBLEMS = r"""() => {
  const KEY_ELEMENTS = KEY_ELEMENTS_LIST;
  const vw = document.documentElement.clientWidth, vh = document.documentElement.clientHeight, found = [];
  const page = document.scrollingElement;
  if (page.scrollWidth > vw + 1) found.push(`the page scrolls sideways: ${page.scrollWidth} px > ${vw}`);
  if (page.scrollHeight > vh + 1) found.push(`the page scrolls down: ${page.scrollHeight} px > ${vh}`);
  const name = (el) => el.tagName.toLowerCase() + (el.id ? "#" + el.id : "") +
    (el.className && typeof el.className === "string" ? "." + el.className.trim().split(/\s+/).join(".") : "") +
    ` "${(el.innerText || el.getAttribute("alt") || "").trim().slice(0, 30)}"`;
  for (const el of document.querySelectorAll("body *")) {
    if (el.closest("[hidden]") || el.tagName === "SCRIPT") continue;
    const style = getComputedStyle(el);
    if (style.display === "none" || style.visibility === "hidden") continue;
    const r = el.getBoundingClientRect();
    if (r.width === 0 && r.height === 0) continue;
    const region = el.parentElement && el.parentElement.closest(".scroll");
    if (!region && (r.left < -1 || r.top < -1 || r.right > vw + 1 || r.bottom > vh + 1)) {
      found.push(`${name(el)} leaves the viewport: [${Math.round(r.left)}, ${Math.round(r.top)}, ` +
                 `${Math.round(r.right)}, ${Math.round(r.bottom)}] of ${vw}x${vh}`);
    }
    const clips = ["hidden", "clip"].includes(style.overflowX) && !el.classList.contains("brand");
    if (clips && el.scrollWidth > el.clientWidth + 1) found.push(`${name(el)} cuts its content off sideways`);
    if (el.tagName === "BUTTON" && el.scrollWidth > el.clientWidth + 2) found.push(`${name(el)}: its label overflows`);
  }
  // Nothing drawn over the screen (a banner, a notice, any fixed or absolute box but the dialog the worker opened)
  // may cover what the screen is for, scroll regions included.
  const shown = (el) => {
    const style = getComputedStyle(el), r = el.getBoundingClientRect();
    return !el.closest("[hidden]") && style.display !== "none" && style.visibility !== "hidden" && r.width > 0 && r.height > 0;
  };
  const floating = (el) => ["fixed", "absolute"].includes(getComputedStyle(el).position);
  const floatsInside = (el) => { for (let up = el.parentElement; up; up = up.parentElement) if (floating(up)) return true; return false; };
  const overlays = [...document.querySelectorAll("body *")].filter((el) =>
    floating(el) && shown(el) && !el.closest("#dialog") && !floatsInside(el));
  for (const over of overlays) {
    const o = over.getBoundingClientRect();
    for (const key of document.querySelectorAll(KEY_ELEMENTS)) {
      if (over.contains(key) || key.contains(over) || !shown(key)) continue;
      const k = key.getBoundingClientRect();
      if (o.left < k.right - 1 && k.left < o.right - 1 && o.top < k.bottom - 1 && k.top < o.bottom - 1) {
        found.push(`${name(over)} covers ${name(key)}`);
      }
    }
  }
  // The first wrong answer of the result shows its right answer without scrolling, and in normal text the start of
  // its basis too (in large text on a 5:4 screen the bank's longest questions take four lines before it).
  const list = document.querySelector("#wrong-answers");
  if (list && list.firstElementChild) {
    const box = list.getBoundingClientRect(), fold = box.top + list.clientTop + list.clientHeight;
    const right = list.firstElementChild.querySelector(".right-answer");
    const basis = list.firstElementChild.querySelector(".basis");
    if (list.scrollTop > 0) found.push("the wrong answers are scrolled before the worker touched them");
    if (!right || right.getBoundingClientRect().bottom > fold + 1) {
      found.push(`the first wrong answer's right answer is below the fold of the list (${Math.round(fold)} px)`);
    }
    const large = document.documentElement.classList.contains("large");
    if (basis && !large && basis.getBoundingClientRect().top + parseFloat(getComputedStyle(basis).lineHeight) > fold + 1) {
      found.push(`the first wrong answer's basis is below the fold of the list (${Math.round(fold)} px)`);
    }
  }
  return found;
}""".replace("KEY_ELEMENTS_LIST", json.dumps(KEY_ELEMENTS))


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


def layout_problems(page) -> list[str]:
    """Return what of the screen leaves the viewport, scrolls the page or is cut off (empty when it fits)."""
    return page.evaluate(LAYOUT_PROBLEMS)


def redraw(page) -> None:
    """Make the page fetch the kiosk's state now and wait until it has drawn it (fonts included)."""
    page.evaluate("async () => { const r = await fetch('/api/state'); update(await r.json()); }")
    page.evaluate("() => document.fonts.ready")


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


def accept_consent(page, screens_dir: str | None = None) -> None:
    """Read the consent notice (retention from the server) and accept it."""
    page.click("#start")
    page.wait_for_selector("#accept")
    assert "天" in page.inner_text("#consent-keep")
    if screens_dir:
        shot(page, f"{screens_dir}-01-consent")
    page.click("#accept")


def type_citizen_id(page, citizen_id: str, screens_dir: str | None = None) -> None:
    accept_consent(page, screens_dir)
    page.wait_for_selector(".keypad")
    for key in citizen_id:
        page.click(f'button[data-key="{key}"]')
    assert page.inner_text("#idbox").replace(" ", "") == citizen_id


def wait_spoken(page, key: str, timeout: float = 15) -> None:
    """Wait until the screen's voice has started saying the phrase `key`; on timeout say what it did instead."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

    try:
        page.wait_for_function("key => window.kioskVoice.played.includes(key)", arg=key, timeout=timeout * 1000)
    except PlaywrightTimeoutError as exc:
        heard = page.evaluate("() => window.kioskVoice")
        said = f"played {heard['played']}, failed {heard['failed']}"
        raise AssertionError(f"{key} was not said within {timeout} s: {said}") from exc


def check_in(page, kiosk, citizen_id: str, screens_dir: str | None = None, attempts: int = 8) -> dict:
    """Go from the welcome screen through the ID, the guidance and the burst; return the state after the verdict.

    A passed check-in goes straight to the exam: the practice PIN is offered after it (tests/kiosk/test_pin.py).
    """
    type_citizen_id(page, citizen_id, screens_dir)
    if screens_dir:
        shot(page, f"{screens_dir}-02-id-entry")
    page.click("#confirm-id")
    for attempt in range(attempts):
        wait_screen(kiosk, {"guidance"})
        page.wait_for_selector("#ready:not([disabled])", timeout=30000)
        if screens_dir and attempt == 0:
            shot(page, f"{screens_dir}-03-guidance")
        page.click("#ready")
        challenge = wait_screen(kiosk, {"challenge"})
        # The challenge's instruction is said, from the same sentence the screen shows.
        step = challenge["lines"]["step0"]
        assert step["text"] in page.inner_text(".cues")
        wait_spoken(page, step["key"])
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
