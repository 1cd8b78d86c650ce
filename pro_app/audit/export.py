"""CSV export of a study's audit trail, itself audited."""

from __future__ import annotations

import io
from collections.abc import Iterator
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from pro_app.audit.models import AuditEvent
from pro_app.audit.services import record
from pro_app.audit.trail import TrailFilter, actor_names, compact_json, conditions
from pro_app.exports.csvfile import SafeWriter

EXPORT_ACTION = "audit.export"
CSV_COLUMNS = (
    "sequence",
    "occurred_at_utc",
    "actor",
    "actor_name",
    "action",
    "entity_type",
    "entity_id",
    "old_value",
    "new_value",
    "reason",
    "ip",
    "user_agent",
    "prev_hash",
    "hash",
)
_CHUNK = 1000


def record_export(
    session: Session, f: TrailFilter, *, filters: dict[str, Any], actor: str
) -> tuple[int, int]:
    """Audit an export before it is streamed; return (rows, last event id).

    The export is bounded by the last event id at this moment, so the count
    recorded is exactly what the file holds (events are never changed or
    removed) and the export event itself is not in it.
    """
    up_to = session.scalar(select(func.max(AuditEvent.id))) or 0
    rows = session.scalar(
        select(func.count())
        .select_from(AuditEvent)
        .where(*conditions(f), AuditEvent.id <= up_to)
    )
    record(
        session,
        actor=actor,
        action=EXPORT_ACTION,
        entity_type="audit_trail",
        new={"filters": filters, "rows": rows, "up_to": up_to},
        study_id=f.study_id,
    )
    return rows or 0, up_to


def csv_lines(session: Session, f: TrailFilter, *, up_to: int) -> Iterator[str]:
    """Yield the CSV export, header first, in sequence order, chunk by chunk.

    Text cells are made safe for spreadsheets by the shared CSV writer: one
    apostrophe before a cell starting with = + - @ tab, CR or an apostrophe;
    removing it gives back the stored value exactly (e.g. to re-hash a row).
    """
    buffer = io.StringIO()
    writer = SafeWriter(buffer)
    writer.writerow(CSV_COLUMNS)
    yield buffer.getvalue()
    query = select(AuditEvent).where(*conditions(f), AuditEvent.id <= up_to)
    last = 0
    while True:
        chunk = list(
            session.scalars(
                query.where(AuditEvent.id > last).order_by(AuditEvent.id).limit(_CHUNK)
            )
        )
        if not chunk:
            return
        names = actor_names(session, [e.actor for e in chunk])
        buffer.seek(0)
        buffer.truncate()
        for e in chunk:
            writer.writerow(
                [
                    e.id,
                    e.occurred_at.isoformat(),
                    e.actor,
                    names.get(e.actor, ""),
                    e.action,
                    e.entity_type,
                    e.entity_id or "",
                    compact_json(e.old_value),
                    compact_json(e.new_value),
                    e.reason or "",
                    e.ip or "",
                    e.user_agent or "",
                    e.prev_hash,
                    e.hash,
                ]
            )
        yield buffer.getvalue()
        last = chunk[-1].id
        # Rows already written need not stay in the session's identity map.
        for e in chunk:
            session.expunge(e)
