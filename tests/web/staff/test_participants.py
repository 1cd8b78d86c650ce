"""Participant pages: enrol, the record (timeline, answers, scores, charts), edit,
withdraw, not done, and who may see what."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import select

from pro_app.audit.models import AuditEvent
from pro_app.dbtypes import utcnow
from pro_app.notify.models import Outbox, OutboxStatus
from pro_app.notify.planning import plan_messages
from pro_app.participants.contact import ParticipantContact, contact_for, set_contact
from pro_app.participants.models import Participant, ParticipantStatus
from pro_app.studies.models import Assignment
from pro_app.studies.rules import AssignmentStatus
from pro_app.surveys.entry import correct_answer
from pro_app.web import current_catalog
from tests.conftest import csrf_from, login_staff
from tests.factories import make_link, make_participant, make_staff, make_study
from tests.web.staff.entry_helpers import assignment_of as _assignment
from tests.web.staff.entry_helpers import complete_at as _complete

NEW = "/staff/s/TEST-1/participants/new"
EMAIL = "lk010.private@example.org"
PHONE = "+44 7700 900123"
DEPRESSION = ("EDDEP04", "EDDEP06", "EDDEP29", "EDDEP41")


def _url(participant, tail: str = "") -> str:
    return f"/staff/s/TEST-1/participants/{participant.id}{tail}"


def _staff(client, session, role, study, **kw):
    user = make_staff(session, role, study, **kw)
    assert login_staff(client, user.email).status_code == 302
    return user


def _events(session, action):
    return session.scalars(
        select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)
    ).all()


def _enrol(client, **fields):
    page = client.get(NEW)
    assert page.status_code == 200
    data = {
        "csrf_token": csrf_from(page.get_data(as_text=True)),
        "subject_id": "LK-010",
        "day0": (date.today() + timedelta(days=1)).isoformat(),
        "timezone": "Europe/London",
        "language": "en",
        "email": "",
        "phone": "",
    }
    data.update(fields)
    return client.post(NEW, data=data)


def _post(client, participant, url, **data):
    page = client.get(_url(participant))
    data["csrf_token"] = csrf_from(page.get_data(as_text=True))
    return client.post(url, data=data)


# Enrolment ------------------------------------------------------------------


def test_enrol_from_the_form_stores_contact_encrypted(app, client, session):
    study = make_study(session)
    user = _staff(client, session, "coordinator", study)
    response = _enrol(
        client, site=str(study.sites[0].id), email=EMAIL, phone=f" {PHONE} "
    )
    assert response.status_code == 302
    participant = session.scalar(
        select(Participant).where(Participant.subject_id == "LK-010")
    )
    assert response.headers["Location"] == _url(participant)
    assert participant.timezone == "Europe/London"
    assert participant.language == "en"
    assert len(participant.assignments) == 6
    row = session.scalar(select(ParticipantContact))
    assert EMAIL not in row.email_enc
    assert "7700" not in row.phone_enc
    contact = contact_for(session, participant, app.config["DATA_KEY"])
    assert (contact.email, contact.phone) == (EMAIL, PHONE)
    (event,) = _events(session, "participant.enrol")
    assert event.actor == f"staff:{user.id}"
    assert EMAIL not in str(_events(session, "participant.contact")[0].new_value)
    page = client.get(_url(participant)).get_data(as_text=True)
    assert "LK-010 is enrolled." in page
    assert EMAIL in page  # a coordinator may see contact details


def test_enrol_refuses_a_subject_id_already_in_the_study(app, client, session):
    study = make_study(session)
    make_participant(session, study, subject_id="LK-010")
    _staff(client, session, "coordinator", study)
    response = _enrol(client, subject_id="lk-010", site=str(study.sites[0].id))
    assert response.status_code == 400
    assert "Subject ID lk-010 is already enrolled" in response.get_data(as_text=True)
    assert len(session.scalars(select(Participant)).all()) == 1


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("timezone", "Mars/Olympus_Mons", "Give an IANA time zone"),
        ("timezone", "../../etc/passwd", "Give an IANA time zone"),
        ("subject_id", "LK 010; drop", "This is not a subject ID"),
        ("email", "not-an-address", "This is not an email address."),
        ("phone", "call me", "country code"),
        ("language", "xx", "Not a valid choice"),
    ],
)
def test_enrol_refuses_invalid_fields(app, client, session, field, value, message):
    study = make_study(session)
    _staff(client, session, "coordinator", study)
    response = _enrol(client, site=str(study.sites[0].id), **{field: value})
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)
    assert session.scalars(select(Participant)).all() == []


def test_study_pattern_for_subject_ids(app, client, session):
    study = make_study(session)
    study.settings = {"subject_id_pattern": r"LK-\d{3}"}
    _staff(client, session, "coordinator", study)
    site = str(study.sites[0].id)
    assert _enrol(client, subject_id="AB-010", site=site).status_code == 400
    assert _enrol(client, subject_id="LK-010", site=site).status_code == 302


def test_enrol_refuses_a_site_of_another_study_or_site(app, client, session):
    study = make_study(session, sites=[("01", "One"), ("02", "Two")])
    other = make_study(session, code="TEST-2", sites=[("09", "Elsewhere")])
    _staff(client, session, "coordinator", study, site=study.sites[0])
    page = client.get(NEW).get_data(as_text=True)
    assert "01 One" in page
    assert "02 Two" not in page  # a site-limited coordinator sees only theirs
    for site in (other.sites[0], study.sites[1]):
        response = _enrol(client, site=str(site.id))
        assert response.status_code == 400
        assert "Not a valid choice" in response.get_data(as_text=True)
    assert session.scalars(select(Participant)).all() == []


@pytest.mark.parametrize("role", ["monitor", "data_manager", "investigator"])
def test_enrolling_and_changing_need_the_enrol_permission(app, client, session, role):
    study = make_study(session)
    participant = make_participant(session, study)
    _staff(client, session, role, study)
    assert client.get(NEW).status_code == 403
    assert client.get(_url(participant, "/edit")).status_code == 403
    page = client.get(_url(participant)).get_data(as_text=True)
    assert "Withdraw this participant" not in page
    assert "Mark not done" not in page
    token = csrf_from(page)
    withdraw = client.post(
        _url(participant, "/withdraw"),
        data={"csrf_token": token, "withdraw-reason": "x y z"},
    )
    assert withdraw.status_code == 403


# Edit, withdraw, not done ------------------------------------------------------


def _invitation(session, assignment) -> Outbox:
    return session.scalar(
        select(Outbox).where(
            Outbox.assignment_id == assignment.id,
            Outbox.kind == "invitation",
            Outbox.status == OutboxStatus.PENDING,
        )
    )


def test_moving_day0_needs_a_reason_and_replans_messages(app, client, session):
    study = make_study(session)
    participant = make_participant(session, study)
    set_contact(
        session,
        participant,
        email=EMAIL,
        phone=None,
        data_key=app.config["DATA_KEY"],
        actor="system:test",
    )
    plan_messages(
        session,
        utcnow(),
        data_key=app.config["DATA_KEY"],
        participant_id=participant.id,
    )
    w4 = _assignment(session, participant, "W4", "rand36")
    old_opens = w4.opens_at
    old_due = _invitation(session, w4).due_at
    _staff(client, session, "coordinator", study)
    edit = _url(participant, "/edit")
    page = client.get(edit).get_data(as_text=True)
    assert EMAIL in page  # prefilled
    data = {
        "csrf_token": csrf_from(page),
        "day0": (participant.day0 + timedelta(days=7)).isoformat(),
        "timezone": "UTC",
        "language": "",
        "email": EMAIL,
        "phone": "",
    }
    refused = client.post(edit, data=data | {"reason": ""})
    assert refused.status_code == 400
    session.expire_all()
    assert _assignment(session, participant, "W4", "rand36").opens_at == old_opens

    done = client.post(edit, data=data | {"reason": "infusion rescheduled"})
    assert done.status_code == 302
    session.expire_all()
    w4 = _assignment(session, participant, "W4", "rand36")
    assert w4.opens_at == old_opens + timedelta(days=7)
    (event,) = _events(session, "participant.day0")
    assert event.reason == "infusion rescheduled"
    # The queued invitation followed its window.
    assert _invitation(session, w4).due_at == old_due + timedelta(days=7)


def test_editing_language_and_contact_is_audited_with_the_reason(app, client, session):
    study = make_study(session)
    participant = make_participant(session, study)
    _staff(client, session, "coordinator", study)
    edit = _url(participant, "/edit")
    data = {
        "csrf_token": csrf_from(client.get(edit).get_data(as_text=True)),
        "day0": participant.day0.isoformat(),
        "timezone": "UTC",
        "language": "es",
        "email": EMAIL,
        "phone": PHONE,
        "reason": "told us at the visit",
    }
    assert client.post(edit, data=data).status_code == 302
    session.expire_all()
    participant = session.get(Participant, participant.id)
    assert participant.language == "es"
    contact = contact_for(session, participant, app.config["DATA_KEY"])
    assert (contact.email, contact.phone) == (EMAIL, PHONE)
    for action in ("participant.language", "participant.contact"):
        (event,) = _events(session, action)
        assert event.reason == "told us at the visit"
    assert _events(session, "participant.day0") == []  # unchanged: not audited
    # With outbox rows planned for the new address.
    assert session.scalars(select(Outbox)).all()


def test_withdraw_needs_a_reason_then_stops_messages_and_links(app, client, session):
    study = make_study(session)
    participant = make_participant(session, study)
    set_contact(
        session,
        participant,
        email=EMAIL,
        phone=None,
        data_key=app.config["DATA_KEY"],
        actor="system:test",
    )
    plan_messages(
        session,
        utcnow(),
        data_key=app.config["DATA_KEY"],
        participant_id=participant.id,
    )
    token = make_link(session, participant)
    _staff(client, session, "coordinator", study)
    url = _url(participant, "/withdraw")

    refused = _post(client, participant, url, **{"withdraw-reason": ""})
    assert refused.status_code == 400
    assert "A reason is needed" in refused.get_data(as_text=True)
    session.expire_all()
    assert session.get(Participant, participant.id).status is ParticipantStatus.ACTIVE

    done = _post(client, participant, url, **{"withdraw-reason": "consent withdrawn"})
    assert done.status_code == 302
    session.expire_all()
    assert session.get(Participant, participant.id).status is (
        ParticipantStatus.WITHDRAWN
    )
    statuses = {r.status for r in session.scalars(select(Outbox))}
    assert statuses == {OutboxStatus.CANCELLED}
    assert client.get(f"/p/{token}").status_code == 404
    (event,) = _events(session, "participant.withdraw")
    assert event.reason == "consent withdrawn"
    page = client.get(_url(participant)).get_data(as_text=True)
    assert "Withdraw this participant" not in page
    assert "Edit details" not in page


def test_mark_not_done_needs_a_reason(app, client, session):
    study = make_study(session)
    participant = make_participant(session, study)
    bl = _assignment(session, participant, "BL", "rand36")
    _staff(client, session, "coordinator", study)
    url = f"/staff/s/TEST-1/assignments/{bl.id}/not-done"
    assert _post(client, participant, url, **{"notdone-reason": ""}).status_code == 400
    done = _post(client, participant, url, **{"notdone-reason": "too unwell today"})
    assert done.status_code == 302
    session.expire_all()
    bl = session.get(Assignment, bl.id)
    assert bl.status is AssignmentStatus.NOT_DONE
    assert bl.status_reason == "too unwell today"
    page = client.get(_url(participant)).get_data(as_text=True)
    assert "Not done" in page
    assert "too unwell today" in page


# The record ------------------------------------------------------------------


@pytest.fixture
def record(app, session):
    """A participant with PROMIS-29 at baseline and week 4: depression worse."""
    with app.app_context():
        catalog = current_catalog()
    study = make_study(session)
    participant = make_participant(session, study)
    set_contact(
        session,
        participant,
        email=EMAIL,
        phone=PHONE,
        data_key=app.config["DATA_KEY"],
        actor="system:test",
    )
    bl = _assignment(session, participant, "BL", "promis29")
    w4 = _assignment(session, participant, "W4", "promis29")
    _complete(session, bl, catalog, bl.opens_at + timedelta(hours=1))
    later = w4.opens_at + timedelta(hours=1)
    sub = _complete(session, w4, catalog, later, dict.fromkeys(DEPRESSION, 4))
    item = catalog.get("promis29", "2.1").item("EDDEP29")
    correct_answer(
        session,
        sub,
        item,
        5,
        actor="staff:999",
        reason="participant rang to correct it",
        catalog=catalog,
        now=later + timedelta(hours=1),
    )
    session.commit()
    return participant


def test_page_shows_timeline_answers_scores_and_charts(app, client, session, record):
    _staff(client, session, "coordinator", record.study)
    html = client.get(_url(record)).get_data(as_text=True)
    # Timeline: each assignment with its status and mode.
    assert "Completed" in html
    assert "Online, by the participant" in html
    assert "Scheduled" in html or "Open" in html
    # Every submission with its answers, in English, code and label.
    assert "EDDEP04" in html
    assert "I felt worthless" in html
    assert "4 · Often" in html
    # The correction: marked, with the previous value and the reason.
    assert "Corrected by staff" in html
    assert "was 4 · Often" in html
    assert "participant rang to correct it" in html
    # Scores and charts with the population mean line.
    assert "<svg" in html
    assert 'role="img"' in html
    assert "T = 50 (population mean)" in html
    assert "Physical Function" in html
    # Depression is flagged (higher is worse); physical function did not move.
    assert "Worse than baseline by more than the study's threshold" in html
    flags = html.split('id="pt-flags-title"')[1].split("</ul>")[0]
    assert "Depression" in flags
    assert "Physical Function" not in flags
    assert "(threshold 5.0)" in flags
    assert 'style="' not in html  # the CSP forbids inline styles


def test_threshold_is_a_study_setting(app, client, session, record):
    record.study.settings = {"score_change_threshold": 40}
    _staff(client, session, "coordinator", record.study)
    html = client.get(_url(record)).get_data(as_text=True)
    assert 'id="pt-flags-title"' not in html


@pytest.mark.parametrize("role", ["monitor", "data_manager"])
def test_contact_details_are_not_shown_without_permission(
    app, client, session, record, role
):
    _staff(client, session, role, record.study)
    response = client.get(_url(record))
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert EMAIL not in html
    assert "7700" not in html
    assert "Mobile phone" not in html
    assert "I felt worthless" in html  # answers are theirs to see


def test_site_limited_coordinator_gets_404_at_another_site(app, client, session):
    study = make_study(session, sites=[("01", "One"), ("02", "Two")])
    elsewhere = make_participant(session, study, site=study.sites[1])
    mine = make_participant(session, study, subject_id="LK-002")
    other_a = _assignment(session, elsewhere, "BL", "rand36")
    _staff(client, session, "coordinator", study, site=study.sites[0])
    assert client.get(_url(mine)).status_code == 200
    assert client.get(_url(elsewhere)).status_code == 404
    assert client.get(_url(elsewhere, "/edit")).status_code == 404
    token = csrf_from(client.get(_url(mine)).get_data(as_text=True))
    for url in (
        _url(elsewhere, "/withdraw"),
        f"/staff/s/TEST-1/assignments/{other_a.id}/not-done",
    ):
        response = client.post(
            url, data={"csrf_token": token, "withdraw-reason": "x y z"}
        )
        assert response.status_code == 404


def test_participant_of_another_study_is_not_found(app, client, session):
    study = make_study(session)
    other = make_study(session, code="TEST-2")
    theirs = make_participant(session, other)
    _staff(client, session, "coordinator", study)
    assert client.get(_url(theirs)).status_code == 404
