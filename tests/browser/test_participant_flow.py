"""The whole RAND-36 on a phone: link, home, 36 taps, Back, another device,
review, submit, done; then what the database holds."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from pro_app.studies.models import Assignment
from pro_app.surveys.models import Answer, Submission, SubmissionStatus
from tests.browser.live import leaves_machine
from tests.browser.pages import (
    answer_through,
    choose,
    open_link,
    options,
    path_of,
    position,
    press,
    start,
)

pytestmark = pytest.mark.browser

CHANGED = 5  # answered, then changed after going Back from item 6
LEFT_AT = 20  # tapped on the first phone, never submitted with Next


def pick(position: int, n_options: int) -> int:
    """A varied but repeatable choice of option for each item."""
    return position % n_options


def test_rand36_from_link_to_done_on_two_phones(live, new_phone):
    person = live.new_person()
    aid = person.assignments["rand36"]
    requests: list[str] = []

    phone = new_phone()
    phone.on("request", lambda request: requests.append(request.url))
    page = phone.new_page()
    open_link(page, person)
    assert path_of(page) == "/home"
    start(page, aid)
    assert path_of(page) == f"/a/{aid}/q/1"

    chosen = {c.item_id: c for c in answer_through(page, pick, upto=CHANGED)}
    assert position(page) == CHANGED + 1
    press(page, "back")
    assert position(page) == CHANGED
    n_options = options(page).count()
    before = chosen[str(CHANGED)]
    expect(options(page).nth(pick(CHANGED, n_options)).locator("input")).to_be_checked()
    changed = choose(page, (pick(CHANGED, n_options) + 1) % n_options)
    assert changed.code != before.code
    assert changed.label != before.label
    chosen[changed.item_id] = changed
    press(page, "next")
    assert position(page) == CHANGED + 1

    chosen |= {c.item_id: c for c in answer_through(page, pick, upto=LEFT_AT - 1)}
    assert position(page) == LEFT_AT
    left = choose(page, pick(LEFT_AT, options(page).count()))  # autosaved only
    chosen[left.item_id] = left
    expect(page.locator("p.saved")).to_have_text("Answer saved")
    page.close()

    # Another device: no cookies, the same link.
    other = new_phone()
    other.on("request", lambda request: requests.append(request.url))
    page = other.new_page()
    open_link(page, person)
    expect(page.locator(f'a.card[href="/a/{aid}/"] .action')).to_have_text("Continue")
    start(page, aid)
    assert path_of(page) == f"/a/{aid}/q/{LEFT_AT + 1}"
    chosen |= {c.item_id: c for c in answer_through(page, pick)}
    assert path_of(page) == f"/a/{aid}/review"

    rows = page.locator("ol.review > li")
    expect(rows).to_have_count(36)
    expect(page.locator("ol.review > li.skipped")).to_have_count(0)
    shown = [text.strip() for text in rows.locator(".a").all_inner_texts()]
    assert shown == [chosen[str(n)].label for n in range(1, 37)]
    assert shown[CHANGED - 1] == changed.label
    # Every item seen: a Submit at the top too, so the 36 answers need not be
    # scrolled past; the one at the bottom is the same form.
    submits = page.get_by_role("button", name="Submit answers")
    expect(submits).to_have_count(2)
    submits.first.tap()
    page.wait_for_url(f"**/a/{aid}/done")
    expect(page.locator("h1")).to_have_text("Thank you")

    with live.session() as session:
        submissions = session.scalars(
            select(Submission).where(Submission.participant_id == person.participant_id)
        ).all()
        assert [(s.instrument_id, s.status) for s in submissions] == [
            ("rand36", SubmissionStatus.COMPLETED)
        ]
        rows_ = session.scalars(
            select(Answer)
            .where(Answer.submission_id == submissions[0].id)
            .order_by(Answer.id)
        ).all()
        current = {a.item_id: a.code for a in rows_ if a.replaced_at is None}
        assert current == {c.item_id: c.code for c in chosen.values()}
        assert len(current) == 36
        history = [a for a in rows_ if a.item_id == str(CHANGED)]
        assert [a.code for a in history] == [before.code, changed.code]
        assert history[0].replaced_at is not None
        assert history[0].replaced_by_id == history[1].id
        assert len(rows_) == 37  # one row per item, plus the replaced one

    away = sorted({url for url in requests if leaves_machine(url)})
    assert away == [], f"requests left 127.0.0.1: {away}"


def test_an_item_can_be_answered_without_javascript(live, new_phone):
    person = live.new_person()
    aid = person.assignments["rand36"]
    page = new_phone(java_script_enabled=False).new_page()
    posts: list[str] = []
    page.on("request", lambda r: posts.append(r.url) if r.method == "POST" else None)
    open_link(page, person)
    start(page, aid)
    assert position(page) == 1
    chosen = choose(page, 2, autosave=False)
    assert posts == [], "nothing is sent before Next without JavaScript"
    press(page, "next")
    assert path_of(page) == f"/a/{aid}/q/2"
    press(page, "back")
    assert position(page) == 1
    expect(options(page).nth(2).locator("input")).to_be_checked()

    with live.session() as session:
        saved = session.scalars(
            select(Answer)
            .join(Submission)
            .where(Submission.participant_id == person.participant_id)
        ).all()
        assert [(a.item_id, a.code) for a in saved] == [("1", chosen.code)]


def test_save_and_finish_later_says_until_when(live, new_phone):
    person = live.new_person()
    aid = person.assignments["promis29"]
    page = new_phone().new_page()
    open_link(page, person)
    expect(page.locator(f'a.card[href="/a/{aid}/"]')).to_contain_text(
        "29 questions · about 6 minutes"
    )
    start(page, aid)
    choose(page, 1)
    press(page, "next")
    choose(page, 2)
    press(page, "later")
    assert path_of(page) == "/home"
    with live.session() as session:
        last_day = session.get(Assignment, aid).last_moment.date()  # zone UTC
    notice = page.locator("p.notice[role=status]")
    expect(notice).to_have_text(
        "Your answers are saved. You can come back until "
        f"{last_day:%B} {last_day.day}, {last_day.year}."
    )
    expect(page.locator(f'a.card[href="/a/{aid}/"] .action')).to_have_text("Continue")
    page.reload()
    expect(page.locator("p.notice")).to_have_count(0)
