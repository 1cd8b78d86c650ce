"""The study dashboard: matrix, rates, needs-action list, sites, access, queries."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser

import pytest
import time_machine
from flask import url_for
from sqlalchemy import event, select

from pro_app.audit.services import record
from pro_app.extensions import db
from pro_app.notify.models import Outbox, OutboxStatus
from pro_app.participants.models import Participant
from pro_app.studies.enrolment import mark_not_done, withdraw
from pro_app.studies.models import Assignment
from pro_app.studies.progress import CellState, Slot, cell_state
from pro_app.studies.rules import AssignmentStatus as S
from tests.conftest import login_staff
from tests.factories import make_participant, make_staff, make_study

# A Monday noon, UTC. Day offsets below are from this day (``D``).
NOW = datetime(2025, 3, 10, 12, 0, tzinfo=UTC)
D = NOW.date()
URL = "/staff/s/TEST-1/"


@pytest.fixture
def frozen() -> Iterator[None]:
    with time_machine.travel(NOW, tick=False):
        yield


class _Page(HTMLParser):
    """Collects the matrix (row header -> cell texts and classes) and lists."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: dict[str, list[tuple[str, str]]] = {}
        self.footer: list[str] = []
        # A section with nothing in it is not drawn: it reads as empty.
        self.actions: dict[str, list[str]] = defaultdict(list)
        self._section: str | None = None
        self._cell: list[str] | None = None
        self._cls = ""
        self._row: list[tuple[str, str]] = []
        self._list: str | None = None

    def handle_starttag(self, tag: str, attrs: list) -> None:
        a = dict(attrs)
        if tag in ("tbody", "tfoot"):
            self._section = tag
        elif tag == "tr":
            self._row = []
        elif tag in ("th", "td") and self._section:
            self._cell, self._cls = [], a.get("class") or ""
        elif tag == "h3" and (a.get("id") or "").startswith("act-"):
            self.actions[a["id"].removeprefix("act-")] = []  # listed, maybe empty
        elif tag == "ul" and "dash-actions" in (a.get("class") or ""):
            self._list = a["aria-labelledby"].removeprefix("act-")
            self.actions[self._list] = []
        elif tag == "li" and self._list:
            self._cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag in ("th", "td") and self._cell is not None and self._section:
            self._row.append((" ".join("".join(self._cell).split()), self._cls))
            self._cell = None
        elif tag == "tr" and self._section == "tbody":
            self.rows[self._row[0][0].split()[0]] = self._row[1:]
        elif tag == "tr" and self._section == "tfoot":
            self.footer = [text for text, _ in self._row[1:]]
        elif tag in ("tbody", "tfoot"):
            self._section = None
        elif tag == "li" and self._list and self._cell is not None:
            self.actions[self._list].append(" ".join("".join(self._cell).split()))
            self._cell = None
        elif tag == "ul":
            self._list = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)


def parse(html: str) -> _Page:
    page = _Page()
    page.feed(html)
    return page


def _assignments(participant, code: str) -> list[Assignment]:
    return [a for a in participant.assignments if a.timepoint.code == code]


def _set(participant, code: str, *statuses: S) -> None:
    for a, status in zip(_assignments(participant, code), statuses, strict=False):
        a.status = status
        if status is S.COMPLETED:
            a.completed_at = NOW - timedelta(days=1)


def _enrol(session, study, subject: str, day0_offset: int, **kw):
    return make_participant(
        session, study, subject_id=subject, day0=D + timedelta(days=day0_offset), **kw
    )


def _login(client, session, study, role: str = "coordinator", site=None) -> None:
    user = make_staff(session, role, study, site=site)
    assert login_staff(client, user.email).status_code == 302


def test_each_cell_shows_its_state_in_words_computed_from_the_clock(
    client, session, frozen
):
    study = make_study(session)
    # BL window: Day 0 - 7 .. Day 0 + 7 (due at the end of Day 0).
    _enrol(session, study, "S-OPEN", 5)  # open, due in 6 days
    _set(_enrol(session, study, "S-PROG", 5), "BL", S.IN_PROGRESS)
    _enrol(session, study, "S-OVER", -3)  # past due, window open
    _enrol(session, study, "S-MISS", -10)  # window closed two days ago
    _set(_enrol(session, study, "S-DONE", -10), "BL", *[S.COMPLETED] * 3)
    _set(_enrol(session, study, "S-PART", -10), "BL", S.COMPLETED, S.COMPLETED)
    for a in _assignments(_enrol(session, study, "S-NOT", -3), "BL"):
        mark_not_done(session, a, actor="staff:1", reason="too unwell")
    _enrol(session, study, "S-LATER", 20)  # opens in 13 days
    gone = _enrol(session, study, "S-WD", 20)
    withdraw(session, gone, actor="staff:1", reason="consent withdrawn")
    _login(client, session, study)

    response = client.get(URL)

    assert response.status_code == 200
    page = parse(response.get_data(as_text=True))
    baseline = {subject: cells[1] for subject, cells in page.rows.items()}
    assert baseline == {
        "S-DONE": ("✓ Done 3/3", "ds-completed"),
        "S-LATER": ("· Scheduled", "ds-scheduled"),
        "S-MISS": ("✗ Missed 0/3", "ds-missed"),
        "S-NOT": ("– Not done 0/3", "ds-not_done"),
        "S-OPEN": ("○ Open 0/3", "ds-open"),
        "S-OVER": ("! Overdue 0/3", "ds-overdue"),
        "S-PART": ("✗ Missed 2/3", "ds-missed"),
        "S-PROG": ("◐ In progress 0/3", "ds-in_progress"),
        "S-WD": ("⊘ Cancelled", "ds-cancelled"),
    }
    # The site column, then W4: not open yet for anyone.
    assert page.rows["S-OPEN"][0][0] == "01"
    assert page.rows["S-OPEN"][2] == ("· Scheduled", "ds-scheduled")
    # The stored statuses were never updated by any job: still "scheduled".
    over = session.scalars(
        select(Assignment.status)
        .join(Participant)
        .where(Participant.subject_id == "S-OVER")
    ).all()
    assert set(over) == {S.SCHEDULED}
    html = response.get_data(as_text=True)
    assert "<caption>" in html
    assert 'scope="col"' in html
    assert 'scope="row"' in html
    assert "withdrawn</span>" in html  # the row says so, not only a colour


@pytest.mark.parametrize(
    ("statuses", "past_due", "expected"),
    [
        ([], False, CellState.EMPTY),
        ([S.CANCELLED, S.CANCELLED], False, CellState.CANCELLED),
        ([S.COMPLETED, S.CANCELLED], False, CellState.COMPLETED),
        ([S.OPEN, S.COMPLETED], False, CellState.IN_PROGRESS),
        ([S.OPEN, S.COMPLETED], True, CellState.OVERDUE),
        ([S.OPEN, S.OPEN], False, CellState.OPEN),
        ([S.SCHEDULED, S.NOT_DONE], False, CellState.SCHEDULED),
        ([S.MISSED, S.COMPLETED, S.NOT_DONE], False, CellState.MISSED),
        ([S.NOT_DONE, S.COMPLETED], False, CellState.NOT_DONE),
    ],
)
def test_cell_state_across_questionnaires(statuses, past_due, expected):
    due = NOW - timedelta(hours=1) if past_due else NOW + timedelta(days=3)
    slots = [
        Slot(s, NOW - timedelta(days=2), due, NOW + timedelta(days=5)) for s in statuses
    ]
    assert cell_state(slots, NOW) is expected


def test_completion_rate_counts_opened_questionnaires_not_cancelled(
    client, session, frozen
):
    study = make_study(session)
    _set(_enrol(session, study, "R-1", -10), "BL", *[S.COMPLETED] * 3)
    _set(_enrol(session, study, "R-2", 0), "BL", S.COMPLETED)  # open, 1 of 3
    _enrol(session, study, "R-3", 20)  # not opened: not counted
    gone = _enrol(session, study, "R-4", 2)
    _set(gone, "BL", S.COMPLETED)
    withdraw(session, gone, actor="staff:1", reason="moved away")  # 2 cancelled
    _login(client, session, study)

    page = parse(client.get(URL).get_data(as_text=True))

    # BL: 3 + 1 + 1 done of 3 + 3 + 1 expected; W4 opened for nobody.
    assert page.footer == ["5/7 (71%)", "none opened yet"]


def test_needs_action_lists_each_kind_with_links(client, session, frozen, app):
    study = make_study(session)
    soon = _enrol(session, study, "A-SOON", 1)  # BL due at D+2 00:00: 36 h away
    _enrol(session, study, "A-FAR", 5)  # open, due in 6 days: no action
    _enrol(session, study, "A-TODAY", 7)  # BL opened at 00:00 today
    _enrol(session, study, "A-TOMORROW", 8)  # BL opens in 12 hours
    _enrol(session, study, "A-OVER", -3)
    _enrol(session, study, "A-MISS", -10)
    _enrol(session, study, "A-OLD", -50)  # every window closed weeks ago
    _set(_enrol(session, study, "A-DONE", -10), "BL", *[S.COMPLETED] * 3)
    withdraw(
        session, _enrol(session, study, "A-WD", -3), actor="staff:1", reason="moved"
    )
    target = _assignments(soon, "BL")[0]
    for kind, status, error in [
        ("invitation", OutboxStatus.FAILED, "SMTPRecipientsRefused 550"),
        ("reminder", OutboxStatus.PENDING, "timeout"),
        ("last_call", OutboxStatus.CANCELLED, "participant opted out"),
    ]:
        session.add(
            Outbox(
                participant_id=soon.id,
                assignment_id=target.id,
                channel="email",
                kind=kind,
                window_opens_at=target.opens_at,
                due_at=NOW - timedelta(days=1),
                status=status,
                attempts=5 if status is OutboxStatus.FAILED else 2,
                last_error=error,
            )
        )
    if "staff.view_participant" not in app.view_functions:
        # The participant page is another module's; stand in for it here.
        app.add_url_rule(
            "/staff/s/<study_code>/participants/<int:participant_id>",
            "staff.view_participant",
            lambda **_: "",
        )
    _login(client, session, study)

    html = client.get(URL).get_data(as_text=True)

    with app.test_request_context():
        link = url_for(
            "staff.view_participant", study_code="TEST-1", participant_id=soon.id
        )
    assert f'href="{link}">A-SOON</a>' in html
    actions = parse(html).actions
    assert actions["overdue"] == ["A-OVER · BL · last day Mar 14, 2025"]
    assert actions["due_soon"] == ["A-SOON · BL · due Mar 11, 2025"]
    assert actions["opening"] == [
        "A-TODAY · BL · opens Mar 10, 2025",
        "A-TOMORROW · BL · opens Mar 11, 2025",
    ]
    assert actions["missed"] == ["A-MISS · BL · window ended Mar 7, 2025"]
    assert actions["failed_message"] == [
        "A-SOON · BL · email message of Mar 9, 2025: given up after 5 attempts"
        " (SMTPRecipientsRefused 550)",
        "A-SOON · BL · email message of Mar 9, 2025: failed 2 times, will be"
        " retried (timeout)",
    ]


def test_without_a_participant_page_subjects_are_plain_text(
    client, session, frozen, app, monkeypatch
):
    monkeypatch.delitem(app.view_functions, "staff.view_participant", raising=False)
    study = make_study(session)
    _enrol(session, study, "T-1", -3)
    _login(client, session, study)

    html = client.get(URL).get_data(as_text=True)

    assert parse(html).rows["T-1"][1][0] == "! Overdue 0/3"
    assert ">T-1</a>" not in html
    assert '<th scope="row">T-1</th>' in html


def test_summary_counts(client, session, frozen):
    study = make_study(session)
    for n in range(3):
        _enrol(session, study, f"C-{n}", 0)
    withdraw(session, _enrol(session, study, "C-9", 0), actor="staff:1", reason="moved")
    _login(client, session, study)

    html = client.get(URL).get_data(as_text=True)

    assert "<dt>Enrolled</dt><dd>4</dd>" in html
    assert "<dt>Active</dt><dd>3</dd>" in html
    assert "<dt>Withdrawn</dt><dd>1</dd>" in html


def _two_sites(session):
    study = make_study(session, sites=[("01", "North"), ("02", "South")])
    north, south = study.sites
    _enrol(session, study, "N-1", -3, site=north)
    _enrol(session, study, "N-2", -3, site=north)
    _enrol(session, study, "S-1", -10, site=south)
    return study, north, south


def test_site_filter(client, session, frozen):
    study, _, _ = _two_sites(session)
    _login(client, session, study)

    everyone = client.get(URL).get_data(as_text=True)
    north = client.get(URL + "?site=01").get_data(as_text=True)

    assert set(parse(everyone).rows) == {"N-1", "N-2", "S-1"}
    assert set(parse(north).rows) == {"N-1", "N-2"}
    assert parse(north).actions["missed"] == []
    assert '<option value="01" selected>' in north
    assert '<form class="inline dash-filter" method="get"' in north
    assert "<dt>Enrolled</dt><dd>2</dd>" in north


def test_site_limited_role_sees_only_its_site_whatever_the_filter(
    client, session, frozen
):
    study, north, south = _two_sites(session)
    _login(client, session, study, site=south)

    for url in (URL, URL + "?site=01", URL + "?site=nope"):
        page = parse(client.get(url).get_data(as_text=True))
        assert set(page.rows) == {"S-1"}
        assert page.actions["overdue"] == []
        assert page.actions["missed"] == ["S-1 · BL · window ended Mar 7, 2025"]


def test_monitor_can_view_and_other_studies_staff_get_404(app, client, session, frozen):
    study = make_study(session)
    _enrol(session, study, "M-1", 0)
    other = make_study(session, code="TEST-2")
    outsider = make_staff(session, "admin", other)
    _login(client, session, study, role="monitor")

    assert client.get(URL).status_code == 200

    stranger = app.test_client()
    assert login_staff(stranger, outsider.email).status_code == 302
    assert stranger.get(URL).status_code == 404
    assert stranger.get("/staff/s/TEST-2/").status_code == 200


def test_last_audit_verification_is_shown(client, session, frozen):
    study = make_study(session)
    _login(client, session, study)
    assert "never been verified" in client.get(URL).get_data(as_text=True)

    record(
        session,
        actor="system:cli",
        action="audit.verify",
        entity_type="audit",
        new={"ok": True, "problems": 0, "first_bad": None, "events": 12},
    )
    assert "intact (12 events checked)" in client.get(URL).get_data(as_text=True)

    record(
        session,
        actor="system:cli",
        action="audit.verify",
        entity_type="audit",
        new={"ok": False, "problems": 2, "first_bad": 7, "events": 13},
    )
    html = client.get(URL).get_data(as_text=True)
    assert "2 problems found" in html
    assert "First broken event: #7." in html
    assert "intact" not in html


@contextmanager
def _counting(engine) -> Iterator[list[str]]:
    statements: list[str] = []

    def count(conn, cursor, statement, *args) -> None:
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", count)


def _crowd(session, study, start: int, stop: int) -> None:
    for n in range(start, stop):
        p = _enrol(session, study, f"Q-{n:03}", n % 40 - 20)
        if n % 3 == 0:
            _set(p, "BL", S.COMPLETED, S.IN_PROGRESS)
        first = _assignments(p, "BL")[0]
        session.add(
            Outbox(
                participant_id=p.id,
                assignment_id=first.id,
                channel="email",
                kind="invitation",
                window_opens_at=first.opens_at,
                due_at=NOW - timedelta(days=1),
                status=OutboxStatus.FAILED,
                attempts=5,
                last_error="refused",
            )
        )


def test_query_count_does_not_grow_with_participants(client, session, app, frozen):
    study = make_study(session)
    _crowd(session, study, 0, 5)
    _login(client, session, study)
    with app.app_context():
        engine = db.engine

    def measure() -> tuple[int, str]:
        session.commit()
        client.get(URL)  # warm up: the first request of a connection differs
        with _counting(engine) as statements:
            html = client.get(URL).get_data(as_text=True)
        # Reads only: SQLite's "BEGIN IMMEDIATE" is a statement, PostgreSQL's not.
        return sum(s.lstrip().upper().startswith("SELECT") for s in statements), html

    few, html = measure()
    assert len(parse(html).rows) == 5
    _crowd(session, study, 5, 50)
    many, html = measure()
    assert len(parse(html).rows) == 50
    assert len(parse(html).actions["failed_message"]) == 50

    assert few == many
    # Sign-in and access checks (5), then the dashboard's own reads (6).
    assert many <= 12
