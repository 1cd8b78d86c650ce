import re
from datetime import date, timedelta

from sqlalchemy import select

from pro_app.audit.models import AuditEvent
from pro_app.notify.models import Outbox, OutboxStatus
from pro_app.notify.senders import SendError
from pro_app.participants.contact import opt_out
from pro_app.participants.links import redeem_link
from pro_app.participants.models import ParticipantStatus
from pro_app.studies.rules import AssignmentStatus
from tests.web.notify.conftest import at_local, enrol_with_email, run_job, study_with

DAY0 = date(2026, 3, 2)  # a Monday; the window runs to the end of Sunday
TZ = "America/New_York"


def enrol(app, session, **kwargs):
    study = study_with(session)
    kwargs.setdefault("tz", TZ)
    return enrol_with_email(app, session, study, "LK-001", day0=DAY0, **kwargs)


def kinds(inbox, address="lk-001@example.org"):
    return [m.mail["Subject"] for m in inbox.to(address)]


def test_invitation_reminder_and_last_call_arrive_on_time(app, session, smtp):
    inbox, sender = smtp
    enrol(app, session)
    # Midnight local: the window is open but it is quiet time.
    assert run_job(app, session, sender, at_local(DAY0, 0, TZ)).sent == 0
    assert run_job(app, session, sender, at_local(DAY0, 7, TZ, 59)).sent == 0
    assert run_job(app, session, sender, at_local(DAY0, 8, TZ)).sent == 1
    assert run_job(app, session, sender, at_local(DAY0, 9, TZ)).sent == 0
    reminder_day = DAY0 + timedelta(days=3)
    assert run_job(app, session, sender, at_local(reminder_day, 8, TZ)).sent == 1
    last_day = DAY0 + timedelta(days=6)
    assert run_job(app, session, sender, at_local(last_day, 7, TZ)).sent == 0
    assert run_job(app, session, sender, at_local(last_day, 8, TZ)).sent == 1
    assert run_job(app, session, sender, at_local(last_day, 23, TZ)).sent == 0
    assert kinds(inbox) == [
        "You have a questionnaire to complete for your study",
        "Reminder: a questionnaire is waiting for you",
        "Last chance: your study questionnaire closes soon",
    ]
    sent_rows = session.scalars(select(Outbox).order_by(Outbox.due_at)).all()
    assert [r.sent_at for r in sent_rows] == [
        at_local(DAY0, 8, TZ),
        at_local(reminder_day, 8, TZ),
        at_local(last_day, 8, TZ),
    ]
    sent = session.scalars(select(AuditEvent).where(AuditEvent.action == "notify.sent"))
    trail = " ".join(str(e.new_value) for e in sent)
    assert trail.count("invitation") == 1
    assert "example.org" not in trail


def test_nothing_after_completion(app, session, smtp):
    inbox, sender = smtp
    participant = enrol(app, session)
    run_job(app, session, sender, at_local(DAY0, 8, TZ))
    for assignment in participant.assignments:
        assignment.status = AssignmentStatus.COMPLETED
    session.commit()
    stats = run_job(app, session, sender, at_local(DAY0 + timedelta(days=6), 12, TZ))
    assert (stats.sent, len(inbox.messages)) == (0, 1)
    rows = session.scalars(select(Outbox).order_by(Outbox.due_at)).all()
    assert [r.status for r in rows] == [
        OutboxStatus.SENT,
        OutboxStatus.CANCELLED,
        OutboxStatus.CANCELLED,
    ]


def test_nothing_to_withdrawn_or_opted_out(app, session, smtp):
    inbox, sender = smtp
    study = study_with(session)
    withdrawn = enrol_with_email(app, session, study, "LK-001", day0=DAY0, tz=TZ)
    opted = enrol_with_email(app, session, study, "LK-002", day0=DAY0, tz=TZ)
    stays = enrol_with_email(app, session, study, "LK-003", day0=DAY0, tz=TZ)
    run_job(app, session, sender, at_local(DAY0, 7, TZ))  # planned, not yet due
    withdrawn.status = ParticipantStatus.WITHDRAWN
    opt_out(session, opted, actor="system:test")
    assert run_job(app, session, sender, at_local(DAY0, 9, TZ)).cancelled == 2
    for day in (3, 6):
        run_job(app, session, sender, at_local(DAY0 + timedelta(days=day), 9, TZ))
    assert len(inbox.messages) == 3
    assert {r for m in inbox.messages for r in m.rcpt} == {"lk-003@example.org"}
    assert stays.id


def test_quiet_hours_follow_study_setting_and_local_zone(app, session, smtp):
    inbox, sender = smtp
    study = study_with(session, quiet_hours=["20:00", "09:30"])
    enrol_with_email(app, session, study, "LK-001", day0=DAY0, tz="Asia/Jerusalem")
    run_job(app, session, sender, at_local(DAY0, 9, "Asia/Jerusalem", 29))
    assert inbox.messages == []
    run_job(app, session, sender, at_local(DAY0, 9, "Asia/Jerusalem", 30))
    assert len(inbox.messages) == 1


def test_message_language_link_and_no_health_information(app, session, smtp):
    inbox, sender = smtp
    participant = enrol(app, session, language="he")
    run_job(app, session, sender, at_local(DAY0, 8, TZ))
    (arrived,) = inbox.messages
    mail = arrived.mail
    text = mail.get_body(("plain",)).get_content()
    html = mail.get_body(("html",)).get_content()
    assert '<html lang="he" dir="rtl">' in html
    whole = "\n".join([mail["Subject"], text, html]).lower()
    for secret in ("lymphoma", "car-t", "rand", "sf-36", "baseline", "promis"):
        assert secret not in whole
    assert "+1 555 0100" in text  # the study team contact
    assert "8 " in text
    assert "2026" in text
    token = re.search(r"https://pro\.test/p/([\w-]+)", text).group(1)
    assert token in html
    session.commit()
    assert (
        redeem_link(session, token, session_hours=1, now=at_local(DAY0, 9, TZ))
        is not None
    )
    assert participant.id


def test_failures_back_off_then_fail_without_personal_data(app, session, smtp):
    _, real = smtp

    class Broken:
        def send(self, message):
            raise SendError("smtp 451")

    enrol(app, session)
    now = at_local(DAY0, 8, TZ)
    stats = run_job(app, session, Broken(), now, max_attempts=2)
    assert stats.retried == 1
    row = session.scalars(select(Outbox).where(Outbox.kind == "invitation")).one()
    assert (row.status, row.attempts, row.last_error) == ("pending", 1, "smtp 451")
    assert row.next_attempt_at == now + timedelta(minutes=5)
    session.commit()
    assert run_job(app, session, Broken(), now + timedelta(minutes=4)).retried == 0
    later = now + timedelta(minutes=5)
    assert run_job(app, session, Broken(), later, max_attempts=2).failed == 1
    session.refresh(row)
    assert (row.status, row.attempts) == (OutboxStatus.FAILED, 2)
    assert run_job(app, session, real, later + timedelta(hours=1)).sent == 0


def test_cli_send_plans_and_sends_once(app, session, smtp):
    inbox, sender = smtp
    enrol(app, session)
    session.commit()
    app.config.update(
        NOTIFY_EMAIL_BACKEND="smtp", SMTP_HOST="127.0.0.1", SMTP_PORT=sender.port
    )
    runner = app.test_cli_runner()
    now = at_local(DAY0, 8, TZ).isoformat()
    first = runner.invoke(args=["notify", "send", "--now", now, "--batch", "10"])
    assert first.exit_code == 0, first.output
    assert "sent 1" in first.output
    again = runner.invoke(args=["notify", "send", "--now", now])
    assert "sent 0" in again.output
    assert len(inbox.messages) == 1


def test_after_an_outage_the_invitation_goes_and_the_overdue_reminder_not(
    app, session, smtp
):
    inbox, sender = smtp
    enrol(app, session)
    # The job did not run all week: invitation and reminder are both overdue.
    # The first message of a window is its invitation, however late; the
    # reminder that fell due before it went out has nothing left to say.
    stats = run_job(app, session, sender, at_local(DAY0 + timedelta(days=5), 10, TZ))
    assert (stats.sent, stats.cancelled) == (1, 1)
    assert kinds(inbox) == ["You have a questionnaire to complete for your study"]
    # The last call still follows the plan.
    stats = run_job(app, session, sender, at_local(DAY0 + timedelta(days=6), 10, TZ))
    assert stats.sent == 1
    assert kinds(inbox)[-1] == "Last chance: your study questionnaire closes soon"


def test_sms_to_a_file_with_a_long_lived_link(app, session, tmp_path):
    from pro_app.notify.senders import ChannelSender, FileSender
    from pro_app.participants.contact import set_contact
    from pro_app.participants.models import AccessToken

    study = study_with(session, link_policy="long_lived")
    participant = enrol_with_email(app, session, study, "LK-001", day0=DAY0, tz=TZ)
    set_contact(
        session,
        participant,
        email=None,
        phone="+15550123",
        data_key=app.config["DATA_KEY"],
        actor="system:test",
    )
    session.commit()
    sender = ChannelSender({"sms": FileSender(tmp_path / "outbox")})
    now = at_local(DAY0, 8, TZ)
    session.commit()
    with app.app_context():
        from sqlalchemy.orm import sessionmaker

        from pro_app.extensions import db
        from pro_app.notify.services import plan_messages, send_due
        from tests.web.notify.conftest import options

        factory = sessionmaker(bind=db.engine)
        with factory() as s, s.begin():
            plan_messages(s, now, data_key=app.config["DATA_KEY"], channels=["sms"])
        stats = send_due(
            factory, sender, now, worker_id="t", batch_size=10, options=options(app)
        )
    assert stats.sent == 1
    (sms,) = (tmp_path / "outbox").glob("sms-*.txt")
    body = sms.read_text()
    assert "+15550123" in body
    assert "https://pro.test/p/" in body
    assert "lymphoma" not in body.lower()
    token = session.scalars(select(AccessToken)).all()[-1]
    assert token.expires_at - now == timedelta(days=400)


def test_an_unexpected_error_is_kept_without_details_and_retried(app, session, smtp):
    class Buggy:
        def send(self, message):
            raise RuntimeError(f"cannot send to {message.to}")

    enrol(app, session)
    stats = run_job(app, session, Buggy(), at_local(DAY0, 8, TZ))
    assert stats.retried == 1
    row = session.scalars(select(Outbox).where(Outbox.kind == "invitation")).one()
    assert row.last_error == "error RuntimeError"
