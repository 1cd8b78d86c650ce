"""A questionnaire under a data lock, as the participant meets it: said on the
home page before any work, read-only item and review pages, nothing lost, and
answerable again once the lock is lifted."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from pro_app.audit.models import AuditEvent
from pro_app.studies import locks
from pro_app.studies.models import Assignment
from pro_app.surveys.models import Answer, Submission, SubmissionStatus
from tests.conftest import csrf_from
from tests.web.surveys.helpers import answer, cls, dom, item_url, text_of

LOCKED = "This questionnaire is locked for now"
WHY = "Your study team is checking the answers, so nothing can be answered or changed"


@pytest.fixture
def started(logged_in):
    """RAND-36 begun: items 1-3 answered."""
    aid = logged_in.assignments["rand36"]
    for position, code in ((1, 2), (2, 3), (3, 1)):
        answer(logged_in.client, aid, position, str(position), code)
    return logged_in


def _lock_baseline(session, logged_in):
    assignment = session.get(Assignment, logged_in.assignments["rand36"])
    row = locks.lock(
        session,
        logged_in.participant.study,
        timepoint=assignment.timepoint,
        actor="staff:dm",
        reason="Baseline data review before the interim analysis",
    )
    session.commit()
    return row


def _current(session):
    rows = session.scalars(
        select(Answer).where(Answer.replaced_at.is_(None)).order_by(Answer.item_id)
    )
    return {a.item_id: a.code for a in rows}


def _audit_count(session):
    return session.scalar(select(func.count(AuditEvent.id)))


def test_the_home_page_says_the_questionnaire_is_locked_instead_of_continue(
    started, session
):
    _lock_baseline(session, started)
    page = dom(started.client.get("/home"))
    cards = page.xpath(f"//ul[{cls('cards')}]/li")
    assert len(cards) == 3  # the three baseline forms, all under the lock
    for card in cards:
        shown = text_of(card)
        assert LOCKED in shown
        assert WHY in shown
        assert "contact your study team" in shown
        assert "Continue" not in shown
        assert "Start" not in shown
        # Nothing to tap that leads into answering.
        assert not card.xpath(f".//a[{cls('card')}]")
        assert all("/q/" not in href for href in card.xpath(".//a/@href"))
    # The staff's reason is theirs: the participant is told why in plain words.
    assert "interim analysis" not in text_of(page)
    # The one already begun offers its saved answers, read-only.
    rand = started.assignments["rand36"]
    links = page.xpath(f"//ul[{cls('cards')}]//a/@href")
    assert links == [f"/a/{rand}/review"]


def test_an_item_page_under_a_lock_is_read_only_and_shows_the_answer(started, session):
    _lock_baseline(session, started)
    aid = started.assignments["rand36"]
    response = started.client.get(item_url(aid, 2))
    assert response.status_code == 200
    page = dom(response)
    assert LOCKED in text_of(page)
    assert WHY in text_of(page)
    # The saved answer is shown, and nothing can be chosen or sent.
    assert page.xpath("//fieldset[@disabled]")
    assert page.xpath("//input[@type='radio'][@checked]/@value") == ["3"]
    assert not page.xpath("//form[@method='post'][.//input[@type='radio']]")
    assert not page.xpath("//button[@name='nav']")
    assert "Save and finish later" not in text_of(page)
    # The script that saves on every tap is not loaded at all.
    assert not page.xpath("//script[contains(@src, 'autosave')]")


def test_posts_under_a_lock_store_nothing_and_say_why(started, session):
    aid = started.assignments["rand36"]
    token = csrf_from(started.client.get(item_url(aid, 4)).get_data(as_text=True))
    _lock_baseline(session, started)
    before, events = _current(session), _audit_count(session)
    for nav in ("next", "save", "later", "back"):
        response = started.client.post(
            item_url(aid, 4),
            data={"csrf_token": token, "item_id": "4", "item_4": "2", "nav": nav},
        )
        assert response.status_code == 409, nav
        page = dom(response)
        assert LOCKED in text_of(page), nav
        assert page.xpath("//fieldset[@disabled]"), nav
        # The page shows what is stored (nothing for item 4), not the post.
        assert not page.xpath("//input[@type='radio'][@checked]"), nav
    submit = started.client.post(f"/a/{aid}/submit", data={"csrf_token": token})
    assert submit.status_code == 409
    assert "nothing was saved" in submit.get_data(as_text=True)
    assert _current(session) == before
    assert _audit_count(session) == events
    submission = session.scalar(select(Submission))
    assert submission.status is SubmissionStatus.IN_PROGRESS


def test_the_review_under_a_lock_has_no_submit_and_no_change(started, session):
    _lock_baseline(session, started)
    aid = started.assignments["rand36"]
    page = dom(started.client.get(f"/a/{aid}/review"))
    assert LOCKED in text_of(page)
    assert not page.xpath("//form[contains(@action, '/submit')]")
    assert not [href for href in page.xpath("//a/@href") if "/q/" in href]
    # The saved answers are all there to read.
    answered = [
        text_of(a) for a in page.xpath(f"//ol[{cls('review')}]//span[{cls('a')}]")
    ]
    assert answered == ["Very good", "About the same", "Yes, limited a lot"]


def test_after_the_lock_is_lifted_the_questionnaire_goes_on(started, session):
    row = _lock_baseline(session, started)
    aid = started.assignments["rand36"]
    assert dom(started.client.get("/home")).xpath(f"//a[{cls('card')}]") == []
    locks.unlock(session, row, actor="staff:dm", reason="Review finished")
    session.commit()

    page = dom(started.client.get("/home"))
    card = page.xpath(f"//a[{cls('card')}][@href='/a/{aid}/']")
    assert card
    assert "Continue" in text_of(card[0])
    assert LOCKED not in text_of(page)
    assert started.client.get(f"/a/{aid}/").headers["Location"] == item_url(aid, 4)
    assert answer(started.client, aid, 4, "4", 2).status_code == 302
    assert _current(session) == {"1": 2, "2": 3, "3": 1, "4": 2}


def test_a_lock_on_another_timepoint_leaves_the_open_one_answerable(started, session):
    w4 = next(
        a.timepoint for a in started.participant.assignments if a.timepoint.code == "W4"
    )
    locks.lock(
        session,
        started.participant.study,
        participant=started.participant,
        timepoint=w4,
        actor="staff:dm",
        reason="Week 4 review",
    )
    session.commit()
    page = dom(started.client.get("/home"))
    assert len(page.xpath(f"//a[{cls('card')}]")) == 3
    assert LOCKED not in text_of(page)
    aid = started.assignments["rand36"]
    assert not dom(started.client.get(item_url(aid, 4))).xpath("//fieldset[@disabled]")


def test_the_locked_pages_say_how_to_reach_the_study_team(started, session):
    site = started.participant.site
    site.contact_name = "Lupus study nurses"
    site.contact_phone = "+44 20 7946 0321"
    site.contact_email = "lupus-team@example.org"
    _lock_baseline(session, started)
    aid = started.assignments["rand36"]
    for url in ("/home", item_url(aid, 2), f"/a/{aid}/review"):
        page = dom(started.client.get(url))
        blocks = page.xpath(f"//section[{cls('team-contact')}]")
        assert len(blocks) == 1, url  # once per page, however many cards
        assert "Lupus study nurses" in text_of(blocks[0])
        assert blocks[0].xpath(".//a/@href") == [
            "tel:+442079460321",
            "mailto:lupus-team@example.org",
        ]
