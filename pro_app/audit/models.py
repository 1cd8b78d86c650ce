"""The audit trail: append-only, each row chained to the one before by hash."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import DDL, JSON, String, Text, event
from sqlalchemy.orm import Mapped, mapped_column

from pro_app.dbtypes import UTCDateTime, utcnow
from pro_app.extensions import db


class AuditEvent(db.Model):
    __tablename__ = "audit_events"

    # The primary key is the sequence number: gap-free order of events.
    id: Mapped[int] = mapped_column(primary_key=True)
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    actor: Mapped[str] = mapped_column(String(60))
    action: Mapped[str] = mapped_column(String(60), index=True)
    entity_type: Mapped[str] = mapped_column(String(40))
    entity_id: Mapped[str | None] = mapped_column(String(60))
    study_id: Mapped[int | None] = mapped_column(index=True)
    old_value: Mapped[Any | None] = mapped_column(JSON)
    new_value: Mapped[Any | None] = mapped_column(JSON)
    reason: Mapped[str | None] = mapped_column(Text)
    ip: Mapped[str | None] = mapped_column(String(45))
    user_agent: Mapped[str | None] = mapped_column(String(300))
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64), unique=True)


# The database itself refuses to change or remove an event, whatever client
# writes to it. Tests that tamper on purpose drop these first, as an intruder
# with owner rights could; `flask audit verify` still finds the change.
_SQLITE_GUARDS = [
    DDL(
        f"CREATE TRIGGER audit_events_no_{verb.lower()} BEFORE {verb} ON audit_events "
        "BEGIN SELECT RAISE(ABORT, 'audit_events is append-only'); END"
    ).execute_if(dialect="sqlite")
    for verb in ("UPDATE", "DELETE")
]
_PG_GUARDS = [
    DDL(
        "CREATE OR REPLACE FUNCTION audit_events_refuse_change() RETURNS trigger "
        "LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION "
        "'audit_events is append-only (%% refused)', TG_OP; END $$"
    ).execute_if(dialect="postgresql"),
    DDL(
        "CREATE TRIGGER audit_events_append_only BEFORE UPDATE OR DELETE "
        "ON audit_events FOR EACH ROW EXECUTE FUNCTION audit_events_refuse_change()"
    ).execute_if(dialect="postgresql"),
]
for _guard in (*_SQLITE_GUARDS, *_PG_GUARDS):
    event.listen(AuditEvent.__table__, "after_create", _guard)


@event.listens_for(AuditEvent, "before_update")
@event.listens_for(AuditEvent, "before_delete")
def _refuse_change(mapper: object, connection: object, target: AuditEvent) -> None:
    raise PermissionError(f"audit event {target.id} is append-only")
