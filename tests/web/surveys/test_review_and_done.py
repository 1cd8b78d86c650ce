"""The review screen (numbers, stems, Submit at the top), the 0-10 item as the
form prints it, Back on the first question, and the page after the last form."""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path

from babel.dates import format_date

from pro_app.studies.services import TimepointSpec
from tests.factories import (
    PROS,
    complete_assignment,
    make_link,
    make_participant,
    make_study,
)
from tests.web.surveys.helpers import answer, cls, dom, item_url, text_of

REFERENCE = Path(__file__).parents[2] / "unit/catalog/data/reference_wording.json"
SUBMIT = "//form[contains(@action, '/submit')]"


def _pain_anchors() -> dict[int, str]:
    """The 0 and 10 labels of PROMIS-29's pain item, from the reference text."""
    doc = json.loads(REFERENCE.read_text(encoding="utf-8"))
    for domain in doc["promis29_2.1"]["domains"].values():
        for item in domain["items"]:
            if item["id"] == "Global07":
                labels = {o["code"]: o["label"] for o in item["options"]}
                return {0: labels[0], 10: labels[10]}
    raise AssertionError("no Global07 in the reference wording")


def _answer_all(client, catalog, aid, instrument_id, codes=None):
    instrument = catalog.get(instrument_id)
    for item in instrument.items:
        code = (codes or {}).get(item.id, item.codes[0])
        answer(client, aid, item.position, item.id, code)


def _review_of(logged_in, app, instrument_id, codes=None):
    """Answer every item of a baseline form on its screens; return its review."""
    aid = logged_in.assignments[instrument_id]
    _answer_all(
        logged_in.client, app.extensions["pro_catalog"], aid, instrument_id, codes
    )
    return dom(logged_in.client.get(f"/a/{aid}/review"))


def test_the_pain_item_prints_0_and_10_with_their_anchors(logged_in):
    anchors = _pain_anchors()
    aid = logged_in.assignments["promis29"]
    page = dom(logged_in.client.get(item_url(aid, 29)))
    labels = [text_of(s) for s in page.xpath(f"//label[{cls('opt')}]/span")]
    assert labels == [
        f"0 {anchors[0]}",
        *[str(n) for n in range(1, 10)],
        f"10 {anchors[10]}",
    ]
    assert labels[0] == "0 No pain"
    assert labels[-1] == "10 Worst imaginable pain"


def test_the_review_shows_a_0_answer_with_its_anchor(logged_in, app):
    page = _review_of(logged_in, app, "promis29", {"Global07": 0})
    last = page.xpath(f"//ol[{cls('review')}]/li")[-1]
    assert text_of(last.xpath(f".//span[{cls('a')}]")[0]) == "0 No pain"


def test_the_first_question_has_no_back_button(logged_in):
    aid = logged_in.assignments["rand36"]
    first = dom(logged_in.client.get(item_url(aid, 1)))
    assert first.xpath("//button[@name='nav']/@value") == ["next", "later"]
    second = dom(logged_in.client.get(item_url(aid, 2)))
    assert second.xpath("//button[@name='nav']/@value") == ["next", "back", "later"]


def test_rand36_review_groups_items_under_their_stems_with_numbers(logged_in, app):
    page = _review_of(logged_in, app, "rand36")
    groups = page.xpath(f"//section[{cls('group')}]")
    stems = [text_of(g.xpath("h2")[0])[:40] if g.xpath("h2") else None for g in groups]
    numbers = [[text_of(n) for n in g.xpath(f".//span[{cls('num')}]")] for g in groups]
    assert stems == [
        None,
        "The following items are about activities",
        "During the past 4 weeks, have you had an",
        "During the past 4 weeks, have you had an",
        None,
        "These questions are about how you feel a",
        None,
        "How TRUE or FALSE is each of the followi",
    ]
    assert numbers == [
        ["1.", "2."],
        [f"{n}." for n in range(3, 13)],
        [f"{n}." for n in range(13, 17)],
        [f"{n}." for n in range(17, 20)],
        ["20.", "21.", "22."],
        [f"{n}." for n in range(23, 32)],
        ["32."],
        [f"{n}." for n in range(33, 37)],
    ]
    # 13 and 17 read the same; their stems (physical / emotional) tell them apart.
    q13 = text_of(groups[2].xpath(f".//span[{cls('q')}]")[0])
    q17 = text_of(groups[3].xpath(f".//span[{cls('q')}]")[0])
    assert q13[4:] == q17[4:]
    assert "physical health" in text_of(groups[2].xpath("h2")[0])
    assert "emotional problems" in text_of(groups[3].xpath("h2")[0])


def test_promis_review_numbers_its_items_too(logged_in, app):
    page = _review_of(logged_in, app, "promis_global")
    numbers = page.xpath(f"//ol[{cls('review')}]/li/span[{cls('q')}]/span")
    assert [text_of(n) for n in numbers] == [f"{n}." for n in range(1, 11)]


def test_submit_is_at_the_top_once_every_item_has_been_seen(logged_in, app):
    aid = logged_in.assignments["promis_global"]
    answer(logged_in.client, aid, 1, "Global01", 5)
    partial = dom(logged_in.client.get(f"/a/{aid}/review"))
    assert len(partial.xpath(SUBMIT)) == 1  # at the bottom only: 9 not yet seen
    page = _review_of(logged_in, app, "promis_global", {"Global03": None})
    forms = page.xpath(SUBMIT)
    assert len(forms) == 2
    top, bottom = forms
    first_item = page.xpath(f"//ol[{cls('review')}]/li")[0]
    # The top one comes before the first answer, the other after the last.
    order = list(page.iter())
    assert order.index(top) < order.index(first_item) < order.index(bottom)
    assert "submit" in top.get("class")
    # Both submit the same way (the CSRF token of the page).
    token = top.xpath(".//input[@name='csrf_token']/@value")[0]
    response = logged_in.client.post(top.get("action"), data={"csrf_token": token})
    assert response.headers["Location"] == f"/a/{aid}/done"


def _one_visit(session, timepoints):
    study = make_study(session, code="DONE", timepoints=timepoints)
    participant = make_participant(session, study)
    return participant


def _finish_last(client, session, app, participant):
    """Submit two baseline forms directly, the last one through the screens."""
    catalog = app.extensions["pro_catalog"]
    baseline = [a for a in participant.assignments if a.timepoint.code == "BL"]
    for assignment in baseline[:-1]:
        complete_assignment(session, assignment, catalog)
    token = make_link(session, participant)
    session.commit()
    client.get(f"/p/{token}")
    last = baseline[-1]
    _answer_all(client, catalog, last.id, last.instrument_id)
    review = dom(client.get(f"/a/{last.id}/review"))
    token = review.xpath("//input[@name='csrf_token']/@value")[0]
    response = client.post(f"/a/{last.id}/submit", data={"csrf_token": token})
    return dom(client.get(response.headers["Location"]))


def test_after_the_last_form_of_a_visit_the_next_opening_day_is_given(
    client, session, app
):
    participant = _one_visit(
        session,
        [
            TimepointSpec("BL", "Baseline", 0, 7, 7, PROS[1:]),
            TimepointSpec("W4", "Week 4", 28, 3, 3, PROS[1:]),
        ],
    )
    page = _finish_last(client, session, app, participant)
    day0 = date.today() + timedelta(days=1)
    opens = format_date(day0 + timedelta(days=25), "long", locale="en")
    assert text_of(page.xpath(f"//p[{cls('all-done')}]")[0]) == (
        f"All done for today. Your next questionnaires open on {opens}."
    )
    assert not page.xpath(f"//a[{cls('button')}]")  # nothing more to go on to


def test_after_the_very_last_form_it_is_just_all_done(client, session, app):
    participant = _one_visit(
        session, [TimepointSpec("BL", "Baseline", 0, 7, 7, PROS[1:])]
    )
    page = _finish_last(client, session, app, participant)
    assert text_of(page.xpath(f"//p[{cls('all-done')}]")[0]) == (
        "All done: there is nothing more for you to answer."
    )


def test_with_forms_still_open_done_offers_the_next_one_by_its_name(logged_in, app):
    aid = logged_in.assignments["promis_global"]
    review = _review_of(logged_in, app, "promis_global")
    token = review.xpath("//input[@name='csrf_token']/@value")[0]
    logged_in.client.post(f"/a/{aid}/submit", data={"csrf_token": token})
    page = dom(logged_in.client.get(f"/a/{aid}/done"))
    button = page.xpath(f"//a[{cls('button')}]")[0]
    assert text_of(button) == "Go on to RAND 36-Item Health Survey 1.0"
    assert button.get("href") == f"/a/{logged_in.assignments['rand36']}/"
    assert not page.xpath(f"//p[{cls('all-done')}]")
