"""axe-core (WCAG 2.0/2.1 A and AA) on every participant screen, English and Hebrew."""

from __future__ import annotations

from typing import Any

import pytest
from axe_playwright_python.sync_playwright import Axe

from tests.browser.live import INVALID_LINK, LiveApp, Person
from tests.browser.pages import lock_visit, open_link, path_of, press

pytestmark = pytest.mark.browser

WCAG_21_AA = {
    "runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]}
}
SCREENS = [
    "home",  # open, coming up and completed
    "home-locked",
    "item",
    "item-locked",
    "item-0-10",
    "item-0-10-promis29",
    "review",
    "review-all-seen",  # Submit at the top too
    "save-later",
    "done",
    "all-done",
    "invalid-link",
]


@pytest.fixture(scope="module")
def axe() -> Axe:
    return Axe()


GLOBAL_ALL = {
    "Global01": 5,
    "Global02": 4,
    "Global03": None,
    "Global04": 3,
    "Global05": 2,
    "Global09r": 1,
    "Global06": 5,
    "Global10r": 4,
    "Global08r": 3,
    "Global07r": 0,
}


@pytest.fixture(scope="module")
def people(live: LiveApp) -> dict[str, dict[str, Person]]:
    """Per locale: a person with RAND-36 begun (one item skipped), PROMIS-29
    submitted and PROMIS Global answered throughout; one with the baseline
    locked; one with the whole baseline submitted; one who has begun nothing."""
    made = {}
    for locale in ("en-US", "he-IL"):
        person = live.new_person()
        live.answer(person, "rand36", {"1": 3, "2": None, "3": 1})
        live.answer(person, "promis29", {"PFA11": 5, "PFA21": 4}, submit=True)
        live.answer(person, "promis_global", GLOBAL_ALL)
        locked = live.new_person()
        live.answer(locked, "rand36", {"1": 3, "2": None, "3": 1})
        lock_visit(live, locked)
        finished = live.new_person()
        for instrument in ("rand36", "promis29", "promis_global"):
            live.answer(finished, instrument, {}, submit=True)
        made[locale] = {
            "person": person,
            "locked": locked,
            "finished": finished,
            "fresh": live.new_person(),
        }
    return made


def person_for(screen: str) -> str:
    if screen.endswith("locked"):
        return "locked"
    return {"all-done": "finished", "item-0-10-promis29": "fresh"}.get(screen, "person")


def path_for(screen: str, person: Person) -> str:
    rand = person.assignments["rand36"]
    return {
        "home": "/home",
        "home-locked": "/home",
        "item": f"/a/{rand}/q/3",  # new instructions, stem and item
        "item-locked": f"/a/{rand}/q/3",
        "item-0-10": f"/a/{person.assignments['promis_global']}/q/10",
        "item-0-10-promis29": f"/a/{person.assignments['promis29']}/q/29",
        "review": f"/a/{rand}/review",
        "review-all-seen": f"/a/{person.assignments['promis_global']}/review",
        "save-later": f"/a/{rand}/q/4",  # then "Save and finish later"
        "done": f"/a/{person.assignments['promis29']}/done",
        "all-done": f"/a/{person.assignments['promis_global']}/done",
        "invalid-link": INVALID_LINK,
    }[screen]


# What each screen must show, so that axe checks the state it is named for.
SHOWN = {
    "home": "ul.upcoming li",
    "home-locked": "div.card.locked .note.locked",
    "item-locked": "fieldset[disabled]",
    "review-all-seen": "form.submit.top",
    "save-later": "p.notice[role=status]",
    "all-done": "p.all-done",
}


def describe(violations: list[dict[str, Any]]) -> str:
    lines = []
    for violation in violations:
        lines.append(
            f"- {violation['id']} ({violation.get('impact')}): {violation['help']} "
            f"[{violation['helpUrl']}]"
        )
        for node in violation["nodes"]:
            lines.append(f"    {node['target']}: {node.get('failureSummary', '')}")
    return "\n".join(lines)


@pytest.mark.parametrize("locale", ["en-US", "he-IL"])
@pytest.mark.parametrize("screen", SCREENS)
def test_screen_has_no_wcag21_aa_violations(
    live, new_phone, people, axe, screen, locale
):
    person = people[locale][person_for(screen)]
    page = new_phone(locale=locale).new_page()
    if screen != "invalid-link":
        open_link(page, person)
    path = path_for(screen, person)
    page.goto(path)
    assert path_of(page) == path
    if screen == "save-later":
        press(page, "later")
        assert path_of(page) == "/home"
    if screen in SHOWN:
        assert page.locator(SHOWN[screen]).count() >= 1, f"{screen}: not shown"
    expected_lang = locale[:2]
    assert page.locator("html").get_attribute("lang") == expected_lang

    results = axe.run(page, options=WCAG_21_AA)
    assert results.response["passes"], "axe-core ran no checks"
    violations = results.response["violations"]
    assert violations == [], (
        f"axe-core {results.response['testEngine']['version']} on {screen} "
        f"({locale}):\n{describe(violations)}"
    )
