"""A data lock as the participant meets it on a phone: said on the home page,
read-only items that send nothing, and a lock set while a question is open."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from pro_app.surveys.models import Answer, Submission
from tests.browser.pages import choose, lock_visit, open_link, options, path_of

pytestmark = pytest.mark.browser

LOCKED = "This questionnaire is locked for now"


def expect_read_only(page) -> None:
    radios = page.locator("fieldset input[type=radio]")
    assert radios.count() >= 2
    for index in range(radios.count()):
        expect(radios.nth(index)).to_be_disabled()


def _saved(live, person) -> dict[str, int | None]:
    with live.session() as session:
        rows = session.scalars(
            select(Answer)
            .join(Submission)
            .where(
                Submission.participant_id == person.participant_id,
                Answer.replaced_at.is_(None),
            )
        )
        return {a.item_id: a.code for a in rows}


def test_a_locked_questionnaire_is_said_up_front_and_sends_nothing(live, new_phone):
    person = live.new_person()
    live.answer(person, "rand36", {"1": 2, "2": 3})
    lock_visit(live, person)
    page = new_phone().new_page()
    posts: list[str] = []
    page.on("request", lambda r: posts.append(r.url) if r.method == "POST" else None)
    open_link(page, person)

    expect(page.locator("a.card")).to_have_count(0)
    expect(page.locator("div.card.locked")).to_have_count(3)
    expect(page.locator("div.card.locked").first).to_contain_text(LOCKED)
    expect(page.get_by_text("Continue", exact=True)).to_have_count(0)

    rand = person.assignments["rand36"]
    page.goto(f"/a/{rand}/q/2")
    expect(page.locator(".note.locked")).to_contain_text(LOCKED)
    expect(options(page).nth(2).locator("input")).to_be_checked()
    expect_read_only(page)
    options(page).nth(0).tap(force=True)  # a tap on a locked answer
    expect(options(page).nth(2).locator("input")).to_be_checked()
    expect(page.locator("button")).to_have_count(1)  # the language switcher only
    page.wait_for_timeout(300)
    assert posts == [], f"a locked page sent {posts}"
    assert _saved(live, person) == {"1": 2, "2": 3}


def test_a_lock_set_while_a_question_is_open_shows_the_lock_at_the_next_tap(
    live, new_phone
):
    person = live.new_person()
    rand = person.assignments["rand36"]
    page = new_phone().new_page()
    open_link(page, person)
    page.goto(f"/a/{rand}/q/1")
    choose(page, 0)  # saved while open
    lock_visit(live, person)
    with page.expect_response(lambda r: r.request.method == "POST") as refused:
        options(page).nth(3).tap()
    assert refused.value.status == 409
    # The page is loaded again and says why: not a silent failure.
    expect(page.locator(".note.locked")).to_contain_text(LOCKED)
    assert path_of(page) == f"/a/{rand}/q/1"
    expect(options(page).nth(0).locator("input")).to_be_checked()
    expect_read_only(page)
    assert _saved(live, person) == {"1": 1}
