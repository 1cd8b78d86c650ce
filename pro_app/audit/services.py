"""Write the audit trail, and record its verification (see ``chain``)."""

from __future__ import annotations

import json
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from pro_app.audit.chain import (
    GENESIS,
    VERIFY_ACTION,
    Anchor,
    Problem,
    ProblemKind,
    Verification,
    digest,
    hashed_fields,
    verify,
    verify_chain,
)
from pro_app.audit.models import AuditEvent
from pro_app.dbtypes import utcnow

__all__ = [
    "GENESIS",
    "VERIFY_ACTION",
    "Anchor",
    "Problem",
    "ProblemKind",
    "RequestMeta",
    "Verification",
    "latest_verification",
    "record",
    "record_verification",
    "request_meta",
    "verify",
    "verify_chain",
]

# Any constant shared by all writers; it names the advisory lock on PostgreSQL.
_CHAIN_LOCK_KEY = 0x50524F41554449


@dataclass(frozen=True)
class RequestMeta:
    """Where a change came from: set once per request by the web layer."""

    ip: str | None = None
    user_agent: str | None = None


request_meta: ContextVar[RequestMeta | None] = ContextVar(
    "audit_request_meta", default=None
)


def _json_default(value: object) -> str:
    if isinstance(value, date | datetime):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not audit-serialisable")


def _jsonable(value: Any) -> Any:
    """Normalise a value to what the JSON column will give back."""
    if value is None:
        return None
    return json.loads(json.dumps(value, default=_json_default))


def record(
    session: Session,
    *,
    actor: str,
    action: str,
    entity_type: str,
    entity_id: object = None,
    old: Any = None,
    new: Any = None,
    reason: str | None = None,
    study_id: int | None = None,
) -> AuditEvent:
    """Append one audit event, chained to the previous one, and flush it.

    Args:
        actor: ``participant:<id>``, ``staff:<id>`` or ``system:<job>``.
        old: the value before the change (``None`` for a creation).
        new: the value after the change (``None`` for a deletion).
    """
    if session.get_bind().dialect.name == "postgresql":
        # Serialise "read the last hash, insert the next" across connections.
        session.execute(
            text("SELECT pg_advisory_xact_lock(:k)"), {"k": _CHAIN_LOCK_KEY}
        )
    session.flush()
    last = session.execute(
        select(AuditEvent.id, AuditEvent.hash).order_by(AuditEvent.id.desc()).limit(1)
    ).first()
    meta = request_meta.get() or RequestMeta()
    event = AuditEvent(
        # The id is the sequence number, given here rather than by a database
        # sequence: PostgreSQL's skip a value on every rollback, and a gap
        # must mean a deleted event. Two writers cannot take the same number
        # (the lock above; on SQLite the primary key refuses the second).
        id=(last.id + 1) if last else 1,
        occurred_at=utcnow(),
        actor=actor,
        action=action,
        entity_type=entity_type,
        entity_id=None if entity_id is None else str(entity_id),
        study_id=study_id,
        old_value=_jsonable(old),
        new_value=_jsonable(new),
        reason=reason,
        ip=meta.ip,
        user_agent=(meta.user_agent or None) and meta.user_agent[:300],
        prev_hash=last.hash if last else GENESIS,
    )
    event.hash = digest(hashed_fields(event))
    session.add(event)
    session.flush()
    return event


def record_verification(
    session: Session, result: Verification, *, actor: str, anchor: Anchor | None
) -> AuditEvent:
    """Append the outcome of a verification as a global ``audit.verify`` event.

    The head it saw (id and hash) is kept in the event: later walks check that
    event is still there with that hash (see ``pro_app.audit.chain``).
    """
    first = result.first_bad
    return record(
        session,
        actor=actor,
        action=VERIFY_ACTION,
        entity_type="audit_trail",
        new={
            "ok": result.ok,
            "events": result.events,
            "first_bad": first.event_id if first else None,
            "first_problem": first.kind.value if first else None,
            "problems": len(result.problems),
            "head_id": result.head_id,
            "head": result.head_hash,
            "anchor": None if anchor is None else str(anchor),
        },
    )


def latest_verification(session: Session) -> AuditEvent | None:
    """Return the latest ``audit.verify`` event (its ``new_value`` has the outcome)."""
    return session.scalar(
        select(AuditEvent)
        .where(AuditEvent.action == VERIFY_ACTION)
        .order_by(AuditEvent.id.desc())
        .limit(1)
    )
