""" "Send me a new link" from a dead link's page, to the contact on file.

As a participant lives it: the link in an old message has expired (or the
team replaced it); they open it days later, press the one button the page
offers, and a new link arrives by email from the reminder job (a real SMTP
server). The page answers the same whatever the link was, and queues nothing
for a link that was revoked (a lost phone) or a participant who left.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

import pytest
import time_machine
from flask import Flask
from sqlalchemy import select

from pro_app.notify.models import Outbox
from pro_app.participants import links
from pro_app.participants.models import AccessToken, ParticipantStatus
from tests.conftest import csrf_from, database_app, file_database_url
from tests.factories import make_link
from tests.web.notify.conftest import at_local, enrol_with_email, run_job, study_with

BASE = "https://pro.test"
DAY0 = date(2026, 3, 2)
TZ = "Europe/Madrid"
LINK = re.compile(re.escape(BASE) + r"/p/([A-Za-z0-9_-]{32,})")
REPLY = "a new link is on its way"


@pytest.fixture
def app(_pg_schema: None, tmp_path: Path) -> Iterator[Flask]:
    with database_app(
        file_database_url(tmp_path),
        NOTIFY_BASE_URL=BASE,
        NOTIFY_EMAIL_BACKEND="smtp",
        NOTIFY_SMS_BACKEND="none",
        LINK_RENEWAL_LIMIT="5 per hour",
    ) as app:
        yield app


def _ask(client, token: str) -> tuple[int, str]:
    """Open the dead link, press "Send me a new link"; return the reply."""
    page = client.get(f"/p/{token}")
    assert page.status_code == 404
    html = page.get_data(as_text=True)
    assert "Send me a new link" in html
    reply = client.post(
        "/p/new-link", data={"csrf_token": csrf_from(html), "token": token}
    )
    return reply.status_code, reply.get_data(as_text=True)


def _expired_link(session, participant) -> str:
    token = make_link(session, participant, days=1)
    row = session.scalar(
        select(AccessToken).where(AccessToken.participant_id == participant.id)
    )
    row.expires_at = at_local(DAY0, 9, TZ)
    session.commit()
    return token


def _rows(session) -> list[Outbox]:
    session.expire_all()
    return session.scalars(select(Outbox).where(Outbox.kind.like("new_link%"))).all()


def test_an_expired_link_brings_a_new_one_by_email(app, client, session, smtp):
    inbox, sender = smtp
    study = study_with(session, link_policy="long_lived")
    participant = enrol_with_email(app, session, study, "LK-001", day0=DAY0, tz=TZ)
    old = _expired_link(session, participant)
    # Day 2 of the window, 23:30 in Madrid: quiet hours, but it was asked for.
    asked = at_local(DAY0 + timedelta(days=2), 23, TZ, minute=30)
    with time_machine.travel(asked, tick=False):
        status, reply = _ask(client, old)
    assert status == 200
    assert REPLY in reply
    (row,) = _rows(session)
    assert row.due_at == asked
    stats = run_job(app, session, sender, asked + timedelta(minutes=1))
    assert stats.sent == 1
    (mail,) = [m.mail for m in inbox.to("lk-001@example.org")]
    assert mail["Subject"] == "Your new link to your study questionnaire"
    new = LINK.search(mail.get_body(("plain",)).get_content()).group(1)
    assert new != old
    with time_machine.travel(asked + timedelta(minutes=5), tick=False):
        opened = app.test_client().get(f"/p/{new}")
        assert opened.status_code == 302
        assert opened.headers["Location"] == "/home"
        assert app.test_client().get(f"/p/{old}").status_code == 404


def test_a_replaced_link_brings_the_current_one(app, client, session, smtp):
    inbox, sender = smtp
    study = study_with(session, link_policy="per_message")
    participant = enrol_with_email(app, session, study, "LK-001", day0=DAY0, tz=TZ)
    old = make_link(session, participant)
    links.replace(
        session,
        participant,
        data_key=app.config["DATA_KEY"],
        valid_days=30,
        actor="staff:1",
        reason="forwarded",
    )
    session.commit()
    noon = at_local(DAY0 + timedelta(days=1), 12, TZ)
    with time_machine.travel(noon, tick=False):
        assert _ask(client, old)[0] == 200
    assert run_job(app, session, sender, noon).sent == 1
    (mail,) = [m.mail for m in inbox.to("lk-001@example.org")]
    new = LINK.search(mail.get_body(("plain",)).get_content()).group(1)
    with time_machine.travel(noon + timedelta(minutes=2), tick=False):
        assert app.test_client().get(f"/p/{new}").status_code == 302


def test_the_reply_is_the_same_whatever_the_link_and_queues_only_for_its_holder(
    app, client, session
):
    study = study_with(session)
    active = enrol_with_email(app, session, study, "LK-001", day0=DAY0, tz=TZ)
    lost = enrol_with_email(app, session, study, "LK-002", day0=DAY0, tz=TZ)
    left = enrol_with_email(app, session, study, "LK-003", day0=DAY0, tz=TZ)
    expired = _expired_link(session, active)
    revoked = make_link(session, lost)
    links.revoke_links(session, lost, actor="staff:1", reason="phone lost")
    withdrawn = _expired_link(session, left)
    left.status = ParticipantStatus.WITHDRAWN
    session.commit()
    noon = at_local(DAY0 + timedelta(days=1), 12, TZ)
    replies = []
    with time_machine.travel(noon, tick=False):
        for token in ("nope" * 8, revoked, withdrawn, expired):
            replies.append(_ask(client, token))
    statuses = {status for status, _ in replies}
    bodies = {re.sub(r'value="[^"]+"', "", body) for _, body in replies}
    assert statuses == {200}
    assert len(bodies) == 1
    # Only the active participant's expired link queued a message.
    assert [row.participant_id for row in _rows(session)] == [active.id]


def test_one_new_link_a_day_and_a_limit_per_address(app, client, session):
    study = study_with(session)
    participant = enrol_with_email(app, session, study, "LK-001", day0=DAY0, tz=TZ)
    old = _expired_link(session, participant)
    day1 = at_local(DAY0 + timedelta(days=1), 12, TZ)
    with time_machine.travel(day1, tick=False):
        assert _ask(client, old)[0] == 200
        assert _ask(client, old)[0] == 200
    assert len(_rows(session)) == 1  # the second press queued nothing more
    with time_machine.travel(day1 + timedelta(days=1), tick=False):
        assert _ask(client, old)[0] == 200
        assert len(_rows(session)) == 2
        # The address's limit (5 an hour here) then answers 429.
        assert [_ask(client, old)[0] for _ in range(5)] == [200] * 4 + [429]
    assert len(_rows(session)) == 2


def test_a_tampered_request_is_refused_and_queues_nothing(app, client, session):
    study = study_with(session)
    participant = enrol_with_email(app, session, study, "LK-001", day0=DAY0, tz=TZ)
    old = _expired_link(session, participant)
    with time_machine.travel(at_local(DAY0 + timedelta(days=1), 12, TZ), tick=False):
        no_csrf = client.post("/p/new-link", data={"token": old})
        assert no_csrf.status_code == 400
        page = client.get(f"/p/{old}").get_data(as_text=True)
        too_long = client.post(
            "/p/new-link", data={"csrf_token": csrf_from(page), "token": "x" * 500}
        )
        assert too_long.status_code == 400
    assert _rows(session) == []


def test_the_team_sees_the_request_in_the_messages_table(app, client, session):
    from tests.conftest import login_staff
    from tests.factories import make_staff

    study = study_with(session)
    participant = enrol_with_email(app, session, study, "LK-001", day0=DAY0, tz=TZ)
    old = _expired_link(session, participant)
    coordinator = make_staff(session, "coordinator", study)
    session.commit()
    with time_machine.travel(at_local(DAY0 + timedelta(days=1), 12, TZ), tick=False):
        assert _ask(client, old)[0] == 200
        staff = app.test_client()
        assert login_staff(staff, coordinator.email).status_code == 302
        page = staff.get(f"/staff/s/TEST-1/participants/{participant.id}")
        html = page.get_data(as_text=True)
    assert "New link the participant asked for" in html
    assert "new_link_" not in html
