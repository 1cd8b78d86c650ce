import re
from datetime import timedelta

from sqlalchemy import func, select

from pro_app.audit.models import AuditEvent
from pro_app.dbtypes import utcnow
from pro_app.participants import links
from pro_app.participants.crypto import generate_key
from pro_app.participants.models import (
    AccessToken,
    ParticipantSession,
    ParticipantStatus,
)
from pro_app.participants.services import hash_token
from pro_app.web import TokenMaskingFilter, mask_tokens
from tests.factories import make_link, make_participant


def test_link_logs_in_and_leaves_the_token_behind(client, session):
    participant = make_participant(session)
    token = make_link(session, participant)
    session.commit()
    response = client.get(f"/p/{token}")
    assert response.status_code == 302
    assert response.headers["Location"] == "/home"
    assert token not in response.headers["Location"]
    assert response.headers["Referrer-Policy"] == "no-referrer"
    home = client.get("/home")
    assert home.status_code == 200
    assert "Your questionnaires" in home.get_data(as_text=True)
    used = session.scalar(select(AccessToken))
    assert used.last_used_at is not None
    actions = session.scalars(select(AuditEvent.action)).all()
    assert "link.use" in actions


def test_only_the_hash_of_a_token_is_stored(session):
    participant = make_participant(session)
    token = make_link(session, participant)
    stored = session.scalar(select(AccessToken))
    assert stored.token_hash == hash_token(token)
    assert token not in stored.token_hash
    # At least 128 random bits: 24 bytes from secrets, url-safe encoded.
    assert len(token) >= 32


def _invalid_page(client, token):
    response = client.get(f"/p/{token}")
    body = response.get_data(as_text=True)
    # The page's form carries the dead token back and a CSRF token: mask both.
    body = body.replace(token, "TOKEN")
    body = re.sub(r'(name="csrf_token"[^>]*value=")[^"]+"', r"\1CSRF", body)
    return response.status_code, body


def test_unknown_expired_revoked_and_replaced_links_look_the_same(client, session):
    participant = make_participant(session)
    expired = make_link(session, participant, days=1)
    session.scalar(select(AccessToken)).expires_at = utcnow() - timedelta(seconds=1)
    session.commit()
    revoked = make_link(session, participant)
    links.revoke_links(session, participant, actor="staff:1", reason="phone lost")
    replaced = make_link(session, participant)
    links.replace(
        session,
        participant,
        data_key=generate_key(),
        valid_days=30,
        actor="staff:1",
        reason="forwarded",
    )
    session.commit()
    tokens = ("nope" * 8, expired, revoked, replaced)
    pages = [_invalid_page(client, t) for t in tokens]
    assert {status for status, _ in pages} == {404}
    bodies = {body for _, body in pages}
    assert len(bodies) == 1
    body = bodies.pop()
    assert "This link does not work" in body
    assert "contact your study team" in body
    assert session.scalar(select(func.count(ParticipantSession.id))) == 0


def test_withdrawn_participant_link_does_not_work(client, session):
    participant = make_participant(session)
    token = make_link(session, participant)
    participant.status = ParticipantStatus.WITHDRAWN
    session.commit()
    assert client.get(f"/p/{token}").status_code == 404


def test_repeated_failures_are_rate_limited_but_success_is_not(app, session):
    participant = make_participant(session)
    token = make_link(session, participant)
    session.commit()
    client = app.test_client()
    for _ in range(3):
        assert client.get(f"/p/{token}").status_code == 302
    statuses = [client.get(f"/p/bad{i:030d}").status_code for i in range(10)]
    assert statuses == [404] * 10
    limited = client.get("/p/" + "x" * 40)
    assert limited.status_code == 429
    assert "Too many attempts" in limited.get_data(as_text=True)
    # Another address is not affected.
    other = client.get("/p/" + "y" * 40, environ_overrides={"REMOTE_ADDR": "10.0.0.9"})
    assert other.status_code == 404


def test_a_valid_link_works_from_an_address_that_was_just_throttled(app, session):
    # Clinic Wi-Fi: a dozen dead links (old messages, a replaced QR) from one
    # address, then a participant at the same address opens a valid link.
    participant = make_participant(session)
    token = make_link(session, participant)
    session.commit()
    clinic = app.test_client()
    statuses = [clinic.get(f"/p/dead{i:030d}").status_code for i in range(12)]
    assert statuses == [404] * 10 + [429] * 2
    phone = app.test_client()
    opened = phone.get(f"/p/{token}")
    assert opened.status_code == 302
    assert phone.get(opened.headers["Location"]).status_code == 200
    # Failures from that address are still refused; the valid link opened again.
    assert clinic.get("/p/" + "z" * 40).status_code == 429
    assert clinic.get(f"/p/{token}").status_code == 302


def test_login_rotates_the_session_and_signout_ends_it_on_the_server(client, session):
    participant = make_participant(session)
    first, second = make_link(session, participant), None
    session.commit()
    client.get(f"/p/{first}")
    cookie_one = client.get_cookie("session").value
    second = make_link(session, participant)
    session.commit()
    client.get(f"/p/{second}")
    cookie_two = client.get_cookie("session").value
    assert cookie_one != cookie_two
    # Sign out, then replay the copy of the cookie taken before.
    page = client.get("/home").get_data(as_text=True)
    from tests.conftest import csrf_from

    client.post("/signout", data={"csrf_token": csrf_from(page)})
    client.set_cookie("session", cookie_two)
    replay = client.get("/home")
    assert replay.status_code == 401
    assert "open your personal link" in replay.get_data(as_text=True).lower()


def test_token_paths_are_masked_in_logs():
    line = '127.0.0.1 - - "GET /p/AbC-123_xyz HTTP/1.1" 302 -'
    assert mask_tokens(line) == '127.0.0.1 - - "GET /p/[redacted] HTTP/1.1" 302 -'
    import logging

    record = logging.LogRecord(
        "werkzeug",
        logging.INFO,
        __file__,
        1,
        '"%s %s" %s',
        ("GET", "/p/secret", 302),
        None,
    )
    TokenMaskingFilter().filter(record)
    assert "secret" not in record.getMessage()
    assert "/p/[redacted]" in record.getMessage()


def test_revoking_ends_the_link_and_every_open_session(client, session):
    from pro_app.participants.links import revoke_links

    participant = make_participant(session)
    token = make_link(session, participant)
    session.commit()
    assert client.get(f"/p/{token}").status_code == 302
    assert client.get("/home").status_code == 200
    assert revoke_links(session, participant, actor="staff:1") == 1
    session.commit()
    assert client.get("/home").status_code == 401
    assert client.get(f"/p/{token}").status_code == 404
    event = session.scalar(select(AuditEvent).where(AuditEvent.action == "link.revoke"))
    assert event.actor == "staff:1"
