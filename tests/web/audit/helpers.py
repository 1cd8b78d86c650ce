"""Helpers for tampering with the audit trail as an intruder would."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import text
from sqlalchemy.orm import Session

from pro_app.audit.services import record

PG_TRIGGER = (
    "CREATE TRIGGER audit_events_append_only BEFORE UPDATE OR DELETE "
    "ON audit_events FOR EACH ROW EXECUTE FUNCTION audit_events_refuse_change()"
)
SQLITE_TRIGGER = (
    "CREATE TRIGGER audit_events_no_{verb} BEFORE {verb} ON audit_events "
    "BEGIN SELECT RAISE(ABORT, 'audit_events is append-only'); END"
)


def is_pg(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


@contextmanager
def unguarded(session: Session) -> Iterator[None]:
    """Drop the append-only triggers, as someone with owner rights could.

    They are put back afterwards: on PostgreSQL the schema outlives the test.
    """
    if is_pg(session):
        session.execute(text("DROP TRIGGER audit_events_append_only ON audit_events"))
    else:
        for verb in ("update", "delete"):
            session.execute(text(f"DROP TRIGGER audit_events_no_{verb}"))
    session.commit()
    try:
        yield
    finally:
        session.rollback()
        if is_pg(session):
            session.execute(text(PG_TRIGGER))
        else:
            for verb in ("UPDATE", "DELETE"):
                session.execute(text(SQLITE_TRIGGER.format(verb=verb)))
        session.commit()


def make_events(session: Session, n: int = 5, study_id: int | None = None) -> None:
    """Record ``n`` events and commit."""
    for i in range(1, n + 1):
        record(
            session,
            actor="system:test",
            action="thing.change",
            entity_type="thing",
            entity_id=i,
            old={"v": i},
            new={"v": i + 1},
            reason="because",
            study_id=study_id,
        )
    session.commit()
