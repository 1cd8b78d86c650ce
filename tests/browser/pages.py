"""What a participant does on the screens, as Playwright steps."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

from playwright.sync_api import Locator, Page, Response, expect

from pro_app.participants.models import Participant
from pro_app.studies.locks import lock
from tests.browser.live import LiveApp, Person

ITEM_PATH = re.compile(r"/a/(\d+)/q/(\d+)$")


@dataclass(frozen=True)
class Choice:
    item_id: str
    code: int
    label: str


def path_of(page: Page) -> str:
    return urlsplit(page.url).path


def open_link(page: Page, person: Person) -> Response:
    """Open the personal link; return the link's own (redirect) response."""
    final = page.goto(person.link)
    assert final is not None
    assert final.ok, f"link ended at {page.url} ({final.status})"
    first = final.request.redirected_from
    assert first is not None, "the personal link did not redirect"
    response = first.response()
    assert response is not None
    return response


def start(page: Page, assignment_id: int) -> None:
    """Tap a questionnaire's card on the home screen; land on an item."""
    page.locator(f'a.card[href="/a/{assignment_id}/"]').tap()
    page.wait_for_url(re.compile(rf"/a/{assignment_id}/q/\d+$"))


def position(page: Page) -> int:
    match = ITEM_PATH.search(path_of(page))
    assert match, f"not on an item screen: {page.url}"
    return int(match.group(2))


def item_id(page: Page) -> str:
    return page.locator('input[name="item_id"]').input_value()


def options(page: Page) -> Locator:
    return page.locator("label.opt")


def choose(page: Page, index: int, *, autosave: bool = True) -> Choice:
    """Tap the label of option ``index``; with JS, wait for the autosave (204)."""
    label = options(page).nth(index)
    radio = label.locator('input[type="radio"]')
    here = path_of(page)
    if autosave:
        with page.expect_response(
            lambda r: r.request.method == "POST" and urlsplit(r.url).path == here
        ) as saved:
            label.tap()
        assert saved.value.status == 204, f"autosave answered {saved.value.status}"
    else:
        label.tap()
    expect(radio).to_be_checked()
    return Choice(item_id(page), int(radio.input_value()), label.inner_text().strip())


def press(page: Page, nav: str) -> None:
    """Tap Next/Back/later and wait until the next screen has loaded."""
    before = page.url
    page.locator(f'button[name="nav"][value="{nav}"]').tap()
    page.wait_for_url(lambda url: url != before)


def answer_through(
    page: Page, pick: Callable[[int, int], int], upto: int | None = None
) -> list[Choice]:
    """From the current item on, tap option ``pick(position, n_options)`` and
    Next, through item ``upto`` (default: the last one, landing on review)."""
    chosen = []
    while ITEM_PATH.search(path_of(page)):
        here = position(page)
        chosen.append(choose(page, pick(here, options(page).count())))
        press(page, "next")
        if upto is not None and here >= upto:
            break
    return chosen


def lock_visit(live: LiveApp, person: Person, code: str = "BL") -> None:
    """Lock one timepoint of the person's study, as a data manager would."""
    with live.session() as session:
        participant = session.get(Participant, person.participant_id)
        assert participant is not None
        timepoint = next(
            a.timepoint for a in participant.assignments if a.timepoint.code == code
        )
        lock(
            session,
            participant.study,
            timepoint=timepoint,
            actor="staff:browser-test",
            reason="Data review",
        )
        session.commit()
