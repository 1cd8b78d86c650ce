import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError

from pro_app.audit.models import AuditEvent
from pro_app.audit.services import (
    GENESIS,
    ProblemKind,
    latest_verification,
    record,
    verify,
    verify_chain,
)
from tests.web.audit.helpers import make_events, unguarded


def _three_events(session):
    make_events(session, 3)


def test_events_are_chained_and_verify(session):
    _three_events(session)
    events = session.scalars(select(AuditEvent).order_by(AuditEvent.id)).all()
    assert [e.id for e in events] == [1, 2, 3]
    assert events[0].prev_hash == GENESIS
    assert [e.prev_hash for e in events[1:]] == [e.hash for e in events[:-1]]
    assert verify(session) == []
    result = verify_chain(session)
    assert result.ok
    assert (result.events, result.head_id, result.head_hash) == (3, 3, events[2].hash)


def test_a_rolled_back_event_leaves_no_gap(session):
    _three_events(session)
    record(session, actor="system:test", action="x", entity_type="thing")
    session.rollback()
    assert record(session, actor="system:test", action="y", entity_type="t").id == 4
    session.commit()
    assert verify(session) == []


def test_orm_refuses_to_change_or_delete_an_event(session):
    _three_events(session)
    event = session.scalars(select(AuditEvent)).first()
    event.reason = "rewritten"
    with pytest.raises(PermissionError):
        session.flush()
    session.rollback()
    session.delete(session.scalars(select(AuditEvent)).first())
    with pytest.raises(PermissionError):
        session.flush()
    session.rollback()


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE audit_events SET reason = 'rewritten' WHERE id = 2",
        "UPDATE audit_events SET hash = prev_hash",
        "DELETE FROM audit_events WHERE id = 3",
        "DELETE FROM audit_events",
    ],
)
def test_the_database_refuses_raw_updates_and_deletes(session, statement):
    _three_events(session)
    with pytest.raises(DBAPIError, match="append-only"):
        session.execute(text(statement))
    session.rollback()
    assert session.scalar(text("SELECT count(*) FROM audit_events")) == 3
    assert session.scalar(text("SELECT reason FROM audit_events WHERE id = 2")) == (
        "because"
    )
    assert verify(session) == []


def test_verify_finds_a_row_altered_behind_the_orm(session):
    _three_events(session)
    with unguarded(session):
        session.execute(
            text("UPDATE audit_events SET new_value = '{\"v\": 99}' WHERE id = 2")
        )
        session.commit()
        assert verify(session) == ["event 2: contents do not match its hash"]


def test_verify_finds_a_deleted_row(session):
    _three_events(session)
    with unguarded(session):
        session.execute(text("DELETE FROM audit_events WHERE id = 2"))
        session.commit()
        result = verify_chain(session)
    assert [(p.event_id, p.kind) for p in result.problems] == [
        (2, ProblemKind.MISSING),
        (3, ProblemKind.BROKEN_LINK),
    ]
    assert result.first_bad.event_id == 2
    assert str(result.first_bad) == "event 2: missing (the sequence jumps from 1 to 3)"


def test_cli_verify(app, session):
    _three_events(session)
    runner = app.test_cli_runner()
    ok = runner.invoke(args=["audit", "verify"])
    assert ok.exit_code == 0, ok.output
    head = session.scalar(select(AuditEvent.hash).where(AuditEvent.id == 3))
    assert f"audit trail intact: 3 events, head {head}" in ok.output
    recorded = latest_verification(session)
    assert recorded.id == 4
    assert recorded.actor == "system:audit-verify"
    assert recorded.study_id is None
    assert f"anchor for the next run: 4:{recorded.hash}" in ok.output
    assert recorded.new_value == {
        "ok": True,
        "events": 3,
        "first_bad": None,
        "first_problem": None,
        "problems": 0,
        "head_id": 3,
        "head": head,
        "anchor": None,
    }
    with unguarded(session):
        session.execute(text("UPDATE audit_events SET actor = 'someone' WHERE id = 1"))
        session.commit()
        bad = runner.invoke(args=["audit", "verify"])
    assert bad.exit_code == 1
    assert "event 1: contents do not match its hash" in bad.output
    assert "first bad event 1 (edited)" in bad.output
    assert "intact" not in bad.output
    failed = latest_verification(session)
    assert failed.id == 5
    assert failed.new_value["ok"] is False
    assert failed.new_value["first_bad"] == 1
    assert failed.new_value["events"] == 4


def test_cli_rejects_a_malformed_anchor(app, session):
    _three_events(session)
    result = app.test_cli_runner().invoke(args=["audit", "verify", "--anchor", "3:xy"])
    assert result.exit_code == 2
    assert "ID:HASH" in result.output
    assert latest_verification(session) is None
