"""Hebrew on a phone: a right-to-left page, mirrored, around English wording."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select

from pro_app.participants.models import Participant
from pro_app.surveys.models import Submission, SubmissionStatus
from tests.browser.live import Person
from tests.browser.pages import (
    answer_through,
    open_link,
    path_of,
    position,
    press,
    start,
)

pytestmark = pytest.mark.browser

HEBREW = re.compile(r"[\u0590-\u05FF]")


def box(page: Page, selector: str) -> dict[str, float]:
    found = page.locator(selector).first.bounding_box()
    assert found is not None, f"{selector} is not rendered"
    return found


def right(b: dict[str, float]) -> float:
    return b["x"] + b["width"]


def expect_rtl_hebrew_page(page: Page) -> None:
    expect(page.locator("html")).to_have_attribute("lang", "he")
    expect(page.locator("html")).to_have_attribute("dir", "rtl")


def open_global_health(page: Page, person: Person) -> int:
    aid = person.assignments["promis_global"]
    open_link(page, person)
    expect_rtl_hebrew_page(page)
    start(page, aid)
    return aid


@pytest.fixture
def hebrew_item(live, new_phone) -> Page:
    """The first PROMIS Global Health item of a new participant, in Hebrew."""
    page = new_phone(locale="he-IL").new_page()
    open_global_health(page, live.new_person())
    assert position(page) == 1
    return page


def test_item_screen_is_a_right_to_left_hebrew_page(hebrew_item):
    page = hebrew_item
    assert page.locator("html[dir=rtl][lang=he]").count() == 1
    # Nothing comes before the first question: no Back button there.
    expect(page.locator('button[name="nav"][value="back"]')).to_have_count(0)
    expect(page.locator("progress")).to_have_count(1)
    expect(page.locator("progress")).to_be_visible()
    # English wording inside the Hebrew page, marked as such, with a notice.
    expect(page.locator('form.item .block[lang="en"][dir="ltr"] legend')).to_have_count(
        1
    )
    expect(page.locator('p.inst[lang="en"][dir="ltr"]')).to_have_count(1)
    expect(page.locator("p.note")).to_be_visible()
    press(page, "next")
    assert position(page) == 2
    # The primary action sits at the inline end: left of Back.
    next_button = box(page, 'button[name="nav"][value="next"]')
    back_button = box(page, 'button[name="nav"][value="back"]')
    assert right(next_button) <= back_button["x"], (next_button, back_button)


# Where the first line of an element's text starts and ends on screen.
FIRST_LINE = """(el) => {
  const range = document.createRange();
  range.selectNodeContents(el);
  const line = range.getClientRects()[0];
  return {left: line.left, right: line.right};
}"""


# Where all of an element's text lies on screen (for a one-line text).
TEXT_BOX = """(el) => {
  const range = document.createRange();
  range.selectNodeContents(el);
  const all = range.getBoundingClientRect();
  return {left: all.left, right: all.right};
}"""


def expect_block_left_to_right(page: Page, where: str) -> None:
    """The English instrument block on a Hebrew page is laid out as English:
    the question and every option label start at its left edge, each radio
    before (left of) its text."""
    block = box(page, "form.item .block")
    legend = page.locator("form.item legend").evaluate(FIRST_LINE)
    # Text set left to right starts at the block's left edge (a right-aligned
    # line would start further right, and end at the block's right edge).
    assert abs(legend["left"] - block["x"]) <= 2, (where, legend, block)
    options = page.locator("label.opt")
    assert options.count() >= 2
    for index in range(options.count()):
        option = options.nth(index)
        radio = option.locator("input").bounding_box()
        text = option.locator("span.label").evaluate(FIRST_LINE)
        assert radio is not None
        assert right(radio) <= text["left"], (
            f"{where}, option {index + 1}: the radio ({radio['x']:.0f}.."
            f"{right(radio):.0f}) is not before its text ({text['left']:.0f}..): "
            "the block is left to right, as its language"
        )
        # Radio and text start on the same side as the question: the left.
        assert radio["x"] - block["x"] <= 24, (where, index, radio, block)
        assert text["left"] - legend["left"] <= 60, (where, index, text, legend)


def test_the_english_block_on_a_hebrew_page_is_laid_out_left_to_right(
    live, new_phone, hebrew_item
):
    # Chosen: the instrument block (stem, question, options) runs in the
    # direction of its language, as the validated form prints it; the page
    # around it (header, progress, notes, buttons) stays right to left.
    page = hebrew_item
    expect_block_left_to_right(page, "PROMIS Global item 1")
    progress = page.locator("#progress-label").evaluate(TEXT_BOX)
    main = box(page, "main")
    assert right(main) - progress["right"] <= 24, (progress, main)  # Hebrew: right
    # The 0-10 item: 0 first and 10 last, from the left, as printed.
    person = live.new_person()
    other = new_phone(locale="he-IL").new_page()
    open_link(other, person)
    other.goto(f"/a/{person.assignments['promis29']}/q/29")
    expect_block_left_to_right(other, "PROMIS-29 pain 0-10")
    labels = other.locator("label.opt span.label").all_inner_texts()
    assert labels[0] == "0 No pain"
    assert labels[-1] == "10 Worst imaginable pain"
    # The shared stem above a RAND-36 grid item is in the block too.
    other.goto(f"/a/{person.assignments['rand36']}/q/3")
    stem = other.locator("form.item .block p.stem").evaluate(FIRST_LINE)
    assert abs(stem["left"] - box(other, "form.item .block")["x"]) <= 2
    expect_block_left_to_right(other, "RAND-36 item 3")


def test_promis_global_in_hebrew_from_link_to_done(live, new_phone):
    person = live.new_person()
    page = new_phone(locale="he-IL").new_page()
    aid = open_global_health(page, person)
    assert position(page) == 1
    expect_rtl_hebrew_page(page)

    answer_through(page, lambda position, n: (position + 1) % n)
    assert path_of(page) == f"/a/{aid}/review"
    expect_rtl_hebrew_page(page)
    expect(page.locator("ol.review > li")).to_have_count(10)
    expect(page.locator("ol.review > li.skipped")).to_have_count(0)
    expect(page.locator('ol.review .a[lang="en"][dir="ltr"]')).to_have_count(10)
    # Every item was seen: Submit is at the top as well; use that one.
    page.locator("form.submit.top button.primary").tap()
    page.wait_for_url(f"**/a/{aid}/done")
    expect_rtl_hebrew_page(page)

    with live.session() as session:
        submission = session.scalar(
            select(Submission).where(Submission.assignment_id == aid)
        )
        assert submission is not None
        assert submission.status is SubmissionStatus.COMPLETED
        assert (submission.language, submission.ui_language) == ("en", "he")


def test_the_english_wording_notice_is_written_in_hebrew(live, new_phone):
    page = new_phone(locale="he-IL").new_page()
    open_global_health(page, live.new_person())
    note = page.locator("p.note").inner_text()
    assert HEBREW.search(note), (
        "On a Hebrew page the notice that the questionnaire is shown in English "
        f"is itself in English: {note!r}. translations/he/LC_MESSAGES/messages.po "
        "has no msgstr for it (nor for any other message)."
    )
    buttons = page.locator("form.item button").all_inner_texts()
    assert all(HEBREW.search(label) for label in buttons), (
        f"untranslated buttons on a Hebrew page: {buttons!r}"
    )


# Hebrew text whose nearest lang attribute is not Hebrew (WCAG 3.1.2).
MISLABELLED_HEBREW = """() => {
  const hebrew = /[\\u0590-\\u05FF]/;
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  const found = [];
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    if (!hebrew.test(node.textContent)) continue;
    const marked = node.parentElement.closest("[lang]");
    const lang = marked ? marked.getAttribute("lang") : "";
    if (lang.split("-")[0] !== "he") {
      found.push(`${node.textContent.trim()} in lang="${lang}": `
        + node.parentElement.outerHTML.slice(0, 100));
    }
  }
  return found;
}"""


def test_hebrew_interface_text_is_not_marked_as_english(live, new_phone):
    person = live.new_person()
    live.answer(person, "rand36", {"1": 1, "2": None})
    live.answer(person, "promis29", {"PFA11": 5}, submit=True)
    rand = person.assignments["rand36"]
    page = new_phone(locale="he-IL").new_page()
    open_link(page, person)
    found = {}
    for path in (
        "/home",
        f"/a/{rand}/q/3",  # first item under a stem: "New instructions"
        f"/a/{rand}/q/4",
        f"/a/{rand}/review",
        f"/a/{person.assignments['promis29']}/done",
    ):
        page.goto(path)
        assert path_of(page) == path
        expect_rtl_hebrew_page(page)
        if mislabelled := page.evaluate(MISLABELLED_HEBREW):
            found[path] = mislabelled
    assert found == {}, (
        "Hebrew interface text inside the English instrument block "
        f'<div class="block" lang="en" dir="ltr"> is announced as English: {found}'
    )


def test_the_language_switcher_keeps_the_screen_and_the_choice(live, new_phone):
    person = live.new_person()
    rand = person.assignments["rand36"]
    page = new_phone(locale="en-US").new_page()
    open_link(page, person)
    page.goto(f"/a/{rand}/q/2")
    expect(page.locator("html")).to_have_attribute("dir", "ltr")
    page.locator("select#lang").select_option("he")
    page.locator("form.lang button").tap()
    page.wait_for_load_state()
    expect_rtl_hebrew_page(page)
    assert path_of(page) == f"/a/{rand}/q/2"
    # Kept with the participant, so another phone with English settings too.
    other = new_phone(locale="en-US").new_page()
    open_link(other, person)
    expect_rtl_hebrew_page(other)
    with live.session() as session:
        participant = session.get(Participant, person.participant_id)
        assert participant is not None
        assert participant.language == "he"
