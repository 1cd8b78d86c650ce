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


def rows_by_window(session):
    session.commit()
    return sorted(
        (r.kind, r.window_opens_at, r.status)
        for r in session.scalars(select(Outbox).order_by(Outbox.due_at))
    )


def invited_then_moved(app, session, sender, days):
    """Enrol, send the invitation on Day 0, move the window, re-plan."""
    participant = enrol_with_email(
        app, session, study_with(session), "LK-001", day0=DAY0, tz=TZ
    )
    run_job(app, session, sender, at_local(DAY0, 8, TZ))  # invitation sent
    old_open = participant.assignments[0].opens_at
    move(participant, days)
    session.flush()
    replan(
        session, participant.id, at_local(DAY0, 9, TZ), data_key=app.config["DATA_KEY"]
    )
    return participant, old_open


def test_replan_after_day0_moves_later_invites_again_for_the_new_window(
    app, session, smtp
):
    inbox, sender = smtp
    # The window now opens a week later (across DST).
    participant, old_open = invited_then_moved(app, session, sender, 7)
    new_open = DAY0 + timedelta(days=7)
    new_open_at = participant.assignments[0].opens_at
    assert rows_by_window(session) == sorted(
        [
            ("invitation", old_open, OutboxStatus.SENT),  # kept as history
            ("invitation", new_open_at, OutboxStatus.PENDING),
            ("reminder", new_open_at, OutboxStatus.PENDING),
            ("last_call", new_open_at, OutboxStatus.PENDING),
        ]
    )
    planned = {
        r.kind: r
        for r in session.scalars(
            select(Outbox).where(Outbox.window_opens_at == new_open_at)
        )
    }
    assert planned["invitation"].due_at == at_local(new_open, 8, TZ)
    assert planned["reminder"].due_at == at_local(new_open + timedelta(3), 8, TZ)
    assert planned["last_call"].due_at == at_local(new_open + timedelta(6), 8, TZ)
    # Nothing at the old window's reminder time; the new invitation on the day.
    assert run_job(app, session, sender, at_local(DAY0 + timedelta(3), 8, TZ)).sent == 0
    assert run_job(app, session, sender, at_local(new_open, 8, TZ)).sent == 1
    assert len(inbox.messages) == 2
    # Planning again (routine pass, then a second re-plan) adds nothing.
    run_job(app, session, sender, at_local(new_open, 9, TZ))
    replan(
        session,
        participant.id,
        at_local(new_open, 9, TZ),
        data_key=app.config["DATA_KEY"],
    )
    assert len(rows_by_window(session)) == 4
    assert len(inbox.messages) == 2


def test_replan_does_not_repeat_a_message_already_sent_inside_the_new_window(
    app, session, smtp
):
    inbox, sender = smtp
    # Opens a day earlier: the invitation sent on Day 0 still falls inside.
    invited_then_moved(app, session, sender, -1)
    kinds = [(kind, status) for kind, _opens, status in rows_by_window(session)]
    assert sorted(kinds) == sorted(
        [
            ("invitation", OutboxStatus.SENT),
            ("reminder", OutboxStatus.PENDING),
            ("last_call", OutboxStatus.PENDING),
        ]
    )
    assert run_job(app, session, sender, at_local(DAY0, 10, TZ)).sent == 0
    assert len(inbox.messages) == 1


def test_a_message_planned_for_a_window_that_moved_is_not_sent(app, session, smtp):
    inbox, sender = smtp
    participant = enrol_with_email(
        app, session, study_with(session), "LK-001", day0=DAY0, tz=TZ
    )
    run_job(app, session, sender, at_local(DAY0 - timedelta(days=1), 12, TZ))
    move(participant, -2)  # moved without a re-plan (e.g. a direct data fix)
    session.flush()
    outcome = run_job(app, session, sender, at_local(DAY0, 8, TZ))
    cancelled = session.scalars(
        select(Outbox).where(Outbox.status == OutboxStatus.CANCELLED)
    ).all()
    assert "window moved" in {r.last_error for r in cancelled}
    assert outcome.sent == 1  # the routine pass planned the moved window afresh


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
