"""Data locks: while a lock is active nobody may change the data it covers.

A lock covers the whole study, one timepoint (every participant), one
participant (every timepoint) or one participant's timepoint. Locking and
unlocking both need a reason and are audited. Every service that changes
answers, submissions or scores calls ``ensure_unlocked`` first.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import ColumnElement, Select, or_, select, update
from sqlalchemy.orm import Session

from pro_app.audit.services import record
from pro_app.auth.permissions import SiteScope
from pro_app.auth.scope import in_sites
from pro_app.dbtypes import utcnow
from pro_app.participants.models import Participant
from pro_app.studies.models import Assignment, DataLock, Study, Timepoint


class LockScope(StrEnum):
    STUDY = "study"
    TIMEPOINT = "timepoint"
    PARTICIPANT = "participant"
    PARTICIPANT_TIMEPOINT = "participant_timepoint"


class LockError(ValueError):
    """A lock or unlock request that cannot be carried out; nothing changed."""


class DataLocked(Exception):
    """A change refused because an active lock covers the data."""

    def __init__(self, lock: DataLock) -> None:
        """Keep the lock that refused the change, to tell the user which one."""
        super().__init__(f"data lock {lock.id} ({scope_of(lock).value}) is active")
        self.lock = lock


def scope_of(lock: DataLock) -> LockScope:
    """Return what a lock covers."""
    if lock.participant_id is None:
        return LockScope.STUDY if lock.timepoint_id is None else LockScope.TIMEPOINT
    if lock.timepoint_id is None:
        return LockScope.PARTICIPANT
    return LockScope.PARTICIPANT_TIMEPOINT


def _reason(reason: str | None) -> str:
    reason = (reason or "").strip()
    if not reason:
        raise LockError("a reason is required")
    return reason


def _scope_audit(lock: DataLock) -> dict[str, object]:
    return {
        "scope": scope_of(lock).value,
        "participant": lock.participant.subject_id if lock.participant else None,
        "timepoint": lock.timepoint.code if lock.timepoint else None,
    }


def _hold_study(session: Session, study_id: int, *, exclusive: bool) -> None:
    """Serialise lock changes against the data changes they guard.

    Writers take a shared row lock on the study, a new lock an exclusive one,
    so a change checked just before a lock cannot commit just after it
    (PostgreSQL; SQLite serialises writers anyway and ignores this).
    """
    query = select(Study.id).where(Study.id == study_id)
    if exclusive:
        # NO KEY UPDATE: enrolling (a foreign key to the study) is not held up.
        query = query.with_for_update(key_share=True)
    else:
        query = query.with_for_update(read=True)
    session.execute(query)


def lock(
    session: Session,
    study: Study,
    *,
    participant: Participant | None = None,
    timepoint: Timepoint | None = None,
    actor: str,
    reason: str,
    now: datetime | None = None,
) -> DataLock:
    """Lock the study, a timepoint, a participant or a participant's timepoint.

    Raises LockError without a reason, for a participant or timepoint of
    another study, or when the same scope is already locked.
    """
    reason = _reason(reason)
    if participant is not None and participant.study_id != study.id:
        raise LockError("the participant is not in this study")
    if timepoint is not None and timepoint.study_id != study.id:
        raise LockError("the timepoint is not in this study")
    _hold_study(session, study.id, exclusive=True)
    participant_id = participant.id if participant is not None else None
    timepoint_id = timepoint.id if timepoint is not None else None
    duplicate = session.scalar(
        select(DataLock.id).where(
            DataLock.study_id == study.id,
            DataLock.unlocked_at.is_(None),
            DataLock.participant_id.is_(None)
            if participant_id is None
            else DataLock.participant_id == participant_id,
            DataLock.timepoint_id.is_(None)
            if timepoint_id is None
            else DataLock.timepoint_id == timepoint_id,
        )
    )
    if duplicate is not None:
        raise LockError("this data is already locked")
    row = DataLock(
        study_id=study.id,
        participant=participant,
        timepoint=timepoint,
        locked_at=now or utcnow(),
        locked_by=actor,
        reason=reason,
    )
    session.add(row)
    if participant is None and timepoint is None:
        # Kept in step for pages and exports that show the study as locked.
        study.locked_at = row.locked_at
    session.flush()
    record(
        session,
        actor=actor,
        action="data.lock",
        entity_type="data_lock",
        entity_id=row.id,
        new=_scope_audit(row),
        reason=reason,
        study_id=study.id,
    )
    return row


def unlock(
    session: Session,
    lock: DataLock,
    *,
    actor: str,
    reason: str,
    now: datetime | None = None,
) -> DataLock:
    """End a lock (kept for the record). Raises LockError if already ended."""
    reason = _reason(reason)
    now = now or utcnow()
    # Guarded: of two unlocks at once exactly one ends the lock.
    ended = session.execute(
        update(DataLock)
        .where(DataLock.id == lock.id, DataLock.unlocked_at.is_(None))
        .values(unlocked_at=now, unlocked_by=actor, unlock_reason=reason)
        .execution_options(synchronize_session=False)
    )
    session.expire(lock)
    if ended.rowcount != 1:
        raise LockError("this lock has already been lifted")
    if scope_of(lock) is LockScope.STUDY:
        session.get_one(Study, lock.study_id).locked_at = None
        session.flush()
    record(
        session,
        actor=actor,
        action="data.unlock",
        entity_type="data_lock",
        entity_id=lock.id,
        old={**_scope_audit(lock), "locked_at": lock.locked_at},
        new={"unlocked": True},
        reason=reason,
        study_id=lock.study_id,
    )
    return lock


def _of_sites(sites: SiteScope) -> ColumnElement[bool]:
    # A site-limited viewer sees the locks of their sites' participants and the
    # study-wide ones (no participant), which cover their participants too.
    people = select(Participant.id).where(in_sites(Participant.site_id, sites))
    return or_(DataLock.participant_id.is_(None), DataLock.participant_id.in_(people))


def active_locks(session: Session, study: Study, *, sites: SiteScope) -> list[DataLock]:
    """Return the study's active locks a viewer of ``sites`` sees, oldest first."""
    return list(
        session.scalars(
            select(DataLock)
            .where(
                DataLock.study_id == study.id,
                DataLock.unlocked_at.is_(None),
                _of_sites(sites),
            )
            .order_by(DataLock.locked_at, DataLock.id)
        )
    )


def past_locks(session: Session, study: Study, *, sites: SiteScope) -> list[DataLock]:
    """Return the lifted locks a viewer of ``sites`` sees, latest lifted first."""
    return list(
        session.scalars(
            select(DataLock)
            .where(
                DataLock.study_id == study.id,
                DataLock.unlocked_at.is_not(None),
                _of_sites(sites),
            )
            .order_by(DataLock.unlocked_at.desc(), DataLock.id.desc())
        )
    )


def _covering(
    study_id: int, participant_id: int, timepoint_id: int | None
) -> Select[tuple[DataLock]]:
    # A lock covers the data when each of its columns is empty or matches;
    # without a timepoint only locks with no timepoint match.
    timepoint = DataLock.timepoint_id.is_(None)
    if timepoint_id is not None:
        timepoint = or_(timepoint, DataLock.timepoint_id == timepoint_id)
    return (
        select(DataLock)
        .where(
            DataLock.study_id == study_id,
            DataLock.unlocked_at.is_(None),
            or_(
                DataLock.participant_id.is_(None),
                DataLock.participant_id == participant_id,
            ),
            timepoint,
        )
        .order_by(DataLock.locked_at, DataLock.id)
        .limit(1)
    )


def is_locked(session: Session, assignment: Assignment) -> DataLock | None:
    """Return an active lock covering the assignment's data, or None.

    Study-wide, timepoint-wide, participant-wide and participant-timepoint
    locks all count.
    """
    participant = assignment.participant
    return session.scalar(
        _covering(participant.study_id, participant.id, assignment.timepoint_id)
    )


def participant_lock(session: Session, participant: Participant) -> DataLock | None:
    """Return an active study-wide or participant-wide lock on the participant.

    A lock on one timepoint does not lock the participant as a whole: their
    other timepoints stay open to changes.
    """
    return session.scalar(_covering(participant.study_id, participant.id, None))


def ensure_unlocked(
    session: Session,
    *,
    participant: Participant | None = None,
    assignment: Assignment | None = None,
) -> None:
    """Raise DataLocked if a change to this data is refused by an active lock.

    Call it before changing a participant as a whole (Day 0, time zone,
    withdrawal: ``participant=``, refused by study-wide and participant-wide
    locks) or one assignment's answers, submission or scores (``assignment=``,
    refused by any lock that covers it). Both may be given.
    """
    target = assignment.participant if assignment is not None else participant
    if target is None:
        raise TypeError("ensure_unlocked needs a participant or an assignment")
    _hold_study(session, target.study_id, exclusive=False)
    found = None
    if participant is not None:
        found = participant_lock(session, participant)
    if found is None and assignment is not None:
        found = is_locked(session, assignment)
    if found is not None:
        raise DataLocked(found)
