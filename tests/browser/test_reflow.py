"""Reflow at 320 CSS px (WCAG 1.4.10) and tap targets of at least 44 px."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page

from tests.browser.live import INVALID_LINK, LiveApp, Person
from tests.browser.pages import open_link, path_of

pytestmark = pytest.mark.browser

LOCALES = ["en-US", "he-IL"]
RAND_LONG_STEM = 4  # a long item under the "Does your health now limit you" stem
GLOBAL_NRS = 10  # Global07r: pain, 0-10


def screens(person: Person) -> dict[str, str]:
    rand = person.assignments["rand36"]
    return {
        "home": "/home",
        f"RAND-36 item {RAND_LONG_STEM}": f"/a/{rand}/q/{RAND_LONG_STEM}",
        "PROMIS Global item 10 (0-10)": (
            f"/a/{person.assignments['promis_global']}/q/{GLOBAL_NRS}"
        ),
        "review": f"/a/{rand}/review",
        "done": f"/a/{person.assignments['promis29']}/done",
    }


def person_with_history(live: LiveApp) -> Person:
    """Some RAND-36 answers (one skipped) and a submitted PROMIS-29."""
    person = live.new_person()
    live.answer(person, "rand36", {"1": 3, "2": None, "3": 1, "4": 2})
    live.answer(person, "promis29", {"PFA11": 5}, submit=True)
    return person


def overflow(page: Page) -> int:
    return page.evaluate("() => document.documentElement.scrollWidth")


@pytest.mark.parametrize("locale", LOCALES)
def test_every_screen_reflows_at_320_px(live, new_phone, locale):
    person = person_with_history(live)
    page = new_phone(locale=locale, width=320).new_page()
    open_link(page, person)
    too_wide = {}
    for name, path in screens(person).items():
        response = page.goto(path)
        assert response is not None
        assert response.ok, (name, page.url, response.status)
        assert path_of(page) == path, (name, page.url)
        width = overflow(page)
        if width > 320:
            too_wide[name] = width
    page.goto(INVALID_LINK)
    if overflow(page) > 320:
        too_wide["invalid link"] = overflow(page)
    assert too_wide == {}, f"scrollWidth over 320 px: {too_wide}"


@pytest.mark.parametrize("locale", LOCALES)
def test_tap_targets_on_item_screens_are_at_least_44_px_high(live, new_phone, locale):
    person = live.new_person()
    page = new_phone(locale=locale).new_page()
    open_link(page, person)
    small = []
    for name, path in list(screens(person).items())[1:3]:
        page.goto(path)
        assert path_of(page) == path, (name, page.url)
        targets = page.locator("label.opt, button, select")
        assert targets.count() >= 5, name
        for index in range(targets.count()):
            target = targets.nth(index)
            found = target.bounding_box()
            assert found is not None, (name, target.inner_text())
            if found["height"] < 44:
                small.append((name, target.inner_text().strip(), found["height"]))
    assert small == [], f"tap targets under 44 px high: {small}"
