import pytest
from sqlalchemy import select, text

from pro_app.audit.models import AuditEvent
from pro_app.audit.services import GENESIS, record, verify


def _three_events(session):
    for i in range(3):
        record(
            session,
            actor="system:test",
            action="thing.change",
            entity_type="thing",
            entity_id=i,
            old={"v": i},
            new={"v": i + 1},
            reason="because",
        )
    session.commit()


def test_events_are_chained_and_verify(session):
    _three_events(session)
    events = session.scalars(select(AuditEvent).order_by(AuditEvent.id)).all()
    assert events[0].prev_hash == GENESIS
    assert [e.prev_hash for e in events[1:]] == [e.hash for e in events[:-1]]
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


def test_verify_finds_a_row_altered_behind_the_orm(session):
    _three_events(session)
    session.execute(
        text("UPDATE audit_events SET new_value = '{\"v\": 99}' WHERE id = 2")
    )
    session.commit()
    problems = verify(session)
    assert problems == ["event 2: contents do not match its hash"]


def test_verify_finds_a_deleted_row(session):
    _three_events(session)
    session.execute(text("DELETE FROM audit_events WHERE id = 2"))
    session.commit()
    assert verify(session) == ["event 3: previous hash does not match"]


def test_cli_verify(app, session):
    _three_events(session)
    runner = app.test_cli_runner()
    ok = runner.invoke(args=["audit", "verify"])
    assert ok.exit_code == 0
    assert "intact" in ok.output
    session.execute(text("UPDATE audit_events SET actor = 'someone' WHERE id = 1"))
    session.commit()
    bad = runner.invoke(args=["audit", "verify"])
    assert bad.exit_code == 1
    assert "event 1" in bad.output
