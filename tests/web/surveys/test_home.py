"""The participant's home page: each form named as it prints its title, with
its number of questions and time; what is coming up, one line per day; and,
after "Save and finish later", until when they can come back."""

from __future__ import annotations

from datetime import date, timedelta

from babel.dates import format_date

from pro_app.studies.services import TimepointSpec
from tests.factories import PROS, make_link, make_participant, make_study
from tests.web.surveys.helpers import answer, cls, dom, text_of

NAMES = {
    "rand36": "RAND 36-Item Health Survey 1.0",
    "promis29": "PROMIS-29 Profile v2.1",
    "promis_global": "PROMIS Scale v1.2 - Global Health",
}


def _long(day: date) -> str:
    return format_date(day, "long", locale="en")


def _sign_in(client, session, participant):
    token = make_link(session, participant)
    session.commit()
    assert client.get(f"/p/{token}").status_code == 302


def test_each_card_names_the_form_with_its_questions_and_minutes(logged_in):
    page = dom(logged_in.client.get("/home"))
    cards = {
        text_of(card.xpath(f".//span[{cls('card-title')}]")[0]): text_of(card)
        for card in page.xpath(f"//a[{cls('card')}]")
    }
    assert list(cards) == list(NAMES.values())
    assert "36 questions · about 10 minutes" in cards[NAMES["rand36"]]
    assert "29 questions · about 6 minutes" in cards[NAMES["promis29"]]
    assert "10 questions · about 2 minutes" in cards[NAMES["promis_global"]]
    # The printed name carries the language of the wording it is given in.
    titles = page.xpath(f"//span[{cls('card-title')}]/span")
    assert {(t.get("lang"), t.get("dir")) for t in titles} == {("en", "ltr")}


def test_coming_up_has_one_line_per_day_listing_that_days_forms(client, session):
    study = make_study(
        session,
        code="GROUPED",
        timepoints=[
            TimepointSpec("BL", "Baseline", 0, 7, 7, PROS),
            TimepointSpec("W4", "Week 4", 28, 3, 3, PROS),
            TimepointSpec("W8", "Week 8", 56, 3, 3, PROS[1:]),
        ],
    )
    day0 = date.today() + timedelta(days=1)
    # Far east of UTC: each window opens on the day before in UTC, so a day
    # taken from the UTC time would be wrong.
    participant = make_participant(
        session, study, day0=day0, timezone="Pacific/Auckland"
    )
    _sign_in(client, session, participant)
    page = dom(client.get("/home"))
    lines = [text_of(li) for li in page.xpath(f"//ul[{cls('upcoming')}]/li")]
    assert lines == [
        f"Opening on {_long(day0 + timedelta(days=25))}: {NAMES['rand36']}, "
        f"{NAMES['promis29']}, and {NAMES['promis_global']}",
        f"Opening on {_long(day0 + timedelta(days=53))}: {NAMES['promis29']} "
        f"and {NAMES['promis_global']}",
    ]
    names = page.xpath(f"//ul[{cls('upcoming')}]/li/span[@lang='en']")
    assert len(names) == 5


def test_save_and_finish_later_says_until_when_in_the_participants_zone(
    client, session
):
    day0 = date.today() + timedelta(days=1)
    # West of UTC: the window's last moment falls on the next day in UTC.
    participant = make_participant(session, day0=day0, timezone="America/Los_Angeles")
    _sign_in(client, session, participant)
    aid = next(a.id for a in participant.assignments if a.instrument_id == "rand36")
    answer(client, aid, 1, "1", 2)
    response = answer(client, aid, 2, "2", 3, nav="later")
    assert response.headers["Location"] == "/home"

    page = dom(client.get("/home"))
    notice = page.xpath(f"//p[{cls('notice')}]")
    assert len(notice) == 1
    last_day = day0 + timedelta(days=7)  # baseline window: 7 days after day 0
    assert text_of(notice[0]) == (
        f"Your answers are saved. You can come back until {_long(last_day)}."
    )
    assert notice[0].get("role") == "status"
    # Said once: the next visit to the home page is the plain list again.
    assert not dom(client.get("/home")).xpath(f"//p[{cls('notice')}]")
    # Nothing else changed about "later": both answers are kept.
    assert client.get(f"/a/{aid}/").headers["Location"] == f"/a/{aid}/q/3"


def test_the_saved_notice_is_not_shown_for_a_plain_visit(logged_in):
    aid = logged_in.assignments["rand36"]
    answer(logged_in.client, aid, 1, "1", 2)
    page = dom(logged_in.client.get("/home"))
    assert not page.xpath(f"//p[{cls('notice')}]")
