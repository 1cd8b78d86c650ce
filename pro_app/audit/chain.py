"""The hash chain of the audit trail: how an event is hashed, and verification.

Each event stores the hash of the event before it (``prev_hash``) and its own
(SHA-256 over a canonical JSON of its fields, ``prev_hash`` included). The id
is the sequence number: ``record`` gives 1, 2, 3... without gaps. A walk in id
order therefore finds, naming the first event concerned:

- an edited field: the event's contents no longer match its hash;
- a deleted event: a gap in the sequence (or, if the later ids were renumbered
  to close it, an event that does not link to the one before it);
- an inserted event: it breaks the link of the event after it, or its own.

What a chain alone cannot show, whoever can write to the table can do:
delete the newest events (nothing links to the last one), or rewrite an event
and recompute every hash after it, or append a forged event with a correct
hash (the algorithm is public, nothing is keyed). Two things narrow this:
each ``flask audit verify`` records the head it saw (an ``audit.verify`` event),
and every later walk checks that head is still there unchanged, which
catches a rewrite that left those events as they were; and the head printed by
the command, kept outside the database and passed back as an anchor
(``--anchor ID:HASH``), catches truncation and rewrites up to that event.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import Row
from sqlalchemy.orm import Session

from pro_app.audit.models import AuditEvent

GENESIS = "0" * 64
VERIFY_ACTION = "audit.verify"
_CHUNK = 1000
_TABLE = AuditEvent.__table__


def digest(fields: dict[str, Any]) -> str:
    """Return the SHA-256 of the canonical JSON of ``fields``."""
    canonical = json.dumps(
        fields, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


def hashed_fields(event: Any) -> dict[str, Any]:
    """Return the fields an event's hash covers (an ``AuditEvent`` or a row)."""
    return {
        "occurred_at": event.occurred_at and event.occurred_at.isoformat(),
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


class ProblemKind(StrEnum):
    EDITED = "edited"  # contents do not match the stored hash
    MISSING = "missing"  # a sequence number with no event
    OUT_OF_SEQUENCE = "out_of_sequence"  # an id that cannot follow the one before
    INSERTED = "inserted"  # the next event links past this one
    BROKEN_LINK = "broken_link"  # prev_hash is not the hash of the event before
    HEAD_CHANGED = "head_changed"  # differs from a head seen by a verification


@dataclass(frozen=True)
class Problem:
    """One thing wrong with the chain, about one event."""

    event_id: int
    kind: ProblemKind
    detail: str

    def __str__(self) -> str:
        return f"event {self.event_id}: {self.detail}"


@dataclass(frozen=True)
class Anchor:
    """An event id and hash seen earlier, kept outside the database."""

    event_id: int
    hash: str

    @classmethod
    def parse(cls, text: str) -> Anchor:
        """Parse ``ID:HASH`` (as printed by ``flask audit verify``)."""
        event_id, sep, value = text.strip().partition(":")
        value = value.lower()
        if not sep or not event_id.isdigit() or len(value) != 64:
            raise ValueError("an anchor is ID:HASH, e.g. 42:9f86d0...")
        int(value, 16)  # raises ValueError when not hexadecimal
        return cls(int(event_id), value)

    def __str__(self) -> str:
        return f"{self.event_id}:{self.hash}"


@dataclass(frozen=True)
class Verification:
    """The outcome of a walk over the chain."""

    events: int
    head_id: int | None
    head_hash: str
    problems: tuple[Problem, ...]

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def first_bad(self) -> Problem | None:
        return self.problems[0] if self.problems else None


def _rows(session: Session) -> Iterator[Row[Any]]:
    """Every event in id order, read in chunks (Core rows: never a stale copy).

    On SQLite a tampered cell may not even parse (JSON, timestamp); such a
    chunk is re-read one event at a time and an unreadable event comes back
    as ``(id, None)`` so the walk can name it.
    """
    last = None
    while True:
        query = select(_TABLE).order_by(_TABLE.c.id).limit(_CHUNK)
        if last is not None:
            query = query.where(_TABLE.c.id > last)
        try:
            chunk = session.execute(query).all()
        except (ValueError, TypeError):
            chunk = list(_one_by_one(session, last))
        if not chunk:
            return
        yield from chunk
        last = chunk[-1].id


def _one_by_one(session: Session, after: int | None) -> Iterator[Any]:
    query = select(_TABLE.c.id, _TABLE.c.prev_hash, _TABLE.c.hash)
    if after is not None:
        query = query.where(_TABLE.c.id > after)
    for ident, prev_hash, stored in session.execute(
        query.order_by(_TABLE.c.id).limit(_CHUNK)
    ).all():
        try:
            yield session.execute(select(_TABLE).where(_TABLE.c.id == ident)).one()
        except (ValueError, TypeError):
            yield _Unreadable(ident, prev_hash, stored)


@dataclass(frozen=True)
class _Unreadable:
    id: int
    prev_hash: str
    hash: str


def _verified_heads(session: Session) -> dict[int, str]:
    """Heads recorded by earlier verifications: event id -> hash seen then."""
    heads: dict[int, str] = {}
    for (value,) in session.execute(
        select(_TABLE.c.new_value).where(_TABLE.c.action == VERIFY_ACTION)
    ):
        if isinstance(value, dict):
            head_id, head = value.get("head_id"), value.get("head")
            if isinstance(head_id, int) and isinstance(head, str):
                heads.setdefault(head_id, head)
    return heads


def verify_chain(session: Session, anchor: Anchor | None = None) -> Verification:
    """Walk the whole chain in id order and report every problem, first first.

    Args:
        anchor: an event id and hash kept outside the database since an
            earlier run; the event must still be there with that hash.
    """
    try:
        heads = _verified_heads(session)
    except (ValueError, TypeError):
        heads = {}  # an unreadable verification event is reported by the walk
    problems: list[Problem] = []
    count = 0
    prev_id, prev_hash, before_prev_hash, before_prev_id = 0, GENESIS, None, 0
    for row in _rows(session):
        count += 1
        if row.id > prev_id + 1:
            missing = (
                f"missing (the sequence jumps from {prev_id} to {row.id})"
                if prev_id
                else f"missing (the sequence starts at {row.id}, not 1)"
            )
            problems.append(Problem(prev_id + 1, ProblemKind.MISSING, missing))
        elif row.id <= prev_id:
            problems.append(
                Problem(
                    row.id,
                    ProblemKind.OUT_OF_SEQUENCE,
                    "out of sequence (ids start at 1)",
                )
            )
        if isinstance(row, _Unreadable) or digest(hashed_fields(row)) != row.hash:
            problems.append(
                Problem(row.id, ProblemKind.EDITED, "contents do not match its hash")
            )
        if row.prev_hash != prev_hash:
            if before_prev_hash is not None and row.prev_hash == before_prev_hash:
                # It links to the event two back: the one between was put in.
                problems.append(
                    Problem(
                        prev_id,
                        ProblemKind.INSERTED,
                        f"inserted (event {row.id} links past it, to "
                        + (
                            f"event {before_prev_id})"
                            if before_prev_id
                            else "the start of the chain)"
                        ),
                    )
                )
            else:
                problems.append(
                    Problem(
                        row.id,
                        ProblemKind.BROKEN_LINK,
                        "previous hash does not match the event before it "
                        "(an event before it is missing or was changed)",
                    )
                )
        seen = anchor.hash if anchor and anchor.event_id == row.id else None
        for expected, source in (
            (heads.get(row.id), "an earlier verification"),
            (seen, "the anchor"),
        ):
            if expected is not None and row.hash != expected:
                problems.append(
                    Problem(
                        row.id,
                        ProblemKind.HEAD_CHANGED,
                        f"hash differs from the one {source} saw "
                        "(this event or one before it was rewritten)",
                    )
                )
        before_prev_id, before_prev_hash = prev_id, prev_hash
        prev_id, prev_hash = row.id, row.hash
    if anchor is not None and anchor.event_id > prev_id:
        # Nothing links to the last event: only the anchor shows the cut.
        problems.append(
            Problem(
                prev_id + 1,
                ProblemKind.MISSING,
                f"missing (the trail ends at event {prev_id}; the anchor saw "
                f"event {anchor.event_id})",
            )
        )
    problems.sort(key=lambda p: p.event_id)
    return Verification(
        events=count,
        head_id=prev_id or None,
        head_hash=prev_hash,
        problems=tuple(problems),
    )


def verify(session: Session) -> list[str]:
    """Re-walk the chain; return one line per problem (empty when intact)."""
    return [str(problem) for problem in verify_chain(session).problems]
