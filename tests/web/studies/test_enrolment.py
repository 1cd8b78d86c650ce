import json
from datetime import timedelta

import pytest
from sqlalchemy import select, text

from pro_app.audit.models import AuditEvent
from pro_app.participants.contact import Contact, contact_for, opt_out, set_contact
from pro_app.participants.links import redeem_link
from pro_app.participants.models import AccessToken, ParticipantStatus
from pro_app.studies.enrolment import (
    ScheduleError,
    change_timezone,
    mark_not_done,
    move_day0,
    withdraw,
)
from pro_app.studies.rules import AssignmentStatus as S
from tests.factories import make_link, make_participant, make_study

EMAIL = "lk001.private@example.org"
PHONE = "+972501234567"


def _by_key(participant):
    return {(a.timepoint.code, a.instrument_id): a for a in participant.assignments}


def _events(session, action):
    return session.scalars(
        select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)
    ).all()


def test_moving_day0_moves_every_assignment_not_started(session):
    p = make_participant(session)
    before = _by_key(p)
    before[("BL", "rand36")].status = S.IN_PROGRESS
    session.flush()
    kept = before[("BL", "rand36")].opens_at
    old = {key: a.opens_at for key, a in before.items()}

    changes = move_day0(session, p, p.day0 + timedelta(days=7), actor="staff:3",
                        reason="infusion rescheduled")  # fmt: skip

    assert len(changes) == 5  # six assignments, one already started
    after = _by_key(p)
    assert after[("BL", "rand36")].opens_at == kept
    for key, a in after.items():
        if key != ("BL", "rand36"):
            assert a.opens_at == old[key] + timedelta(days=7)
    moves = _events(session, "assignment.move")
    assert len(moves) == 5
    for e in moves:
        assert e.reason == "infusion rescheduled"
        assert e.actor == "staff:3"
        assert e.old_value["target_date"] != e.new_value["target_date"]
    (day0_event,) = _events(session, "participant.day0")
    assert day0_event.reason == "infusion rescheduled"


def test_a_schedule_change_needs_a_reason(session):
    p = make_participant(session)
    with pytest.raises(ScheduleError, match="reason"):
        move_day0(session, p, p.day0, actor="staff:3", reason="  ")


def test_changing_time_zone_replans_windows_in_the_new_zone(session):
    p = make_participant(session)
    w4 = _by_key(p)[("W4", "rand36")]
    utc_opens = w4.opens_at
    changes = change_timezone(session, p, "Asia/Jerusalem", actor="staff:3",
                              reason="moved to Israel")  # fmt: skip
    assert len(changes) == 6
    # Local midnight in Israel is 2 or 3 hours before UTC midnight.
    assert utc_opens - w4.opens_at in (timedelta(hours=2), timedelta(hours=3))
    with pytest.raises(ScheduleError, match="IANA"):
        change_timezone(session, p, "Mars/Base", actor="staff:3", reason="x")


def test_withdrawal_cancels_the_future_revokes_links_and_keeps_data(session):
    p = make_participant(session)
    token = make_link(session, p)
    assignments = _by_key(p)
    assignments[("BL", "rand36")].status = S.COMPLETED
    assignments[("BL", "promis29")].status = S.IN_PROGRESS
    session.flush()

    withdraw(session, p, actor="staff:3", reason="consent withdrawn")

    assert p.status is ParticipantStatus.WITHDRAWN
    statuses = {key: a.status for key, a in _by_key(p).items()}
    assert len(statuses) == 6  # nothing deleted
    assert statuses.pop(("BL", "rand36")) is S.COMPLETED
    assert statuses.pop(("BL", "promis29")) is S.IN_PROGRESS
    assert set(statuses.values()) == {S.CANCELLED}
    assert all(
        t.revoked_at is not None
        for t in session.scalars(
            select(AccessToken).where(AccessToken.participant_id == p.id)
        )
    )
    assert redeem_link(session, token, session_hours=1) is None
    assert len(_events(session, "assignment.cancel")) == 4
    (event,) = _events(session, "participant.withdraw")
    assert event.reason == "consent withdrawn"
    with pytest.raises(ScheduleError, match="not active"):
        withdraw(session, p, actor="staff:3", reason="again")


def test_mark_not_done_is_audited_with_its_reason(session):
    p = make_participant(session)
    a = _by_key(p)[("BL", "rand36")]
    mark_not_done(session, a, actor="staff:3", reason="too unwell to answer")
    assert a.status is S.NOT_DONE
    assert a.status_reason == "too unwell to answer"
    (event,) = _events(session, "assignment.not_done")
    assert event.reason == "too unwell to answer"
    assert event.old_value == {"status": "scheduled"}
    done = _by_key(p)[("BL", "promis29")]
    done.status = S.COMPLETED
    with pytest.raises(ScheduleError):
        mark_not_done(session, done, actor="staff:3", reason="x")


def test_contact_details_are_encrypted_at_rest_and_never_audited(app, session):
    key = app.config["DATA_KEY"]
    study = make_study(session)
    p = make_participant(session, study, email=EMAIL, phone=PHONE, data_key=key)
    session.commit()

    assert contact_for(session, p, key) == Contact(EMAIL, PHONE, False)
    raw = session.execute(
        text("SELECT email_enc, phone_enc FROM participant_contacts")
    ).one()
    for column in raw:
        assert EMAIL not in column
        assert PHONE not in column
        assert "example.org" not in column
    # Change the phone, then opt out: still no clear value anywhere in the trail.
    set_contact(session, p, email=EMAIL, phone="+441234", data_key=key, actor="s:1")
    opt_out(session, p, actor="participant:1", channel="sms")
    opt_out(session, p, actor="participant:1", channel="sms")  # harmless twice
    assert contact_for(session, p, key) == Contact(EMAIL, "+441234", True)
    dump = json.dumps(
        [
            [e.old_value, e.new_value, e.reason, e.entity_id]
            for e in session.scalars(select(AuditEvent))
        ]
    )
    for secret in (EMAIL, PHONE, "+441234", "example.org"):
        assert secret not in dump
    (change,) = [
        e.new_value for e in _events(session, "participant.contact")
        if e.actor == "s:1"
    ]  # fmt: skip
    assert change["changed"] == ["phone"]
    assert len(_events(session, "participant.opt_out")) == 1
    assert EMAIL not in repr(contact_for(session, p, key))


def test_no_contact_row_means_no_contact(app, session):
    p = make_participant(session)
    assert contact_for(session, p, app.config["DATA_KEY"]) == Contact(None, None, False)


def test_enrolling_with_contact_details_needs_the_data_key(session):
    with pytest.raises(ValueError, match="data key"):
        make_participant(session, email=EMAIL)
