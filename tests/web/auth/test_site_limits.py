"""Site limits as staff live them: an administrator of one site, a monitor of
every site who coordinates one, a data manager at one site.

The first two tests are the escalation and the lock leak that were found by
probing: a site-01 administrator granting an all-sites role, and the locks
page listing other sites' locks.
"""

from __future__ import annotations

import io
import zipfile

from sqlalchemy import select

from pro_app.audit.models import AuditEvent
from pro_app.auth.models import Role, StudyRole
from tests.conftest import csrf_from, login_staff
from tests.web import site_world
from tests.web.site_world import OWN


def _account(session, world, grants, email):
    return site_world.account(session, world, tuple(grants), email=email)


def _post(client, page_url, url, data):
    token = csrf_from(client.get(page_url).get_data(as_text=True))
    return client.post(url, data={"csrf_token": token, **data})


def _events(session, action):
    session.expire_all()
    return session.scalars(select(AuditEvent).where(AuditEvent.action == action)).all()


def _export_text(client) -> str:
    token = csrf_from(client.get(f"/staff/s/{OWN}/export").get_data(as_text=True))
    response = client.post(
        f"/staff/s/{OWN}/export",
        data={"csrf_token": token, "formats": ["csv-long", "scores", "odm"]},
    )
    assert response.status_code == 200
    with zipfile.ZipFile(io.BytesIO(response.get_data())) as archive:
        return "".join(
            archive.read(n).decode("utf-8", "replace") for n in archive.namelist()
        )


def test_a_site_limited_administrator_cannot_grant_an_all_sites_role(
    app, client, session
):
    world = site_world.build_world(session, app)
    admin = _account(session, world, [(Role.ADMIN, "01")], "site01.admin@x.test")
    second = _account(session, world, [(Role.MONITOR, "01")], "second@x.test")
    south = world.sites["02"]
    grants_before = session.scalars(select(StudyRole.id)).all()
    login_staff(client, admin.email)

    team = f"/staff/s/{OWN}/team"
    page = client.get(team).get_data(as_text=True)
    # Only what may be given is offered: no "All sites", no administrator role.
    assert 'value="">All sites' not in page
    assert 'value="admin"' not in page
    assert 'value="02"' not in page
    for role in ("admin", "monitor", "data_manager"):
        refused = _post(
            client,
            team,
            team,
            {"grant-email": second.email, "grant-role": role, "grant-site": ""},
        )
        assert refused.status_code == 403
        assert "Nothing was changed" in refused.get_data(as_text=True)
    at_south = _post(
        client,
        team,
        team,
        {"grant-email": second.email, "grant-role": "monitor", "grant-site": "02"},
    )
    assert at_south.status_code == 403
    session.expire_all()
    assert session.scalars(select(StudyRole.id)).all() == grants_before
    refusals = _events(session, "role.grant_refused")
    assert len(refusals) == 4
    assert refusals[0].new_value == {
        "operation": "grant",
        "role": "admin",
        "site": None,
    }
    assert refusals[0].actor == f"staff:{admin.id}"

    # What they hold they may still give: a coordinator at their own site.
    ok = _post(
        client,
        team,
        team,
        {"grant-email": second.email, "grant-role": "coordinator", "grant-site": "01"},
    )
    assert ok.status_code == 302

    # The second account still reaches nothing of site 02, anywhere.
    client.post(
        "/staff/logout",
        data={"csrf_token": csrf_from(client.get(team).get_data(as_text=True))},
    )
    login_staff(client, second.email)
    dashboard = client.get(f"/staff/s/{OWN}/").get_data(as_text=True)
    assert world.sites["01"].subject in dashboard
    assert south.subject not in dashboard
    url = f"/staff/s/{OWN}/participants/{south.participant_id}"
    assert client.get(url).status_code == 404
    assert south.subject not in client.get(f"/staff/s/{OWN}/audit.csv").get_data(
        as_text=True
    )


def test_a_site_limited_administrator_cannot_revoke_at_other_sites(
    app, client, session
):
    world = site_world.build_world(session, app)
    admin = _account(session, world, [(Role.ADMIN, "01")], "site01.admin@x.test")
    login_staff(client, admin.email)
    team = f"/staff/s/{OWN}/team"
    page = client.get(team).get_data(as_text=True)
    # Site 02's team is not listed; the all-sites monitor is, without a remove button.
    assert "Monitor South" not in page
    assert "Admin South" not in page
    assert "Monitor Everywhere" in page
    for grant_id in (
        world.sites["02"].grant_ids["monitor"],
        world.sites["01"].grant_ids["monitor_all"],
        world.sites["01"].grant_ids["admin"],
    ):
        response = _post(
            client, team, f"{team}/{grant_id}/revoke", {"revoke-reason": "cleanup"}
        )
        assert response.status_code == 403
        session.expire_all()
        assert session.get(StudyRole, grant_id) is not None
    assert [
        e.new_value["operation"] for e in _events(session, "role.grant_refused")
    ] == ["revoke"] * 3
    north_monitor = world.sites["01"].grant_ids["monitor"]
    response = _post(
        client, team, f"{team}/{north_monitor}/revoke", {"revoke-reason": "left"}
    )
    assert response.status_code == 302
    session.expire_all()
    assert session.get(StudyRole, north_monitor) is None


def test_the_locks_page_shows_only_the_viewers_sites(app, client, session):
    world = site_world.build_world(session, app)
    for role in (Role.DATA_MANAGER, Role.ADMIN):
        user = _account(session, world, [(role, "01")], f"{role.value}.site01@x.test")
        login_staff(client, user.email)
        page = client.get(f"/staff/s/{OWN}/locks").get_data(as_text=True)
        assert world.sites["01"].lock_reason in page
        assert world.sites["02"].lock_reason not in page
        assert world.sites["02"].subject not in page
        token = csrf_from(page)
        client.post("/staff/logout", data={"csrf_token": token})


def test_an_all_sites_monitor_who_coordinates_one_site_coordinates_only_there(
    app, client, session
):
    world = site_world.build_world(session, app)
    user = _account(
        session,
        world,
        [(Role.MONITOR, None), (Role.COORDINATOR, "01")],
        "monitor.coordinator@x.test",
    )
    login_staff(client, user.email)
    north, south = world.sites["01"], world.sites["02"]

    # Monitor everywhere: both participants, both audit trails.
    south_page = client.get(f"/staff/s/{OWN}/participants/{south.participant_id}")
    assert south_page.status_code == 200
    text = south_page.get_data(as_text=True)
    # ...but contact details and coordinator actions only at site 01.
    assert "lk-021@example.org" not in text
    assert "Edit details" not in text
    north_text = client.get(
        f"/staff/s/{OWN}/participants/{north.participant_id}"
    ).get_data(as_text=True)
    assert "lk-011@example.org" in north_text
    assert "Edit details" in north_text
    assert south.subject in client.get(f"/staff/s/{OWN}/audit.csv").get_data(
        as_text=True
    )

    base = f"/staff/s/{OWN}/participants"
    for tail in ("/edit", ""):
        assert client.get(f"{base}/{south.participant_id}{tail}").status_code in (
            200 if tail == "" else 403,
        )
    before = site_world.fingerprint(session)
    page = f"{base}/{south.participant_id}"
    for tail, data in (
        ("/link", {}),
        ("/remind", {}),
        ("/withdraw", {"withdraw-reason": "moved away"}),
    ):
        assert _post(client, page, f"{page}{tail}", data).status_code == 403
    assert (
        site_world.changed_participants(before, site_world.fingerprint(session))
        == set()
    )
    # Enrolment offers site 01 only.
    enrol = client.get(f"{base}/new").get_data(as_text=True)
    assert f'value="{north.site_id}"' in enrol
    assert f'value="{south.site_id}"' not in enrol
    # And at site 01 the coordinator acts.
    north_page = f"{base}/{north.participant_id}"
    handed = _post(client, north_page, f"{north_page}/link", {})
    assert handed.status_code == 302  # to the page that shows the link once
    assert client.get(handed.headers["Location"]).status_code == 200


def test_an_account_administrator_cannot_remove_their_own_study_admin_role(
    app, client, session
):
    world = site_world.build_world(session, app)
    user = site_world.account(
        session, world, ((Role.ADMIN, None),), email="owner@x.test", is_admin=True
    )
    own = session.scalar(select(StudyRole).where(StudyRole.user_id == user.id))
    login_staff(client, user.email)
    page = f"/staff/users/{user.id}"
    response = _post(
        client, page, f"{page}/roles/{own.id}/revoke", {"state-reason": "cleanup"}
    )
    assert response.status_code == 400
    assert "own administrator role" in response.get_data(as_text=True)
    session.expire_all()
    assert session.get(StudyRole, own.id) is not None
