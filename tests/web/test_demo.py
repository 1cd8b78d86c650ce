"""After `flask demo`, the workspace shows a newcomer what it does."""

import re
from datetime import UTC, datetime

import pytest
import time_machine
from sqlalchemy import select

from pro_app.participants.contact import contact_for
from pro_app.participants.models import Participant, ParticipantStatus
from tests.conftest import login_staff

SECTIONS = {
    "overdue": "LK-007",
    "due_soon": "LK-001",
    "opening": "LK-008",
    "missed": "LK-009",
    "failed_message": "LK-007",
}
LOGIN = re.compile(r"^  (\w+)\s+(\S+@demo\.invalid)\s+(\S+)$", re.M)


def _section(page, kind):
    """The list items of one "needs action today" section of the dashboard."""
    match = re.search(
        rf'<ul class="dash-actions" aria-labelledby="act-{kind}">(.*?)</ul>',
        page,
        re.S,
    )
    return re.findall(r"<li>(.*?)</li>", match.group(1), re.S) if match else []


# Morning and a minute before midnight in the study's zone (UTC+2):
# each case falls on "today" wherever the day is cut.
@pytest.mark.parametrize(
    "moment",
    [
        datetime(2026, 12, 4, 7, 30, tzinfo=UTC),
        datetime(2026, 12, 4, 21, 59, tzinfo=UTC),
    ],
)
def test_the_dashboard_shows_every_case_that_needs_action(app, session, moment):
    with time_machine.travel(moment, tick=False):
        result = app.test_cli_runner().invoke(args=["demo"])
        assert result.exit_code == 0, result.output
        coordinator = dict(
            (role, (e, p)) for role, e, p in LOGIN.findall(result.output)
        )
        client = app.test_client()
        email, password = coordinator["coordinator"]
        assert login_staff(client, email, password).status_code == 302
        page = client.get("/staff/s/NCT06737380/").get_data(as_text=True)
    for kind, subject in SECTIONS.items():
        entries = _section(page, kind)
        assert entries, f"the {kind} section is empty"
        assert any(subject in e for e in entries), (kind, entries)
    failed = " ".join(_section(page, "failed_message"))
    assert "mailbox unavailable" in failed
    assert "Nothing needs action today" not in page


def test_every_demo_participant_has_contact_details_and_a_working_link(app, session):
    result = app.test_cli_runner().invoke(args=["demo", "--base-url", "http://x.test"])
    assert result.exit_code == 0, result.output
    links = dict(
        re.findall(r"^  (LK-\d{3})\s+http://x\.test/p/(\S+)$", result.output, re.M)
    )
    first = re.search(r"^Personal link: http://x\.test/p/(\S+)$", result.output, re.M)
    links["LK-001"] = first.group(1)
    assert "Dashboard: http://x.test/staff/s/NCT06737380/" in result.output
    people = session.scalars(select(Participant).order_by(Participant.subject_id)).all()
    active = [p for p in people if p.status is ParticipantStatus.ACTIVE]
    assert sorted(links) == [p.subject_id for p in active]
    key = app.config["DATA_KEY"]
    for participant in people:
        contact = contact_for(session, participant, key)
        number = participant.subject_id.removeprefix("LK-")
        assert contact.email == f"lk-{number}@example.org"
        # UK numbers reserved for drama: +44 7700 900000 to 900999.
        assert contact.phone == f"+44 7700 900{number}"
    for subject, token in links.items():
        phone = app.test_client()
        opened = phone.get(f"/p/{token}")
        assert opened.status_code == 302, subject
        assert phone.get("/home").status_code == 200, subject
    # A second run keeps every personal link: what was printed still opens.
    again = app.test_cli_runner().invoke(args=["demo", "--base-url", "http://x.test"])
    assert again.exit_code == 0, again.output
    for subject, token in links.items():
        assert app.test_client().get(f"/p/{token}").status_code == 302, subject
