"""An enterprise manager on a phone (390x844): no console page scrolls sideways; wide tables scroll inside."""

from __future__ import annotations

import pytest

from tests.console.browser import log_in, shot

pytestmark = pytest.mark.browser
PHONE = {"width": 390, "height": 844}


@pytest.mark.parametrize("username", ["ent_a", "county_a"])
def test_every_page_in_the_menu_fits_a_phone(served, page, username):
    page.set_viewport_size(PHONE)
    log_in(page, served.url, username)
    links = page.eval_on_selector_all("nav.mainnav a", "els => els.map(e => e.getAttribute('href'))")
    assert len(links) >= 4, links
    for href in links:
        page.goto(served.url + href)
        width = page.evaluate("document.documentElement.scrollWidth")
        shot(page, f"phone-{username}{href.replace('/', '-')}")
        assert width <= PHONE["width"], f"{href} is {width} px wide on a {PHONE['width']} px phone"
    # The worker list is wider than the phone: it scrolls inside its own box, the page does not.
    page.goto(f"{served.url}/console/workers")
    wide = page.eval_on_selector_all(
        "table", "ts => ts.filter(t => t.scrollWidth > t.clientWidth).map(t => getComputedStyle(t).overflowX)"
    )
    assert wide and set(wide) == {"auto"}, wide
