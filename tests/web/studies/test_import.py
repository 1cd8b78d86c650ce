from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from pro_app.audit.models import AuditEvent
from pro_app.studies.models import Site, Study, Timepoint
from pro_app.studies.rules import AssignmentStatus as S
from pro_app.studies.services import enrol, import_protocol
from tests.factories import SHIPPED_PROTOCOL, make_protocol, protocol_doc


@pytest.fixture
def catalog(app):
    return app.extensions["pro_catalog"]


def count(session, model):
    return session.scalar(select(func.count()).select_from(model))


def test_import_creates_the_study(app, session):
    result = app.test_cli_runner().invoke(
        args=["studies", "import", str(SHIPPED_PROTOCOL)]
    )
    assert result.exit_code == 0, result.output
    assert "NCT06737380: create study" in result.output
    study = session.scalar(select(Study))
    assert study.code == "NCT06737380"
    assert study.timezone == "Asia/Jerusalem"
    assert study.protocol_version == "demo-1"
    assert [tp.code for tp in study.timepoints] == ["BL", "W4", "W12", "W24", "W52"]
    assert [ti.instrument_id for ti in study.timepoints[0].instruments] == [
        "rand36",
        "promis29",
        "promis_global",
    ]
    assert study.settings["quiet_hours"] == ["21:00", "08:00"]
    assert study.settings["reminders"] == {
        "invitation": True,
        "reminder_days": [3],
        "last_call_days": 1,
    }
    assert [s.code for s in study.sites] == ["01"]
    actions = session.scalars(select(AuditEvent.action)).all()
    assert actions == ["study.create"]


def test_importing_the_same_file_twice_changes_nothing(session, catalog):
    import_protocol(session, make_protocol(catalog), actor="staff:1")
    report = import_protocol(session, make_protocol(catalog), actor="staff:1")
    assert not report.created
    assert report.study_changes == []
    assert report.changes == []


def test_dry_run_writes_nothing(app, session):
    result = app.test_cli_runner().invoke(
        args=["studies", "import", "--dry-run", str(SHIPPED_PROTOCOL)]
    )
    assert result.exit_code == 0, result.output
    assert "would create study" in result.output
    assert "dry run: nothing written" in result.output
    assert count(session, Study) == 0
    assert count(session, Timepoint) == 0
    assert count(session, AuditEvent) == 0


def test_a_malformed_file_is_refused_and_changes_nothing(app, session, tmp_path):
    runner = app.test_cli_runner()
    assert (
        runner.invoke(args=["studies", "import", str(SHIPPED_PROTOCOL)]).exit_code == 0
    )
    events = count(session, AuditEvent)
    bad = tmp_path / "amended.toml"
    text = SHIPPED_PROTOCOL.read_text()
    text = text.replace('protocol_version = "demo-1"', 'protocol_version = "demo-2"')
    bad.write_text(text.replace("day_offset = 28", 'day_offset = "28"'))
    result = runner.invoke(args=["studies", "import", str(bad)])
    assert result.exit_code == 1
    assert f"{bad}: timepoints[1].day_offset: must be an integer" in result.output
    session.expire_all()
    assert session.scalar(select(Study.protocol_version)) == "demo-1"
    assert count(session, AuditEvent) == events


def _enrolled(session, catalog, day0):
    import_protocol(session, make_protocol(catalog), actor="staff:1")
    study = session.scalar(select(Study))
    p = enrol(session, study, site=study.sites[0], subject_id="LK-001", day0=day0,
              timezone="Europe/London", language="en", actor="staff:1")  # fmt: skip
    return study, p


def _amendment():
    doc = protocol_doc()
    doc["study"]["protocol_version"] = "2"
    tps = doc["timepoints"]
    tps[1]["day_offset"] = 35  # W4 moves a week later
    del tps[3]  # W24 dropped
    tps.insert(2, {"code": "W8", "label": "Week 8", "day_offset": 56,
                   "window_before": 7, "window_after": 7,
                   "instruments": ["rand36@1.0"]})  # fmt: skip
    return doc


def _by_key(participant):
    return {(a.timepoint.code, a.instrument_id): a for a in participant.assignments}


def test_amendment_replans_only_what_has_not_started(session, catalog):
    today = date.today()
    study, p = _enrolled(session, catalog, today - timedelta(days=10))
    before = _by_key(p)
    before[("BL", "rand36")].status = S.COMPLETED  # answered at baseline
    before[("W4", "rand36")].status = S.IN_PROGRESS  # started early
    session.flush()
    frozen = {
        key: (a.status, a.opens_at, a.closes_at)
        for key, a in before.items()
        if key[0] == "BL" or key == ("W4", "rand36")
    }
    old_w4 = before[("W4", "promis29")].opens_at

    report = import_protocol(session, make_protocol(catalog, _amendment()),
                             actor="staff:7")  # fmt: skip

    session.expire_all()
    after = _by_key(p)
    # Completed, in-progress and already-closed (missed) ones are untouched.
    for key, state in frozen.items():
        assert (after[key].status, after[key].opens_at, after[key].closes_at) == state
    # The rest of W4 moved a week; W8 appeared; W24 was cancelled.
    assert after[("W4", "promis29")].opens_at == old_w4 + timedelta(days=7)
    assert after[("W4", "promis_global")].target_date == p.day0 + timedelta(days=35)
    assert after[("W8", "rand36")].status is S.SCHEDULED
    assert {
        after[("W24", i)].status for i in ("rand36", "promis29", "promis_global")
    } == {S.CANCELLED}
    assert after[("W52", "rand36")].opens_at == before[("W52", "rand36")].opens_at
    counts = [report.count(k) for k in ("moved", "created", "cancelled")]
    assert counts == [2, 1, 3]
    assert study.protocol_version == "2"
    # The audit trail has the amendment and one event per moved assignment.
    events = session.scalars(
        select(AuditEvent).where(AuditEvent.actor == "staff:7").order_by(AuditEvent.id)
    ).all()
    assert events[0].action == "study.amend"
    assert events[0].old_value == {"protocol_version": "demo-1"}
    assert "timepoint W24: removed" in events[0].new_value["changes"]
    moves = [e for e in events if e.action == "assignment.move"]
    assert {int(e.entity_id) for e in moves} == {
        after[("W4", "promis29")].id,
        after[("W4", "promis_global")].id,
    }
    for e in moves:
        assert e.old_value["opens_at"] != e.new_value["opens_at"]
        assert e.reason == "protocol NCT06737380 version 2"
    assert sum(e.action == "assignment.cancel" for e in events) == 3
    assert sum(e.action == "assignment.create" for e in events) == 1
    # A retired timepoint generates nothing for the next participant.
    q = enrol(session, study, site=study.sites[0], subject_id="LK-002", day0=today,
              timezone="UTC", language=None, actor="staff:1")  # fmt: skip
    assert {a.timepoint.code for a in q.assignments} == {"BL", "W4", "W8", "W12", "W52"}


def test_amendment_dry_run_reports_the_same_and_writes_nothing(session, catalog):
    _study, p = _enrolled(session, catalog, date.today())
    session.commit()
    events = count(session, AuditEvent)
    snapshot = {key: (a.status, a.opens_at) for key, a in _by_key(p).items()}
    dry = import_protocol(session, make_protocol(catalog, _amendment()),
                          actor="staff:7", dry_run=True)  # fmt: skip
    assert dry.dry_run
    assert "would update study" in dry.lines()[0]
    session.expire_all()
    assert count(session, AuditEvent) == events
    assert {k: (a.status, a.opens_at) for k, a in _by_key(p).items()} == snapshot
    assert session.scalar(select(Study.protocol_version)) == "demo-1"
    real = import_protocol(
        session, make_protocol(catalog, _amendment()), actor="staff:7"
    )
    assert [c.line() for c in real.changes] == [c.line() for c in dry.changes]
    assert real.study_changes == dry.study_changes


def test_withdrawn_participants_are_not_replanned(session, catalog):
    from pro_app.studies.enrolment import withdraw

    _study, p = _enrolled(session, catalog, date.today())
    withdraw(session, p, actor="staff:1", reason="consent withdrawn")
    report = import_protocol(session, make_protocol(catalog, _amendment()),
                             actor="staff:7")  # fmt: skip
    assert report.changes == []


def test_the_stored_reminder_plan_is_what_the_reminder_job_reads(session, catalog):
    from pro_app.notify.rules import plan_from_settings, quiet_from_settings

    import_protocol(session, make_protocol(catalog), actor="staff:1")
    settings = session.scalar(select(Study)).settings
    plan = plan_from_settings(settings)
    assert (plan.invitation, plan.reminder_days, plan.last_call_days) == (True, (3,), 1)
    assert quiet_from_settings(settings).start.hour == 21


def test_cli_dry_run_of_an_amendment_lists_each_move(app, session, tmp_path):
    runner = app.test_cli_runner()
    assert (
        runner.invoke(args=["studies", "import", str(SHIPPED_PROTOCOL)]).exit_code == 0
    )
    study = session.scalar(select(Study))
    site = study.sites[0]
    enrol(session, study, site=site, subject_id="LK-001", day0=date.today(),
          timezone="UTC", language=None, actor="staff:1")  # fmt: skip
    session.commit()
    amended = tmp_path / "v2.toml"
    text = SHIPPED_PROTOCOL.read_text()
    text = text.replace('protocol_version = "demo-1"', 'protocol_version = "2"')
    amended.write_text(text.replace("day_offset = 28", "day_offset = 35"))
    result = runner.invoke(args=["studies", "import", "--dry-run", str(amended)])
    assert result.exit_code == 0, result.output
    assert "would update study, protocol version demo-1 -> 2" in result.output
    assert "timepoint W4: day_offset 28 -> 35" in result.output
    assert result.output.count("move    LK-001 W4 ") == 3
    assert "would create 0, move 3, cancel 0 assignment(s)" in result.output
    session.expire_all()
    assert session.scalar(select(Study.protocol_version)) == "demo-1"


def test_cli_amendment_replans_queued_messages(app, session, tmp_path):
    from pro_app.notify.models import Outbox
    from pro_app.notify.services import plan_messages
    from pro_app.participants.contact import set_contact
    from pro_app.studies.models import Assignment

    runner = app.test_cli_runner()
    created = runner.invoke(args=["studies", "import", str(SHIPPED_PROTOCOL)])
    assert created.exit_code == 0
    study = session.scalar(select(Study))
    participant = enrol(session, study, site=study.sites[0], subject_id="LK-001",
                        day0=date.today() + timedelta(days=12), timezone="UTC",
                        language=None, actor="staff:1")  # fmt: skip
    key = app.config["DATA_KEY"]
    set_contact(session, participant, email="p@example.org", phone=None,
                data_key=key, actor="staff:1")  # fmt: skip
    from pro_app.dbtypes import utcnow

    plan_messages(session, utcnow(), data_key=key)
    session.commit()
    queued = session.scalars(select(Outbox).where(Outbox.kind == "invitation")).all()
    assert queued, "the open baseline window should have an invitation queued"
    amended = tmp_path / "v2.toml"
    text = SHIPPED_PROTOCOL.read_text().replace(
        'protocol_version = "demo-1"', 'protocol_version = "2"'
    )
    # Baseline now opens 7 days before its target instead of 14: later than today.
    amended.write_text(text.replace("window_before = 14", "window_before = 7", 1))
    session.commit()
    result = runner.invoke(args=["studies", "import", str(amended)])
    assert result.exit_code == 0, result.output
    session.expire_all()
    opens = min(
        a.opens_at
        for a in session.scalars(select(Assignment))
        if a.timepoint.code == "BL"
    )
    assert opens > utcnow()
    pending = session.scalars(
        select(Outbox).where(Outbox.status == "pending", Outbox.kind == "invitation")
    ).all()
    assert all(row.due_at >= opens for row in pending)


def test_dry_run_of_an_unchanged_file_says_no_change(app, session):
    runner = app.test_cli_runner()
    assert (
        runner.invoke(args=["studies", "import", str(SHIPPED_PROTOCOL)]).exit_code == 0
    )
    events = count(session, AuditEvent)
    session.commit()  # hold no transaction on the shared test connection
    result = runner.invoke(
        args=["studies", "import", "--dry-run", str(SHIPPED_PROTOCOL)]
    )
    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == [
        "NCT06737380: no change (protocol version demo-1 matches the database)"
    ]
    # Imported again for real: still no change, and nothing in the audit trail.
    again = runner.invoke(args=["studies", "import", str(SHIPPED_PROTOCOL)])
    assert again.exit_code == 0, again.output
    assert "no change" in again.output
    assert "would" not in again.output
    assert count(session, AuditEvent) == events


def test_dry_run_names_a_changed_contact_and_writes_nothing(app, session, tmp_path):
    runner = app.test_cli_runner()
    assert (
        runner.invoke(args=["studies", "import", str(SHIPPED_PROTOCOL)]).exit_code == 0
    )
    changed = tmp_path / "contact.toml"
    changed.write_text(
        SHIPPED_PROTOCOL.read_text().replace(
            'phone = "+44 20 7946 0321"', 'phone = "+44 20 7946 0999"'
        )
    )
    result = runner.invoke(args=["studies", "import", "--dry-run", str(changed)])
    assert result.exit_code == 0, result.output
    assert "no change" not in result.output
    assert (
        "site 01: contact_phone '+44 20 7946 0321' -> '+44 20 7946 0999'"
        in result.output
    )
    session.expire_all()
    assert session.scalar(select(Site.contact_phone)) == "+44 20 7946 0321"
    session.commit()  # hold no transaction on the shared test connection
    real = runner.invoke(args=["studies", "import", str(changed)])
    assert real.exit_code == 0, real.output
    session.expire_all()
    assert session.scalar(select(Site.contact_phone)) == "+44 20 7946 0999"
    amend = session.scalars(
        select(AuditEvent).where(AuditEvent.action == "study.amend")
    ).one()
    assert any("contact_phone" in line for line in amend.new_value["changes"])


def test_import_stores_the_site_contact(app, session):
    result = app.test_cli_runner().invoke(
        args=["studies", "import", str(SHIPPED_PROTOCOL)]
    )
    assert result.exit_code == 0, result.output
    site = session.scalar(select(Site))
    assert (site.contact_name, site.contact_phone, site.contact_email) == (
        "Demo study team",
        "+44 20 7946 0321",
        "study-team@example.org",
    )
    assert site.team_contact.tel_uri == "tel:+442079460321"


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        (
            'email = "study-team@example.org"',
            'email = "study-team at example.org"',
            "sites[0].contact.email: 'study-team at example.org' is not an email",
        ),
        (
            'phone = "+44 20 7946 0321"',
            'phone = "020 7946 0321"',
            "sites[0].contact.phone: '020 7946 0321' is not a phone number with "
            "its country code",
        ),
    ],
)
def test_a_malformed_contact_is_refused_and_nothing_is_imported(
    app, session, tmp_path, old, new, message
):
    bad = tmp_path / "bad.toml"
    text = SHIPPED_PROTOCOL.read_text()
    assert old in text
    bad.write_text(text.replace(old, new))
    result = app.test_cli_runner().invoke(args=["studies", "import", str(bad)])
    assert result.exit_code == 1
    assert f"error: {bad}: {message}" in result.output
    assert count(session, Study) == 0
    assert count(session, Site) == 0
    assert count(session, AuditEvent) == 0


def test_a_contact_removed_from_the_file_is_removed_from_the_site(session, catalog):
    import_protocol(session, make_protocol(catalog), actor="staff:1")
    doc = protocol_doc()
    del doc["sites"][0]["contact"]
    report = import_protocol(session, make_protocol(catalog, doc), actor="staff:1")
    assert report.study_changes == [
        "site 01: contact_name 'Demo study team' -> None, "
        "contact_phone '+44 20 7946 0321' -> None, "
        "contact_email 'study-team@example.org' -> None"
    ]
    assert session.scalar(select(Site)).team_contact is None


def test_the_baseline_visit_follows_the_protocol_file(session, catalog):
    import_protocol(session, make_protocol(catalog), actor="staff:1")
    baseline = session.scalars(select(Timepoint.code).where(Timepoint.is_baseline))
    assert list(baseline) == ["BL"]

    doc = protocol_doc()
    doc["timepoints"][0]["baseline"] = False
    doc["timepoints"][1]["baseline"] = True
    report = import_protocol(session, make_protocol(catalog, doc), actor="staff:1")
    assert "timepoint BL: is_baseline True -> False" in report.study_changes
    assert "timepoint W4: is_baseline False -> True" in report.study_changes
    baseline = session.scalars(select(Timepoint.code).where(Timepoint.is_baseline))
    assert list(baseline) == ["W4"]


def test_import_refuses_a_subject_id_pattern_with_non_ascii_ids(app, session, tmp_path):
    text = SHIPPED_PROTOCOL.read_text(encoding="utf-8").replace(
        '# subject_id_pattern = "[A-Za-z0-9][A-Za-z0-9._-]{0,39}"',
        'subject_id_pattern = "LK-\\\\w+"',
    )
    assert "subject_id_pattern = " in text
    path = tmp_path / "study.toml"
    path.write_text(text, encoding="utf-8")
    result = app.test_cli_runner().invoke(args=["studies", "import", str(path)])
    assert result.exit_code != 0
    assert "subject_id_pattern" in result.output
    assert "non-ASCII" in result.output
    assert session.scalar(select(Study)) is None
