"""Every link a participant is given keeps working, over the days of a window.

A participant with an email address and a phone is enrolled into a window that
is already open and gets the link at the visit (QR); the reminder job sends the
invitation and a reminder by email (a real SMTP server) and SMS (the file
sender), and the coordinator sends one more reminder by hand. Days later every
one of those links still opens the questionnaires, for both link policies.
Replacing the link is the one thing that stops them, and it says so.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest
import time_machine
from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import sessionmaker

from pro_app.audit.models import AuditEvent
from pro_app.extensions import db
from pro_app.notify.models import Outbox, OutboxStatus
from pro_app.notify.senders import ChannelSender, FileSender
from pro_app.notify.services import plan_messages, send_due
from pro_app.participants.contact import set_contact
from pro_app.participants.models import AccessToken, LinkPurpose
from tests.conftest import csrf_from, database_app, file_database_url, login_staff
from tests.factories import make_participant, make_staff
from tests.web.notify.conftest import at_local, options, study_with

BASE = "https://pro.test"
DAY0 = date(2026, 3, 2)
TZ = "UTC"
EMAIL = "lk-001@example.org"
PHONE = "+15550100"
LINK = re.compile(re.escape(BASE) + r"/p/([A-Za-z0-9_-]{32,})")


@pytest.fixture
def app(_pg_schema: None, tmp_path: Path) -> Iterator[Flask]:
    with database_app(
        file_database_url(tmp_path),
        NOTIFY_BASE_URL=BASE,
        INSTANCE_PATH=str(tmp_path / "instance"),
    ) as app:
        yield app


def _send(app, session, sender, now: datetime) -> None:
    """What `flask notify send` does at ``now``: plan, then send what is due."""
    session.commit()
    with app.app_context():
        factory = sessionmaker(bind=db.engine)
        with factory() as s, s.begin():
            plan_messages(
                s, now, data_key=app.config["DATA_KEY"], channels=("email", "sms")
            )
        send_due(
            factory, sender, now, worker_id="job", batch_size=50, options=options(app)
        )


def _sms_links(folder: Path) -> dict[str, str]:
    """Each SMS file's link, by file name, oldest first."""
    found = {}
    for path in sorted(folder.glob("sms-*.txt"), key=lambda p: p.stat().st_mtime_ns):
        match = LINK.search(path.read_text(encoding="utf-8"))
        assert match, f"no link in {path.name}"
        found[path.name] = match.group(1)
    return found


def _email_links(inbox) -> list[tuple[str, str]]:
    found = []
    for arrived in inbox.messages:
        body = arrived.mail.get_body(("plain",)).get_content()
        match = LINK.search(body)
        assert match, "no link in the email"
        found.append((arrived.mail["Subject"], match.group(1)))
    return found


def _opens(app: Flask, token: str) -> bool:
    phone = app.test_client()  # a phone of its own, not the staff browser
    response = phone.get(f"/p/{token}")
    return response.status_code == 302 and response.headers["Location"] == "/home"


def _participant_page(client, participant) -> str:
    page = client.get(f"/staff/s/TEST-1/participants/{participant.id}")
    assert page.status_code == 200
    return page.get_data(as_text=True)


def _handover(client, participant) -> tuple[str, str]:
    """Press "Show the link and QR code"; return the shown page's URL and link."""
    csrf = csrf_from(_participant_page(client, participant))
    posted = client.post(
        f"/staff/s/TEST-1/participants/{participant.id}/link",
        data={"csrf_token": csrf},
    )
    assert posted.status_code == 302  # post/redirect/get
    shown = client.get(posted.headers["Location"])
    assert shown.status_code == 200
    match = LINK.search(shown.get_data(as_text=True))
    assert match, "the handover page shows no link"
    return posted.headers["Location"], match.group(1)


@pytest.mark.parametrize("policy", ["long_lived", "per_message"])
def test_every_link_given_out_still_opens_days_later(
    app, client, session, smtp, tmp_path, policy
):
    inbox, email_sender = smtp
    sms_folder = tmp_path / "sms"
    sender = ChannelSender({"email": email_sender, "sms": FileSender(sms_folder)})
    study = study_with(session, link_policy=policy)
    coordinator = make_staff(session, "coordinator", study)
    # Enrolled on day 1 of a window that opened at midnight.
    enrolled = at_local(DAY0 + timedelta(days=1), 10, TZ)
    with time_machine.travel(enrolled, tick=False):
        participant = make_participant(
            session, study, subject_id="LK-001", day0=DAY0, timezone=TZ
        )
        set_contact(
            session,
            participant,
            email=EMAIL,
            phone=PHONE,
            data_key=app.config["DATA_KEY"],
            actor="system:test",
        )
        session.commit()
        assert login_staff(client, coordinator.email).status_code == 302
        shown_url, handed_over = _handover(client, participant)
        # Reloading the page the QR is on issues nothing and shows nothing.
        issued = session.query(AccessToken).count()
        reloaded = client.get(shown_url).get_data(as_text=True)
        assert "already shown" in reloaded
        assert not LINK.search(reloaded)
        session.expire_all()
        assert session.query(AccessToken).count() == issued

    # Minutes later the reminder job runs: the first message is the invitation.
    _send(app, session, sender, enrolled + timedelta(minutes=5))
    (invitation_email,) = _email_links(inbox)
    assert invitation_email[0].startswith("You have a questionnaire")
    (invitation_sms,) = _sms_links(sms_folder).values()
    # The email and the SMS of one message carry one link.
    assert invitation_sms == invitation_email[1]

    # Day 3: the planned reminder, by email and SMS.
    _send(app, session, sender, at_local(DAY0 + timedelta(days=3), 9, TZ))
    emails = _email_links(inbox)
    assert [subject.split(":")[0] for subject, _ in emails] == [
        "You have a questionnaire to complete for your study",
        "Reminder",
    ]
    sms = list(_sms_links(sms_folder).values())
    assert len(sms) == 2

    # Day 4: the coordinator sends one more, by hand.
    remind_at = at_local(DAY0 + timedelta(days=4), 12, TZ)
    with time_machine.travel(remind_at, tick=False):
        # Days later: a new staff session (the last one timed out).
        assert login_staff(client, coordinator.email).status_code == 302
        csrf = csrf_from(_participant_page(client, participant))
        queued = client.post(
            f"/staff/s/TEST-1/participants/{participant.id}/remind",
            data={"csrf_token": csrf},
        )
        assert queued.status_code == 302
    _send(app, session, sender, remind_at + timedelta(minutes=1))
    emails = _email_links(inbox)
    sms = list(_sms_links(sms_folder).values())
    assert len(emails) == len(sms) == 3

    given_out = [handed_over, *(link for _, link in emails), *sms]
    if policy == "long_lived":
        # One personal link, in the handover and in every message.
        assert set(given_out) == {handed_over}
    else:
        # One link per message (shared by its email and SMS), one for the visit.
        assert len(set(given_out)) == 4
        assert [link for _, link in emails] == sms

    # Day 5: every link given out opens the questionnaires.
    with time_machine.travel(at_local(DAY0 + timedelta(days=5), 18, TZ), tick=False):
        assert all(_opens(app, token) for token in given_out)
        assert login_staff(client, coordinator.email).status_code == 302
        session.expire_all()
        sent = session.scalars(
            select(Outbox).where(Outbox.status == OutboxStatus.SENT)
        ).all()
        assert all(row.access_token_id is not None for row in sent)
        assert not any(
            t.revoked_at is not None for t in session.scalars(select(AccessToken))
        )

        # Replacing the link is an explicit act with a reason; it says what stops.
        page = _participant_page(client, participant)
        assert "Replace the link" in page
        refused = client.post(
            f"/staff/s/TEST-1/participants/{participant.id}/link/replace",
            data={"csrf_token": csrf_from(page), "replace-reason": ""},
        )
        assert refused.status_code == 302
        assert all(_opens(app, token) for token in given_out)
        replaced = client.post(
            f"/staff/s/TEST-1/participants/{participant.id}/link/replace",
            data={"csrf_token": csrf_from(page), "replace-reason": "forwarded"},
        )
        assert replaced.status_code == 302
        shown = client.get(replaced.headers["Location"]).get_data(as_text=True)
        assert "stopped working" in shown
        new = LINK.search(shown).group(1)
        assert _opens(app, new)
        assert not any(_opens(app, token) for token in set(given_out))
        session.expire_all()
        (event,) = session.scalars(
            select(AuditEvent).where(AuditEvent.action == "link.replace")
        ).all()
        assert event.reason == "forwarded"
        assert event.actor == f"staff:{coordinator.id}"
        assert len(event.old_value["access_token_ids"]) == len(set(given_out))
        purpose = session.scalar(
            select(AccessToken.purpose).where(
                AccessToken.id == event.new_value["access_token_id"]
            )
        )
        assert purpose == (
            LinkPurpose.PERSONAL if policy == "long_lived" else LinkPurpose.HANDOVER
        )
