"""Account administration, study teams, the users command, identity separation."""

from __future__ import annotations

from sqlalchemy import select

from pro_app.audit.models import AuditEvent
from pro_app.auth.models import Role, StaffUser, StudyRole
from tests.conftest import csrf_from, login_staff
from tests.factories import make_link, make_participant, make_staff, make_study


def _post(client, url, page_url, data):
    page = client.get(page_url).get_data(as_text=True)
    return client.post(url, data={"csrf_token": csrf_from(page), **data})


def test_admin_creates_an_account_that_must_change_its_password(client, session):
    admin = make_staff(session, None, is_admin=True)
    login_staff(client, admin.email)
    response = _post(
        client,
        "/staff/users",
        "/staff/users",
        {"email": "New@X.test", "name": "New Person", "password": "temporary pass 1"},
    )
    assert response.status_code == 302
    session.expire_all()
    user = session.scalar(select(StaffUser).where(StaffUser.email == "new@x.test"))
    assert user.must_change_password
    duplicate = _post(
        client,
        "/staff/users",
        "/staff/users",
        {"email": "new@x.test", "name": "Again", "password": "temporary pass 1"},
    )
    assert duplicate.status_code == 400
    assert "already exists" in duplicate.get_data(as_text=True)


def test_admin_grants_and_revokes_roles_with_reason_audited(client, session):
    study = make_study(session)
    admin = make_staff(session, None, is_admin=True)
    user = make_staff(session, None)
    login_staff(client, admin.email)
    page = f"/staff/users/{user.id}"
    granted = _post(
        client,
        f"/staff/users/{user.id}/roles",
        page,
        {"grant-study": "TEST-1", "grant-role": "monitor", "grant-site": "01"},
    )
    assert granted.status_code == 302
    session.expire_all()
    grant = session.scalars(select(StudyRole).where(StudyRole.user_id == user.id)).one()
    assert grant.role is Role.MONITOR
    assert grant.site.code == "01"
    assert grant.study_id == study.id
    no_reason = _post(
        client, f"/staff/users/{user.id}/roles/{grant.id}/revoke", page, {}
    )
    assert no_reason.status_code == 400
    revoked = _post(
        client,
        f"/staff/users/{user.id}/roles/{grant.id}/revoke",
        page,
        {"state-reason": "left the study"},
    )
    assert revoked.status_code == 302
    events = session.scalars(
        select(AuditEvent).where(AuditEvent.action.in_(["role.grant", "role.revoke"]))
    ).all()
    assert [e.action for e in events] == ["role.grant", "role.revoke"]
    assert events[1].reason == "left the study"
    assert events[1].old_value == {"role": "monitor", "site": "01"}


def test_admin_reset_and_disable(app, client, session):
    admin = make_staff(session, None, is_admin=True)
    user = make_staff(session, "coordinator", make_study(session))
    victim = app.test_client()
    login_staff(victim, user.email)
    login_staff(client, admin.email)
    page = f"/staff/users/{user.id}"
    reset = _post(
        client,
        f"/staff/users/{user.id}/reset",
        page,
        {"reset-password": "temporary pass 22", "reset-reason": "forgotten"},
    )
    assert reset.status_code == 302
    assert victim.get("/staff/account").status_code == 302
    disable = _post(
        client, f"/staff/users/{user.id}/state", page, {"state-reason": "left"}
    )
    assert disable.status_code == 302
    assert login_staff(victim, user.email, "temporary pass 22").status_code == 401
    own = _post(
        client,
        f"/staff/users/{admin.id}/state",
        f"/staff/users/{admin.id}",
        {"state-reason": "oops"},
    )
    assert own.status_code == 400


def test_accounts_pages_are_for_administrators_only(client, session):
    user = make_staff(session, "admin", make_study(session))
    login_staff(client, user.email)
    assert client.get("/staff/users").status_code == 403
    assert client.get(f"/staff/users/{user.id}").status_code == 403


def test_study_admin_manages_the_team(client, session):
    study = make_study(session)
    lead = make_staff(session, "admin", study)
    colleague = make_staff(session, None, email="colleague@x.test")
    login_staff(client, lead.email)
    team = "/staff/s/TEST-1/team"
    unknown = _post(
        client, team, team, {"grant-email": "ghost@x.test", "grant-role": "monitor"}
    )
    assert unknown.status_code == 400
    added = _post(
        client,
        team,
        team,
        {"grant-email": "colleague@x.test", "grant-role": "data_manager"},
    )
    assert added.status_code == 302
    page = client.get(team).get_data(as_text=True)
    assert "colleague@x.test" in page
    own = session.scalar(select(StudyRole).where(StudyRole.user_id == lead.id))
    refused = _post(
        client, f"{team}/{own.id}/revoke", team, {"revoke-reason": "testing"}
    )
    assert refused.status_code == 400
    grant = session.scalar(select(StudyRole).where(StudyRole.user_id == colleague.id))
    other = make_study(session, code="OTHER", sites=[("09", "Elsewhere")])
    foreign = make_staff(session, "monitor", other)
    foreign_grant = session.scalar(
        select(StudyRole).where(StudyRole.user_id == foreign.id)
    )
    # A grant of another study is not reachable through this study's URL.
    assert (
        _post(
            client,
            f"{team}/{foreign_grant.id}/revoke",
            team,
            {"revoke-reason": "x y z"},
        ).status_code
        == 404
    )
    assert (
        _post(
            client, f"{team}/{grant.id}/revoke", team, {"revoke-reason": "done"}
        ).status_code
        == 302
    )


def test_a_participant_session_never_reaches_staff_pages(client, session):
    participant = make_participant(session)
    token = make_link(session, participant)
    assert client.get(f"/p/{token}").status_code == 302
    assert client.get("/home").status_code == 200
    for url in ("/staff/", "/staff/account", "/staff/s/TEST-1/", "/staff/users"):
        response = client.get(url)
        assert response.status_code == 302, url
        assert "/staff/login" in response.headers["Location"]


def test_a_staff_session_never_reaches_participant_pages(client, session):
    study = make_study(session)
    make_participant(session, study)
    user = make_staff(session, "admin", study)
    login_staff(client, user.email)
    assert client.get("/staff/account").status_code == 200
    assert client.get("/home").status_code == 401


def test_signing_in_as_staff_ends_a_participant_login_in_that_browser(client, session):
    study = make_study(session)
    participant = make_participant(session, study)
    client.get(f"/p/{make_link(session, participant)}")
    assert client.get("/home").status_code == 200
    login_staff(client, make_staff(session, "coordinator", study).email)
    assert client.get("/home").status_code == 401


def test_users_cli(app, session):
    study = make_study(session)
    session.commit()
    runner = app.test_cli_runner()
    created = runner.invoke(
        args=["users", "create", "cli@x.test", "--name", "Cli User"],
        input="a long enough password\na long enough password\n",
    )
    assert created.exit_code == 0, created.output
    assert "a long enough password" not in created.output.replace("Password", "")
    granted = runner.invoke(args=["users", "grant", "cli@x.test", "TEST-1", "monitor"])
    assert granted.exit_code == 0, granted.output
    listed = runner.invoke(args=["users", "list"])
    assert "cli@x.test" in listed.output
    assert "TEST-1:monitor" in listed.output
    short = runner.invoke(
        args=["users", "create", "short@x.test", "--name", "S"], input="short\nshort\n"
    )
    assert short.exit_code != 0
    assert "at least 12 characters" in short.output
    missing = runner.invoke(args=["users", "grant", "cli@x.test", "NOPE", "monitor"])
    assert missing.exit_code != 0
    disabled = runner.invoke(
        args=["users", "disable", "cli@x.test", "--reason", "left"]
    )
    assert disabled.exit_code == 0
    session.expire_all()
    user = session.scalar(select(StaffUser).where(StaffUser.email == "cli@x.test"))
    assert not user.active
    assert study.id == user.roles[0].study_id
