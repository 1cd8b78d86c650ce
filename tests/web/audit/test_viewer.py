"""The audit viewer: who may read it, filters, pages."""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime

import pytest
import time_machine
from markupsafe import escape
from sqlalchemy import select

from pro_app.audit.models import AuditEvent
from pro_app.audit.services import record
from pro_app.auth.services import actor_for
from pro_app.web import current_catalog
from tests.conftest import login_staff
from tests.factories import (
    complete_assignment,
    make_link,
    make_participant,
    make_staff,
    make_study,
)

URL = "/staff/s/TEST-1/audit"


def _ids(page: str) -> list[int]:
    return [int(i) for i in re.findall(r'<th scope="row">(\d+)</th>', page)]


def _link(page: str, label: str) -> str | None:
    match = re.search(rf'<a href="([^"]+)">{label}</a>', page)
    return html.unescape(match.group(1)) if match else None


def _study_ids(session, study, **where) -> list[int]:
    query = select(AuditEvent.id).where(AuditEvent.study_id == study.id)
    for column, value in where.items():
        query = query.where(getattr(AuditEvent, column) == value)
    return sorted(session.scalars(query), reverse=True)


@pytest.fixture
def trial(session):
    """Study TEST-1 with two sites, a participant at each, and a second study."""
    study = make_study(session, sites=[("01", "Site one"), ("02", "Site two")])
    coordinator = make_staff(session, "coordinator", study)
    one = make_participant(session, study, actor=actor_for(coordinator))
    make_link(session, one)
    two = make_participant(session, study, subject_id="LK-002", site=study.sites[1])
    other = make_study(session, code="TEST-2")
    make_participant(session, other, subject_id="LK-009")
    session.commit()
    return study, coordinator, one, two


@pytest.mark.parametrize(
    ("role", "status"),
    [("monitor", 200), ("data_manager", 200), ("admin", 200), ("coordinator", 403)],
)
def test_who_may_read_the_trail(client, session, trial, role, status):
    study = trial[0]
    user = make_staff(session, role, study)
    login_staff(client, user.email)
    assert client.get(URL).status_code == status
    assert client.get(URL + ".csv").status_code == status


def test_staff_of_another_study_get_404(client, session, trial):
    other = make_staff(session, "monitor", make_study(session, code="TEST-3"))
    login_staff(client, other.email)
    assert client.get(URL).status_code == 404
    assert client.get(URL + ".csv").status_code == 404


def test_the_trail_shows_this_studys_events_newest_first(client, session, trial):
    study, coordinator, *_ = trial
    monitor = make_staff(session, "monitor", study)
    login_staff(client, monitor.email)
    page = client.get(URL).get_data(as_text=True)
    assert _ids(page) == _study_ids(session, study)
    assert "LK-009" not in page  # the other study's participant
    assert "login.success" not in page  # global events stay out
    # Staff actors are shown by name; compact JSON values.
    assert f'{coordinator.name} <span class="muted">(staff:{coordinator.id})' in page
    assert str(escape('"subject_id":"LK-001"')) in page
    assert 'aria-invalid="None"' not in page


def test_filter_by_participant_follows_their_records(app, client, session, trial):
    study, _coordinator, one, _two = trial
    with app.app_context():
        catalog = current_catalog()
    baseline = next(a for a in one.assignments if a.timepoint.code == "BL")
    complete_assignment(session, baseline, catalog)
    monitor = make_staff(session, "monitor", study)
    login_staff(client, monitor.email)
    page = client.get(URL, query_string={"participant": "LK-001"}).get_data(
        as_text=True
    )
    shown = session.scalars(
        select(AuditEvent).where(AuditEvent.id.in_(_ids(page)))
    ).all()
    assert {e.entity_type for e in shown} == {
        "participant",
        "access_token",
        "submission",
        "answer",
    }
    assert {e.action for e in shown} >= {
        "participant.enrol",
        "link.issue",
        "answer.save",
        "submission.complete",
    }
    assert all(
        e.entity_id == str(one.id) for e in shown if e.entity_type == "participant"
    )
    # Every row names the participant, and only this one.
    assert page.count("<td>LK-001</td>") == len(shown)
    assert "LK-002" not in page


def test_filters_by_actor_action_and_date(client, session, trial):
    study, coordinator, *_ = trial
    for day in (10, 20):
        with time_machine.travel(datetime(2026, 1, day, 12, tzinfo=UTC), tick=False):
            record(
                session,
                actor="system:nightly",
                action="thing.check",
                entity_type="study",
                entity_id=study.id,
                study_id=study.id,
            )
    session.commit()
    monitor = make_staff(session, "monitor", study)
    login_staff(client, monitor.email)

    def ids(**args):
        response = client.get(URL, query_string=args)
        assert response.status_code == 200
        return _ids(response.get_data(as_text=True))

    by_coordinator = _study_ids(session, study, actor=f"staff:{coordinator.id}")
    assert by_coordinator
    assert ids(actor=coordinator.email) == by_coordinator
    assert ids(actor=f"staff:{coordinator.id}") == by_coordinator
    nightly = _study_ids(session, study, actor="system:nightly")
    assert ids(actor="system:nightly") == nightly
    assert set(ids(actor="system:")) >= set(nightly)
    assert ids(action="participant.enrol") == _study_ids(
        session, study, action="participant.enrol"
    )
    assert ids(date_from="2026-01-15", date_to="2026-01-31") == [max(nightly)]
    assert ids(date_from="2026-01-01", date_to="2026-01-10") == [min(nightly)]
    assert ids(action="thing.check", date_from="2026-01-21") == []


def test_filters_that_match_nothing_say_so(client, session, trial):
    monitor = make_staff(session, "monitor", trial[0])
    login_staff(client, monitor.email)
    page = client.get(URL, query_string={"participant": "LK-404"})
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "No participant of this study has that subject ID." in text
    assert _ids(text) == []
    text = client.get(URL, query_string={"actor": "nobody@x.test"}).get_data(
        as_text=True
    )
    assert "No staff account has that email." in text
    assert _ids(text) == []
    bad = client.get(URL, query_string={"date_from": "31/01/2026"})
    assert bad.status_code == 400
    assert _ids(bad.get_data(as_text=True)) == []
    assert client.get(URL, query_string={"action": "made.up"}).status_code == 400
    backwards = {"date_from": "2026-02-01", "date_to": "2026-01-01"}
    assert "before the start" in client.get(URL, query_string=backwards).get_data(
        as_text=True
    )
    assert (
        client.get(URL + ".csv", query_string={"participant": "LK-404"}).status_code
        == 400
    )


def test_site_limited_staff_see_their_sites_participants_only(client, session, trial):
    study, _coordinator, one, two = trial
    monitor = make_staff(session, "monitor", study, site=study.sites[0])
    login_staff(client, monitor.email)
    page = client.get(URL).get_data(as_text=True)
    # Only events tied to participants of their site: not the study's set-up.
    shown = session.scalars(
        select(AuditEvent).where(AuditEvent.id.in_(_ids(page)))
    ).all()
    assert shown
    assert {e.entity_type for e in shown} == {"participant", "access_token"}
    assert "<td>LK-001</td>" in page
    assert "LK-002" not in page
    refused = client.get(URL, query_string={"participant": "LK-002"})
    assert "No participant of this study has that subject ID." in refused.get_data(
        as_text=True
    )


def test_pages_of_a_hundred_with_newer_and_older_links(client, session, trial):
    study = trial[0]
    for i in range(230):
        record(
            session,
            actor="system:test",
            action="thing.tick",
            entity_type="thing",
            entity_id=i,
            study_id=study.id,
        )
    session.commit()
    monitor = make_staff(session, "monitor", study)
    login_staff(client, monitor.email)
    expected = _study_ids(session, study)
    first = client.get(URL).get_data(as_text=True)
    assert _ids(first) == expected[:100]
    assert _link(first, "Newer events") is None
    second = client.get(_link(first, "Older events")).get_data(as_text=True)
    assert _ids(second) == expected[100:200]
    third = client.get(_link(second, "Older events")).get_data(as_text=True)
    assert _ids(third) == expected[200:]
    assert _link(third, "Older events") is None
    back = client.get(_link(third, "Newer events")).get_data(as_text=True)
    assert _ids(back) == expected[100:200]
    # Filters are kept from page to page.
    filtered = client.get(URL, query_string={"action": "thing.tick"}).get_data(
        as_text=True
    )
    assert "action=thing.tick" in _link(filtered, "Older events")


def test_the_last_verification_is_shown(app, client, session, trial):
    monitor = make_staff(session, "monitor", trial[0])
    login_staff(client, monitor.email)
    assert "has not been verified yet" in client.get(URL).get_data(as_text=True)
    assert app.test_cli_runner().invoke(args=["audit", "verify"]).exit_code == 0
    page = client.get(URL).get_data(as_text=True)
    assert re.search(
        r"Last verification <time [^>]+ UTC\">[^<]+ UTC</time>: intact, \d+ events",
        page,
    )
