"""Every staff route x every role x own study / other study: the expected status.

The expected status comes from the role table (``ROLE_PERMISSIONS``) and the
access each view declares with ``@requires``; the test walks the URL map, so
a new route is covered (or fails here) without anyone listing it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from pro_app.auth.access import PUBLIC, SIGNED_IN, SYSTEM_ADMIN
from pro_app.auth.models import Role, StudyRole
from pro_app.auth.permissions import ROLE_PERMISSIONS, Permission
from pro_app.studies.locks import lock
from pro_app.studies.models import Assignment, Study
from pro_app.web import current_catalog
from tests.conftest import csrf_from, login_staff
from tests.factories import (
    complete_assignment,
    make_participant,
    make_staff,
    make_study,
)

STAFF_BLUEPRINTS = ("staff", "auth")


def staff_endpoints(app: Flask) -> list[tuple[str, str, str]]:
    """(endpoint, rule, method) for every staff route."""
    found = []
    for rule in app.url_map.iter_rules():
        if rule.endpoint.split(".")[0] not in STAFF_BLUEPRINTS:
            continue
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            found.append((rule.endpoint, rule.rule, method))
    return found


def test_every_staff_route_declares_its_access(app):
    undeclared = [
        endpoint
        for endpoint, _rule, _method in staff_endpoints(app)
        if not hasattr(app.view_functions[endpoint], "required_access")
    ]
    assert undeclared == []
    assert len(staff_endpoints(app)) > 20


def test_no_route_outside_the_staff_area_is_a_staff_page(app):
    # Participant pages live in "surveys"; anything else must be public assets.
    others = {
        rule.endpoint.split(".")[0]
        for rule in app.url_map.iter_rules()
        if rule.endpoint.split(".")[0] not in STAFF_BLUEPRINTS
    }
    assert others <= {"surveys", "static"}


@dataclass
class StudyWorld:
    code: str
    ids: dict[str, int]


def _build_study(session, app, code: str, site: str, subject: str) -> StudyWorld:
    study = make_study(session, code=code, sites=[(site, f"Site {site}")])
    participant = make_participant(session, study, subject_id=subject)
    with app.app_context():
        catalog = current_catalog()
    assignment = session.scalars(
        select(Assignment)
        .where(Assignment.participant_id == participant.id)
        .order_by(Assignment.opens_at, Assignment.position)
    ).first()
    submission = complete_assignment(session, assignment, catalog)
    other_assignment = session.scalars(
        select(Assignment).where(
            Assignment.participant_id == participant.id,
            Assignment.id != assignment.id,
        )
    ).first()
    holder = make_staff(session, "monitor", study)
    grant = session.scalar(select(StudyRole).where(StudyRole.user_id == holder.id))
    data_lock = lock(
        session,
        study,
        participant=participant,
        timepoint=other_assignment.timepoint,
        actor="system:test",
        reason="matrix",
    )
    session.flush()
    return StudyWorld(
        code,
        {
            "participant_id": participant.id,
            "assignment_id": assignment.id,
            "submission_id": submission.id,
            "grant_id": grant.id,
            "lock_id": data_lock.id,
            "user_id": holder.id,
            # A handover page: "already shown" unless just handed over.
            "token_id": 1,
        },
    )


def _url(rule: str, code: str, ids: dict[str, int]) -> str:
    url = rule.replace("<study_code>", code)
    while "<" in url:
        start = url.index("<")
        end = url.index(">", start)
        name = url[start + 1 : end].split(":")[-1]
        assert name in ids, f"the matrix has no value for URL parameter {name!r}"
        url = url[:start] + str(ids[name]) + url[end + 1 :]
    return url


def _request(client, method: str, url: str, token: str) -> Any:
    if method == "GET":
        return client.get(url)
    return client.post(url, data={"csrf_token": token})


def _allowed(level: Any, role: Role | None, is_admin: bool) -> bool:
    if level == SIGNED_IN:
        return True
    if level == SYSTEM_ADMIN:
        return is_admin
    return role is not None and Permission(level) in ROLE_PERMISSIONS[role]


def _check(app, client, role, is_admin, own, other) -> list[str]:
    token = csrf_from(client.get("/staff/account").get_data(as_text=True))
    wrong: list[str] = []
    for endpoint, rule, method in staff_endpoints(app):
        level = app.view_functions[endpoint].required_access
        if level == PUBLIC:
            continue
        allowed = _allowed(level, role, is_admin)
        in_study = "<study_code>" in rule
        cases = [("own", _url(rule, own.code, own.ids))]
        if in_study:
            cases.append(("other", _url(rule, other.code, other.ids)))
            if "<int:" in rule:
                # Own study's code with ids typed from the other study.
                cases.append(("crossed", _url(rule, own.code, other.ids)))
        for case, url in cases:
            status = _request(client, method, url, token).status_code
            if status >= 500:
                wrong.append(f"{method} {url}: {status}")
            elif case == "other" and status != 404:
                wrong.append(f"{method} {url} (other study): {status}, expected 404")
            elif case == "crossed" and status != (
                404 if allowed or role is None else 403
            ):
                wrong.append(f"{method} {url} (crossed ids): {status}")
            elif case == "own" and not allowed:
                # No role in the study at all: the study does not exist for them.
                expected = 404 if in_study and role is None else 403
                if status != expected:
                    wrong.append(f"{method} {url}: {status}, expected {expected}")
            elif case == "own" and allowed and status in (401, 403, 404):
                wrong.append(f"{method} {url}: {status}, expected access")
    return wrong


@pytest.fixture
def world(app, session):
    own = _build_study(session, app, "OWN-1", "01", "LK-001")
    other = _build_study(session, app, "OTHER-1", "02", "ZZ-900")
    return own, other


@pytest.mark.parametrize("role", list(Role))
def test_permission_matrix(app, client, session, world, role):
    own, other = world
    study = session.scalar(select(Study).where(Study.code == own.code))
    user = make_staff(session, role, study)
    assert login_staff(client, user.email).status_code == 302
    assert _check(app, client, role, False, own, other) == []


def test_account_administrator_without_a_study_role(app, client, session, world):
    own, other = world
    admin = make_staff(session, None, is_admin=True)
    login_staff(client, admin.email)
    # Administering accounts gives no access to any study's data: every study
    # route answers 404, as for anyone without a role there.
    assert _check(app, client, None, True, own, other) == []
    assert client.get(f"/staff/s/{own.code}/").status_code == 404


def test_anonymous_requests_are_sent_to_sign_in(app, client, session, world):
    own, _other = world
    for endpoint, rule, method in staff_endpoints(app):
        if app.view_functions[endpoint].required_access == PUBLIC:
            continue
        url = _url(rule, own.code, own.ids)
        response = _request(client, method, url, "no-token")
        if method == "GET":
            assert response.status_code == 302, url
            assert "/staff/login" in response.headers["Location"], url
        else:
            # Without a session there is no CSRF token: refused before the view.
            assert response.status_code in (302, 400), url
