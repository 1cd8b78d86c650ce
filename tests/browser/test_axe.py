"""axe-core (WCAG 2.0/2.1 A and AA) on every participant screen, English and Hebrew."""

from __future__ import annotations

from typing import Any

import pytest
from axe_playwright_python.sync_playwright import Axe

from tests.browser.live import INVALID_LINK, LiveApp, Person
from tests.browser.pages import open_link, path_of

pytestmark = pytest.mark.browser

WCAG_21_AA = {
    "runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]}
}
SCREENS = ["home", "item", "item-0-10", "review", "done", "invalid-link"]


@pytest.fixture(scope="module")
def axe() -> Axe:
    return Axe()


@pytest.fixture(scope="module")
def people(live: LiveApp) -> dict[str, Person]:
    """Per locale: RAND-36 begun (one item skipped), PROMIS-29 submitted."""
    made = {}
    for locale in ("en-US", "he-IL"):
        person = live.new_person()
        live.answer(person, "rand36", {"1": 3, "2": None, "3": 1})
        live.answer(person, "promis29", {"PFA11": 5, "PFA21": 4}, submit=True)
        made[locale] = person
    return made


def path_for(screen: str, person: Person) -> str:
    rand = person.assignments["rand36"]
    return {
        "home": "/home",
        "item": f"/a/{rand}/q/3",  # new instructions, stem and item
        "item-0-10": f"/a/{person.assignments['promis_global']}/q/10",
        "review": f"/a/{rand}/review",
        "done": f"/a/{person.assignments['promis29']}/done",
        "invalid-link": INVALID_LINK,
    }[screen]


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
    person = people[locale]
    page = new_phone(locale=locale).new_page()
    if screen != "invalid-link":
        open_link(page, person)
    path = path_for(screen, person)
    page.goto(path)
    assert path_of(page) == path
    expected_lang = locale[:2]
    assert page.locator("html").get_attribute("lang") == expected_lang

    results = axe.run(page, options=WCAG_21_AA)
    assert results.response["passes"], "axe-core ran no checks"
    violations = results.response["violations"]
    assert violations == [], (
        f"axe-core {results.response['testEngine']['version']} on {screen} "
        f"({locale}):\n{describe(violations)}"
    )
