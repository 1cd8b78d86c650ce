"""The study team's contact on every participant page that says to contact it.

The contact comes from the protocol file (``[sites.contact]``), through the
import, to the pages a participant meets: closed, locked (409), throttled
(429), outage (503), signed out, and the start page.
"""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import event, select

from pro_app.extensions import db
from pro_app.studies.locks import lock
from pro_app.studies.models import Site, Study
from pro_app.studies.services import import_protocol
from tests.conftest import csrf_from, database_app, file_database_url, login_staff
from tests.factories import make_link, make_participant, make_protocol, make_staff

TEL = '<a href="tel:+442079460321" dir="ltr">+44 20 7946 0321</a>'
MAILTO = '<a href="mailto:study-team@example.org" dir="ltr">study-team@example.org</a>'
GENERAL = "How to reach your study team is written in the messages they sent you."


def _enrolled(app, session, **overrides):
    """The shipped protocol imported, one participant with baseline open."""
    import_protocol(
        session, make_protocol(app.extensions["pro_catalog"]), actor="system:test"
    )
    study = session.scalar(select(Study))
    overrides.setdefault("day0", date.today() + timedelta(days=4))
    participant = make_participant(session, study, **overrides)
    token = make_link(session, participant)
    session.commit()
    return study, participant, token


def _signed_in(app, session, **overrides):
    study, participant, token = _enrolled(app, session, **overrides)
    client = app.test_client()
    assert client.get(f"/p/{token}").status_code == 302
    return client, study, participant


def _assignment(participant, timepoint, instrument="rand36"):
    return next(
        a
        for a in participant.assignments
        if a.timepoint.code == timepoint and a.instrument_id == instrument
    )


def _shows_site_contact(body):
    assert "Your study team" in body
    assert "Demo study team" in body
    assert TEL in body
    assert MAILTO in body
    assert GENERAL not in body


def test_the_closed_page_shows_the_site_contact_with_links(app, session):
    client, _study, participant = _signed_in(app, session)
    page = client.get(f"/a/{_assignment(participant, 'W4').id}/")
    body = page.get_data(as_text=True)
    assert "Not open yet" in body
    _shows_site_contact(body)


def test_the_locked_page_shows_the_site_contact(app, session):
    client, study, participant = _signed_in(app, session)
    lock(session, study, participant=participant, actor="system:test",
         reason="monitoring visit")  # fmt: skip
    session.commit()
    aid = _assignment(participant, "BL").id
    token = csrf_from(client.get("/home").get_data(as_text=True))
    locked = client.post(f"/a/{aid}/submit", data={"csrf_token": token})
    assert locked.status_code == 409
    body = locked.get_data(as_text=True)
    assert "has locked them, so nothing was saved" in body
    _shows_site_contact(body)


def test_the_throttled_page_shows_the_contact_of_a_signed_in_participant(app, session):
    # A participant with a session taps old, dead links from the clinic Wi-Fi.
    app.config["LINK_FAILURE_LIMIT"] = "2 per 15 minutes"
    client, _study, _participant = _signed_in(app, session)
    statuses = [client.get(f"/p/dead{i:030d}").status_code for i in range(3)]
    assert statuses == [404, 404, 429]
    body = client.get("/p/" + "x" * 40).get_data(as_text=True)
    assert "Too many attempts" in body
    _shows_site_contact(body)
    # Someone unknown on the same network gets the general line instead.
    stranger = app.test_client().get("/p/" + "y" * 40).get_data(as_text=True)
    assert "Too many attempts" in stranger
    assert GENERAL in stranger
    assert "Demo study team" not in stranger


def test_signing_out_shows_the_contact_of_the_participant_who_left(app, session):
    client, _study, _participant = _signed_in(app, session)
    token = csrf_from(client.get("/home").get_data(as_text=True))
    page = client.post("/signout", data={"csrf_token": token})
    body = page.get_data(as_text=True)
    assert "You have signed out" in body
    _shows_site_contact(body)
    # Afterwards nobody is known: the pages say where the contact is written.
    again = client.get("/home")
    assert again.status_code == 401
    assert GENERAL in again.get_data(as_text=True)
    assert "Demo study team" not in again.get_data(as_text=True)


def test_the_start_page_uses_the_deployment_contact_for_someone_unknown(app, session):
    body = app.test_client().get("/").get_data(as_text=True)
    assert "please contact your study team" in body
    assert GENERAL in body
    app.config["NOTIFY_TEAM_CONTACT"] = "Trial office, +44 20 7946 0100"
    body = app.test_client().get("/").get_data(as_text=True)
    assert "Trial office, +44 20 7946 0100" in body
    assert GENERAL not in body


def test_a_site_without_a_structured_contact_shows_its_old_free_text(app, session):
    client, _study, participant = _signed_in(app, session)
    site = session.scalar(select(Site))
    site.contact_name = site.contact_phone = site.contact_email = None
    site.contact = "Nurse Dana, +44 20 7946 0123 (weekdays)"
    session.commit()
    body = client.get(f"/a/{_assignment(participant, 'W4').id}/").get_data(as_text=True)
    assert "Nurse Dana, +44 20 7946 0123 (weekdays)" in body
    assert "tel:" not in body
    assert GENERAL not in body


def test_the_contact_reads_left_to_right_on_a_hebrew_page(app, session):
    client, _study, participant = _signed_in(app, session, language="he")
    body = client.get(f"/a/{_assignment(participant, 'W4').id}/").get_data(as_text=True)
    assert '<html lang="he" dir="rtl">' in body
    assert TEL in body
    assert MAILTO in body
    assert "Your study team" not in body  # translated


def test_staff_error_pages_show_no_participant_contact(app, session):
    study, _participant, _token = _enrolled(app, session)
    user = make_staff(session, "coordinator", study)
    session.commit()
    client = app.test_client()
    assert login_staff(client, user.email).status_code == 302
    page = client.get("/staff/s/NCT06737380/p/999999")
    assert page.status_code == 404
    body = page.get_data(as_text=True)
    assert "team-contact" not in body
    assert GENERAL not in body


@pytest.fixture
def durable(_pg_schema, tmp_path):
    with database_app(file_database_url(tmp_path)) as app:
        yield app


def test_the_outage_page_says_where_the_contact_is_without_the_database(durable):
    from sqlalchemy.orm import Session

    app = durable
    with app.app_context():
        engine = db.engine
    session = Session(bind=engine)
    client, _study, _participant = _signed_in(app, session)
    session.close()
    attempts = []

    @event.listens_for(engine, "do_connect")
    def _refuse(dialect, conn_rec, cargs, cparams):
        attempts.append(1)
        raise dialect.loaded_dbapi.OperationalError("connection refused")

    engine.dispose()
    page = client.get("/home")
    assert page.status_code == 503
    body = page.get_data(as_text=True)
    assert GENERAL in body
    assert "Demo study team" not in body
    # The page itself asked the database nothing more than the failed lookup.
    assert len(attempts) == 1
    event.remove(engine, "do_connect", _refuse)
