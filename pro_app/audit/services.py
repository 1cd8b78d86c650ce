"""Write and verify the audit trail."""

from __future__ import annotations

import hashlib
import json
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from pro_app.audit.models import AuditEvent
from pro_app.dbtypes import utcnow

GENESIS = "0" * 64
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


def _digest(fields: dict[str, Any]) -> str:
    canonical = json.dumps(
        fields, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


def _hashed_fields(event: AuditEvent) -> dict[str, Any]:
    return {
        "occurred_at": event.occurred_at.isoformat(),
        "actor": event.actor,
        "action": event.action,
        "entity_type": event.entity_type,
        "entity_id": event.entity_id,
        "study_id": event.study_id,
        "old_value": event.old_value,
        "new_value": event.new_value,
        "reason": event.reason,
        "ip": event.ip,
        "user_agent": event.user_agent,
        "prev_hash": event.prev_hash,
    }


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
    prev = session.scalar(
        select(AuditEvent.hash).order_by(AuditEvent.id.desc()).limit(1)
    )
    meta = request_meta.get() or RequestMeta()
    event = AuditEvent(
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
        prev_hash=prev or GENESIS,
    )
    event.hash = _digest(_hashed_fields(event))
    session.add(event)
    session.flush()
    return event


def verify(session: Session) -> list[str]:
    """Re-walk the chain; return one line per broken link (empty when intact)."""
    problems: list[str] = []
    prev = GENESIS
    for event in session.scalars(select(AuditEvent).order_by(AuditEvent.id)):
        if event.prev_hash != prev:
            problems.append(f"event {event.id}: previous hash does not match")
        if _digest(_hashed_fields(event)) != event.hash:
            problems.append(f"event {event.id}: contents do not match its hash")
        prev = event.hash
    return problems
