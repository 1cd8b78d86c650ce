"""Staff sign-in: passwords, lockout, throttling, second factor, rotation."""

from __future__ import annotations

import pyotp
import pytest
import time_machine
from sqlalchemy import select

from pro_app.audit.models import AuditEvent
from pro_app.auth import services
from pro_app.auth.models import StaffSession
from pro_app.dbtypes import utcnow
from tests.conftest import csrf_from, database_app, login_staff
from tests.factories import STAFF_PASSWORD, make_staff, make_study


def _actions(session) -> list[str]:
    return list(session.scalars(select(AuditEvent.action).order_by(AuditEvent.id)))


def test_password_is_stored_as_argon2_and_login_starts_a_server_session(
    client, session
):
    user = make_staff(session, "coordinator", make_study(session))
    assert user.password_hash.startswith("$argon2id$")
    assert STAFF_PASSWORD not in user.password_hash
    response = login_staff(client, user.email)
    assert response.status_code == 302
    session.expire_all()
    rows = session.scalars(select(StaffSession)).all()
    assert len(rows) == 1
    assert rows[0].revoked_at is None
    assert "login.success" in _actions(session)
    assert client.get("/staff/s/TEST-1/team").status_code == 403  # signed in


def test_wrong_password_and_unknown_account_read_the_same(client, session):
    user = make_staff(session, "coordinator", make_study(session))
    wrong = login_staff(client, user.email, "not the password at all")
    unknown = login_staff(client, "nobody@x.test", "not the password at all")
    assert wrong.status_code == unknown.status_code == 401
    message = "The email address or password is not correct."
    assert message in wrong.get_data(as_text=True)
    assert message in unknown.get_data(as_text=True)
    assert _actions(session).count("login.failure") == 2


def test_repeated_failures_lock_the_account_and_say_so(client, session):
    user = make_staff(session, "coordinator", make_study(session))
    for _ in range(4):
        assert login_staff(client, user.email, "wrong password 123").status_code == 401
    fifth = login_staff(client, user.email, "wrong password 123")
    assert "locked" in fifth.get_data(as_text=True)
    # Even the right password is refused while locked.
    right = login_staff(client, user.email)
    assert right.status_code == 401
    assert "locked for 15 minutes" in right.get_data(as_text=True)
    session.expire_all()
    assert session.get(type(user), user.id).locked_until is not None
    # After the lockout the right password works again.
    with time_machine.travel(utcnow().timestamp() + 16 * 60, tick=False):
        assert login_staff(client, user.email).status_code == 302


def test_login_posts_are_throttled_per_address(session):
    with database_app(STAFF_LOGIN_LIMIT="3 per minute") as app:
        client = app.test_client()
        page = client.get("/staff/login").get_data(as_text=True)
        token = csrf_from(page)
        codes = [
            client.post(
                "/staff/login",
                data={"csrf_token": token, "email": "a@x.test", "password": "x"},
            ).status_code
            for _ in range(4)
        ]
    assert codes == [401, 401, 401, 429]


def test_session_id_rotates_and_old_cookie_is_dead_after_logout(client, session):
    user = make_staff(session, "coordinator", make_study(session))
    client.get("/staff/login")
    before = client.get_cookie("session").value
    login_staff(client, user.email)
    after = client.get_cookie("session").value
    assert before != after
    assert client.get("/staff/account").status_code == 200
    page = client.get("/staff/account").get_data(as_text=True)
    client.post("/staff/logout", data={"csrf_token": csrf_from(page)})
    # Replay the signed-in cookie: the server has ended that session.
    client.set_cookie("session", after)
    response = client.get("/staff/account")
    assert response.status_code == 302
    assert "/staff/login" in response.headers["Location"]


@pytest.mark.parametrize("action", ["reset", "disable"])
def test_reset_or_disable_ends_every_session(client, session, action):
    user = make_staff(session, "coordinator", make_study(session))
    login_staff(client, user.email)
    assert client.get("/staff/account").status_code == 200
    if action == "reset":
        services.reset_password(
            session, user, "a new temporary pass", actor="system:test", reason="lost"
        )
    else:
        services.set_disabled(session, user, True, actor="system:test", reason="left")
    response = client.get("/staff/account")
    assert response.status_code == 302
    if action == "disable":
        assert login_staff(client, user.email).status_code == 401


def test_idle_timeout_ends_the_session_and_tells_the_user(client, session):
    user = make_staff(session, "coordinator", make_study(session))
    login_staff(client, user.email)
    with time_machine.travel(utcnow().timestamp() + 10 * 60, tick=False):
        assert client.get("/staff/account").status_code == 200
    # 16 minutes after the last request: idle limit (15) passed.
    with time_machine.travel(utcnow().timestamp() + 26 * 60, tick=False):
        response = client.get("/staff/account", follow_redirects=True)
    assert "signed out after a period without activity" in response.get_data(
        as_text=True
    )
    session.expire_all()
    row = session.scalars(select(StaffSession)).one()
    assert row.end_reason == "idle"


def test_study_setting_shortens_the_idle_timeout(client, session):
    study = make_study(session)
    study.settings = {"staff_idle_minutes": 5}
    user = make_staff(session, "coordinator", study)
    login_staff(client, user.email)
    with time_machine.travel(utcnow().timestamp() + 6 * 60, tick=False):
        assert client.get("/staff/account").status_code == 302


def test_absolute_timeout(client, session):
    user = make_staff(session, "coordinator", make_study(session))
    login_staff(client, user.email)
    start = utcnow().timestamp()
    # Active every 10 minutes, yet the session ends after 12 hours.
    for minutes in range(10, 12 * 60, 10):
        with time_machine.travel(start + minutes * 60, tick=False):
            assert client.get("/staff/account").status_code == 200, minutes
    with time_machine.travel(start + 12 * 60 * 60 + 60, tick=False):
        response = client.get("/staff/account", follow_redirects=True)
    assert "Your session has ended" in response.get_data(as_text=True)


def test_second_factor(app, client, session):
    user = make_staff(session, "coordinator", make_study(session))
    login_staff(client, user.email)
    page = client.get("/staff/account/totp").get_data(as_text=True)
    assert "<svg" in page
    secret = page.split('class="secret">')[1].split("<")[0]
    bad = client.post(
        "/staff/account/totp", data={"csrf_token": csrf_from(page), "code": "000000"}
    )
    assert bad.status_code == 400
    code = pyotp.TOTP(secret).now()
    ok = client.post(
        "/staff/account/totp", data={"csrf_token": csrf_from(page), "code": code}
    )
    assert ok.status_code == 302
    session.expire_all()
    stored = session.get(type(user), user.id)
    assert stored.totp_enabled
    assert secret not in stored.totp_secret

    other = app.test_client()
    first = login_staff(other, user.email)
    assert first.status_code == 302
    assert "/staff/login/code" in first.headers["Location"]
    # Without the code nothing is reachable.
    assert other.get("/staff/account").status_code == 302
    form = other.get("/staff/login/code").get_data(as_text=True)
    # The code already used to enrol cannot be replayed.
    replay = other.post(
        "/staff/login/code", data={"csrf_token": csrf_from(form), "code": code}
    )
    assert replay.status_code == 401
    with time_machine.travel(utcnow().timestamp() + 31, tick=False):
        fresh = pyotp.TOTP(secret).now()
        done = other.post(
            "/staff/login/code", data={"csrf_token": csrf_from(form), "code": fresh}
        )
        assert done.status_code == 302
        assert other.get("/staff/account").status_code == 200


def test_pending_second_factor_expires(app, client, session):
    user = make_staff(session, "coordinator", make_study(session))
    secret = pyotp.random_base32()
    services.enable_totp(
        session, user, secret, pyotp.TOTP(secret).now(), data_key=app.config["DATA_KEY"]
    )
    login_staff(client, user.email)
    with time_machine.travel(utcnow().timestamp() + 301, tick=False):
        response = client.get("/staff/login/code")
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/staff/login")


def test_forced_password_change_after_reset(client, session):
    user = make_staff(session, "coordinator", make_study(session))
    services.reset_password(
        session, user, "temporary password 1", actor="system:test", reason="new"
    )
    response = login_staff(client, user.email, "temporary password 1")
    assert response.headers["Location"].endswith("/staff/account")
    # Any other page sends them back to change it first.
    assert client.get("/staff/").headers["Location"].endswith("/staff/account")
    page = client.get("/staff/account").get_data(as_text=True)
    changed = client.post(
        "/staff/account",
        data={
            "csrf_token": csrf_from(page),
            "pw-current": "temporary password 1",
            "pw-new": "my own long password",
            "pw-confirm": "my own long password",
        },
    )
    assert changed.status_code == 302
    assert client.get("/staff/", follow_redirects=False).status_code == 302  # one study
    assert client.get("/staff/s/TEST-1/", follow_redirects=False).status_code == 200


def test_password_change_checks_and_ends_other_sessions(app, client, session):
    user = make_staff(session, "coordinator", make_study(session))
    other = app.test_client()
    login_staff(other, user.email)
    login_staff(client, user.email)
    page = client.get("/staff/account").get_data(as_text=True)
    short = client.post(
        "/staff/account",
        data={
            "csrf_token": csrf_from(page),
            "pw-current": STAFF_PASSWORD,
            "pw-new": "short",
            "pw-confirm": "short",
        },
    )
    assert short.status_code == 400
    wrong = client.post(
        "/staff/account",
        data={
            "csrf_token": csrf_from(page),
            "pw-current": "not my password",
            "pw-new": "a brand new password",
            "pw-confirm": "a brand new password",
        },
    )
    assert "current password is not correct" in wrong.get_data(as_text=True)
    good = client.post(
        "/staff/account",
        data={
            "csrf_token": csrf_from(page),
            "pw-current": STAFF_PASSWORD,
            "pw-new": "a brand new password",
            "pw-confirm": "a brand new password",
        },
    )
    assert good.status_code == 302
    assert client.get("/staff/account").status_code == 200  # this one kept
    assert other.get("/staff/account").status_code == 302  # the other ended


def test_next_parameter_cannot_leave_the_staff_area(client, session):
    user = make_staff(session, "coordinator", make_study(session))
    page = client.get("/staff/login?next=https://evil.test/").get_data(as_text=True)
    response = client.post(
        "/staff/login?next=https://evil.test/",
        data={
            "csrf_token": csrf_from(page),
            "email": user.email,
            "password": STAFF_PASSWORD,
        },
    )
    assert "evil" not in response.headers["Location"]


def test_cookie_flags(session):
    with database_app(SESSION_COOKIE_SECURE=True) as app:
        client = app.test_client()
        response = client.get("/staff/login")  # the CSRF token opens a session
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie
    assert "Secure" in cookie
