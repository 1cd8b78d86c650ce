from datetime import date, timedelta

from sqlalchemy import select

from pro_app.notify.models import Outbox, OutboxStatus
from pro_app.notify.services import cancel_pending, replan
from tests.web.notify.conftest import at_local, enrol_with_email, run_job, study_with

DAY0 = date(2026, 10, 19)
TZ = "Europe/London"


def rows(session):
    session.commit()
    return {r.kind: r for r in session.scalars(select(Outbox).order_by(Outbox.due_at))}


def move(participant, days):
    for a in participant.assignments:
        a.opens_at += timedelta(days=days)
        a.due_at += timedelta(days=days)
        a.closes_at += timedelta(days=days)


def test_planning_twice_queues_each_message_once(app, session, smtp):
    _, sender = smtp
    enrol_with_email(app, session, study_with(session), "LK-001", day0=DAY0, tz=TZ)
    before = at_local(DAY0 - timedelta(days=1), 12, TZ)
    run_job(app, session, sender, before)
    run_job(app, session, sender, before + timedelta(minutes=1))
    assert sorted(rows(session)) == ["invitation", "last_call", "reminder"]


def test_replan_after_day0_moves(app, session, smtp):
    inbox, sender = smtp
    participant = enrol_with_email(
        app, session, study_with(session), "LK-001", day0=DAY0, tz=TZ
    )
    run_job(app, session, sender, at_local(DAY0, 8, TZ))  # invitation sent
    move(participant, 7)  # the window now opens a week later (across DST)
    session.flush()
    replan(
        session, participant.id, at_local(DAY0, 9, TZ), data_key=app.config["DATA_KEY"]
    )
    planned = rows(session)
    assert planned["invitation"].status == OutboxStatus.SENT  # never sent twice
    new_open = DAY0 + timedelta(days=7)
    assert planned["reminder"].due_at == at_local(new_open + timedelta(3), 8, TZ)
    assert planned["last_call"].due_at == at_local(new_open + timedelta(6), 8, TZ)
    assert run_job(app, session, sender, at_local(DAY0 + timedelta(3), 8, TZ)).sent == 0
    assert len(inbox.messages) == 1


def test_cancel_pending_on_withdrawal(app, session, smtp):
    inbox, sender = smtp
    participant = enrol_with_email(
        app, session, study_with(session), "LK-001", day0=DAY0, tz=TZ
    )
    run_job(app, session, sender, at_local(DAY0, 8, TZ))
    assert cancel_pending(session, participant.id, reason="withdrawn") == 2
    assert {r.status for r in rows(session).values()} == {
        OutboxStatus.SENT,
        OutboxStatus.CANCELLED,
    }
    run_job(app, session, sender, at_local(DAY0 + timedelta(6), 12, TZ))
    assert len(inbox.messages) == 1
