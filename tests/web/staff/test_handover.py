"""Handing over the personal link at the visit; revoking it; a reminder now."""

from __future__ import annotations

import email
import email.policy
import re
from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

import pytest
import time_machine
from flask import Flask
from sqlalchemy import select

from pro_app.audit.models import AuditEvent
from pro_app.notify.models import Outbox, OutboxStatus
from pro_app.participants.contact import opt_out, set_contact
from pro_app.participants.models import AccessToken
from tests.conftest import csrf_from, database_app, file_database_url, login_staff
from tests.factories import make_link, make_participant, make_staff, make_study

BASE = "https://pro.test"
EMAIL = "lk001.private@example.org"
# Noon UTC: outside the default quiet hours (21:00-08:00) of a UTC participant.
NOON = datetime.combine(date.today(), time(12), UTC)


@pytest.fixture
def app(_pg_schema: None, tmp_path: Path) -> Iterator[Flask]:
    """A file database (the reminder job uses sessions of its own) and an
    instance folder of this test's own, where the file sender writes."""
    with database_app(
        file_database_url(tmp_path),
        NOTIFY_BASE_URL=BASE,
        NOTIFY_EMAIL_BACKEND="file",
        NOTIFY_SMS_BACKEND="none",
        INSTANCE_PATH=str(tmp_path / "instance"),
    ) as app:
        yield app


@pytest.fixture
def noon() -> Iterator[None]:
    with time_machine.travel(NOON, tick=False):
        yield


def _url(participant, tail: str = "") -> str:
    return f"/staff/s/TEST-1/participants/{participant.id}{tail}"


def _staff(client, session, role, study, **kw):
    user = make_staff(session, role, study, **kw)
    assert login_staff(client, user.email).status_code == 302
    return user


def _post(client, participant, tail: str, **data):
    page = client.get(_url(participant))
    assert page.status_code == 200
    data["csrf_token"] = csrf_from(page.get_data(as_text=True))
    return client.post(_url(participant, tail), data=data)


def _with_email(app, session, participant, address=EMAIL):
    set_contact(
        session,
        participant,
        email=address,
        phone=None,
        data_key=app.config["DATA_KEY"],
        actor="system:test",
    )


def _actions(session, action):
    return session.scalars(
        select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)
    ).all()


def _hand_over(client, participant):
    """Press the handover button; return the redirect target and the shown page."""
    response = _post(client, participant, "/link")
    assert response.status_code == 302  # post/redirect/get
    target = response.headers["Location"]
    assert re.fullmatch(_url(participant, r"/link/\d+"), target)
    return target, client.get(target)


def _link_on(html: str) -> str | None:
    match = re.search(re.escape(BASE) + r"/p/([A-Za-z0-9_-]{32,})", html)
    return match.group(1) if match else None


def test_handover_shows_the_link_once_with_a_qr_code_and_signs_the_participant_in(
    app, client, session
):
    study = make_study(session)
    participant = make_participant(session, study)
    user = _staff(client, session, "coordinator", study)
    target, response = _hand_over(client, participant)
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert response.headers["Cache-Control"] == "no-store"
    token = _link_on(html)
    assert token, "no personal link on the page"
    assert "<svg" in html
    assert 'aria-label="QR code of the personal link"' in html
    assert "camera" in html
    # A reload (or the back button) shows that it was shown, not the link again.
    again = client.get(target)
    assert again.status_code == 200
    assert _link_on(again.get_data(as_text=True)) is None
    assert "already shown" in again.get_data(as_text=True)
    # The participant's phone: another browser, not the staff member's.
    phone = app.test_client()
    opened = phone.get(f"/p/{token}")
    assert opened.status_code == 302
    assert opened.headers["Location"] == "/home"
    assert phone.get("/home").status_code == 200
    (issued,) = _actions(session, "link.issue")
    assert issued.actor == f"staff:{user.id}"
    assert token not in str(issued.new_value)
    assert [e.entity_id for e in _actions(session, "link.handover")] == [
        issued.entity_id
    ]


def test_long_lived_handover_shows_the_same_link_again_and_stops_nothing(
    app, client, session
):
    study = make_study(session)
    study.settings = {"link_policy": "long_lived"}
    participant = make_participant(session, study)
    earlier = make_link(session, participant)  # issued before link purposes
    _staff(client, session, "coordinator", study)
    first = _link_on(_hand_over(client, participant)[1].get_data(as_text=True))
    second = _link_on(_hand_over(client, participant)[1].get_data(as_text=True))
    assert first == second  # "Show the link again": the personal link
    for token in (earlier, first):
        assert app.test_client().get(f"/p/{token}").status_code == 302
    session.expire_all()
    assert session.query(AccessToken).count() == 2


def test_per_message_show_a_new_link_keeps_the_earlier_ones(app, client, session):
    study = make_study(session)
    study.settings = {"link_policy": "per_message"}
    participant = make_participant(session, study)
    _staff(client, session, "coordinator", study)
    target, shown = _hand_over(client, participant)
    first = _link_on(shown.get_data(as_text=True))
    reloaded = client.get(target).get_data(as_text=True)
    assert "Show a new link" in reloaded
    second = _link_on(_hand_over(client, participant)[1].get_data(as_text=True))
    assert first != second
    for token in (first, second):
        assert app.test_client().get(f"/p/{token}").status_code == 302
    session.expire_all()
    # A handover link is not kept once shown; only its hash identifies it.
    assert all(t.sealed is None for t in session.scalars(select(AccessToken)))


def test_replacing_needs_a_reason_names_what_stops_and_shows_the_new_link(
    app, client, session
):
    study = make_study(session)
    participant = make_participant(session, study)
    old = make_link(session, participant)
    phone = app.test_client()
    session.commit()
    assert phone.get(f"/p/{old}").status_code == 302
    _staff(client, session, "coordinator", study)
    page = client.get(_url(participant)).get_data(as_text=True)
    assert "These stop working at once" in page
    refused = _post(client, participant, "/link/replace", **{"replace-reason": ""})
    assert refused.status_code == 302
    assert "A reason is needed" in client.get(_url(participant)).get_data(as_text=True)
    assert app.test_client().get(f"/p/{old}").status_code == 302

    done = _post(
        client, participant, "/link/replace", **{"replace-reason": "sent to a relative"}
    )
    assert done.status_code == 302
    shown = client.get(done.headers["Location"]).get_data(as_text=True)
    assert "1 earlier link stopped working" in shown
    new = _link_on(shown)
    assert new
    assert new != old
    assert app.test_client().get(f"/p/{old}").status_code == 404
    assert phone.get("/home").status_code != 200  # its session ended too
    assert app.test_client().get(f"/p/{new}").status_code == 302
    (event,) = _actions(session, "link.replace")
    assert event.reason == "sent to a relative"
    session.expire_all()
    stopped = session.get(AccessToken, event.old_value["access_token_ids"][0])
    assert stopped.revoked_reason == "replaced"


def test_revoke_needs_a_reason_then_ends_links_and_sessions(app, client, session):
    study = make_study(session)
    participant = make_participant(session, study)
    token = make_link(session, participant)
    phone = app.test_client()
    session.commit()
    assert phone.get(f"/p/{token}").status_code == 302
    _staff(client, session, "coordinator", study)

    refused = _post(client, participant, "/link/revoke", **{"revoke-reason": ""})
    assert refused.status_code == 302
    assert "A reason is needed" in client.get(_url(participant)).get_data(as_text=True)
    assert phone.get("/home").status_code == 200  # still signed in

    done = _post(client, participant, "/link/revoke", **{"revoke-reason": "phone lost"})
    assert done.status_code == 302
    assert "Open sessions have ended" in client.get(_url(participant)).get_data(
        as_text=True
    )
    assert phone.get("/home").status_code != 200
    assert app.test_client().get(f"/p/{token}").status_code == 404
    session.expire_all()
    assert all(t.revoked_at for t in session.scalars(select(AccessToken)))
    (revoked,) = _actions(session, "link.revoke")
    assert revoked.reason == "phone lost"


def test_remind_now_queues_a_reminder_the_job_sends_once(
    app, client, session, noon, tmp_path
):
    study = make_study(session)
    participant = make_participant(session, study)
    _with_email(app, session, participant)
    _staff(client, session, "coordinator", study)

    response = _post(client, participant, "/remind")
    assert response.status_code == 302
    page = client.get(_url(participant)).get_data(as_text=True)
    assert "Reminder queued (email)" in page
    session.expire_all()
    rows = session.scalars(select(Outbox).order_by(Outbox.id)).all()
    (staff_row,) = [r for r in rows if r.kind.startswith("reminder_s")]
    assert staff_row.status is OutboxStatus.PENDING
    assert staff_row.due_at == NOON
    # The regular messages were planned too, so the routine pass cannot skip them.
    assert {r.kind for r in rows} >= {"invitation", "reminder_s1"}
    (event,) = _actions(session, "notify.remind_now")
    assert event.new_value["outbox_ids"] == [staff_row.id]

    # A second click while it waits queues nothing more.
    _post(client, participant, "/remind")
    assert "already waiting" in client.get(_url(participant)).get_data(as_text=True)

    session.commit()
    result = app.test_cli_runner().invoke(
        args=["notify", "send", "--now", NOON.isoformat()]
    )
    assert result.exit_code == 0, result.output
    # The invitation had not gone yet: it goes first, and it says what the
    # reminder would have said, so the participant gets one message, not two.
    assert "sent 1," in result.output
    session.expire_all()
    assert session.get(Outbox, staff_row.id).status is OutboxStatus.CANCELLED
    assert session.get(Outbox, staff_row.id).last_error == "superseded"
    (sent,) = (tmp_path / "instance" / "outbox").glob("email-*.eml")
    mail = email.message_from_bytes(sent.read_bytes(), policy=email.policy.default)
    assert mail["To"] == EMAIL
    assert mail["Subject"] == "You have a questionnaire to complete for your study"
    assert f"{BASE}/p/" in mail.get_body(("plain",)).get_content()

    # Once sent, the team may ask again: a new kind, so the outbox accepts it.
    _post(client, participant, "/remind")
    session.expire_all()
    kinds = session.scalars(select(Outbox.kind).where(Outbox.kind.like("reminder_s%")))
    assert sorted(kinds) == ["reminder_s1", "reminder_s2"]


def test_remind_now_waits_for_the_end_of_quiet_hours(app, client, session):
    late = datetime.combine(date.today(), time(22), UTC)
    with time_machine.travel(late, tick=False):
        study = make_study(session)
        participant = make_participant(session, study)
        _with_email(app, session, participant)
        _staff(client, session, "coordinator", study)
        _post(client, participant, "/remind")
        page = client.get(_url(participant)).get_data(as_text=True)
    assert "It is quiet hours for the participant" in page
    # Their wall clock, labelled, with the month in letters, never 12/3/26.
    tomorrow = date.today() + timedelta(days=1)
    assert (
        f"{tomorrow:%b} {tomorrow.day}, {tomorrow.year}, 08:00 UTC their time" in page
    )
    assert not re.search(r"\b\d{1,2}/\d{1,2}/\d{2}\b", page)
    session.expire_all()
    row = session.scalar(select(Outbox).where(Outbox.kind == "reminder_s1"))
    assert row.due_at == datetime.combine(
        date.today() + timedelta(days=1), time(8), UTC
    )


@pytest.mark.parametrize(
    ("setup", "message"),
    [
        ("no_contact", "There is no email address or phone number"),
        ("opted_out", "asked not to receive messages"),
        ("nothing_open", "No questionnaire is open"),
    ],
)
def test_remind_now_says_why_nothing_was_queued(
    app, client, session, noon, setup, message
):
    study = make_study(session)
    day0 = date.today() + timedelta(days=60 if setup == "nothing_open" else 1)
    participant = make_participant(session, study, day0=day0)
    if setup != "no_contact":
        _with_email(app, session, participant)
    if setup == "opted_out":
        opt_out(session, participant, actor="participant:1", channel="email")
    _staff(client, session, "coordinator", study)
    _post(client, participant, "/remind")
    assert message in client.get(_url(participant)).get_data(as_text=True)
    session.expire_all()
    assert session.scalars(select(Outbox)).all() == []
    assert _actions(session, "notify.remind_now") == []


@pytest.mark.parametrize("role", ["monitor", "data_manager", "investigator"])
def test_handover_needs_its_permission(app, client, session, role):
    study = make_study(session)
    participant = make_participant(session, study)
    _staff(client, session, role, study)
    page = client.get(_url(participant))
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "Show the link and QR code" not in html
    assert "Replace the link" not in html
    token = csrf_from(html)
    for tail in ("/link", "/link/revoke", "/link/replace", "/remind"):
        response = client.post(
            _url(participant, tail),
            data={"csrf_token": token, "revoke-reason": "x", "replace-reason": "x"},
        )
        assert response.status_code == 403
    assert session.scalars(select(AccessToken)).all() == []


def test_site_limited_coordinator_cannot_hand_over_at_another_site(
    app, client, session
):
    study = make_study(session, sites=[("01", "One"), ("02", "Two")])
    elsewhere = make_participant(session, study, site=study.sites[1])
    mine = make_participant(session, study, subject_id="LK-002")
    _staff(client, session, "coordinator", study, site=study.sites[0])
    token = csrf_from(client.get(_url(mine)).get_data(as_text=True))
    response = client.post(_url(elsewhere, "/link"), data={"csrf_token": token})
    assert response.status_code == 404
    assert session.scalars(select(AccessToken)).all() == []


def test_the_handover_page_shows_only_a_link_handed_over(app, client, session):
    """A message's link, or a link no one handed over, is never shown by URL."""
    from pro_app.participants import links
    from pro_app.participants.models import LinkPurpose

    study = make_study(session)
    participant = make_participant(session, study)
    now = datetime.now(UTC)
    for purpose in (LinkPurpose.MESSAGE, LinkPurpose.PERSONAL):
        link = links.issue(
            session,
            participant,
            purpose=purpose,
            expires_at=now + timedelta(days=5),
            actor="system:notify",
            now=now,
            data_key=app.config["DATA_KEY"],
        )
        session.commit()
        _staff(client, session, "coordinator", study)
        page = client.get(_url(participant, f"/link/{link.token.id}"))
        assert page.status_code == 200
        assert link.raw not in page.get_data(as_text=True)
        assert _link_on(page.get_data(as_text=True)) is None
