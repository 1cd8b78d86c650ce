"""What the study dashboard shows, read in a fixed number of queries.

Whatever the number of participants, the dashboard reads the timepoints, the
participants, their assignments, the failing messages and the last audit
verification once each, and aggregates in Python (``studies.progress``).
Statuses are worked out from the windows and ``now``, never taken from a
stored "open" that a job may not have updated.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from pro_app.audit.services import latest_verification
from pro_app.auth.scope import in_sites
from pro_app.notify.models import Outbox, OutboxStatus
from pro_app.participants.models import Participant, ParticipantStatus
from pro_app.studies.models import Assignment, Site
from pro_app.studies.planning import active_timepoints
from pro_app.studies.progress import (
    RECENT,
    ActionKind,
    Cell,
    Rate,
    Slot,
    cell_actions,
    cell_state,
    local_day,
)
from pro_app.studies.rules import AssignmentStatus as S
from pro_app.studies.rules import effective_status


@dataclass(frozen=True)
class Row:
    participant_id: int
    subject_id: str
    site_code: str
    status: ParticipantStatus
    cells: list[Cell]


@dataclass(frozen=True)
class Action:
    kind: ActionKind
    participant_id: int
    subject_id: str
    timepoint_code: str | None
    # The participant's local day it is about (see ``progress.cell_actions``;
    # for a message, the day it was due).
    day: date
    # Failed messages only.
    channel: str | None = None
    error: str | None = None
    attempts: int = 0
    retrying: bool = False


@dataclass(frozen=True)
class Verification:
    at: datetime
    ok: bool | None
    problems: int | None
    first_bad: Any
    events: int | None


@dataclass
class Dashboard:
    timepoints: list[tuple[int, str, str]]  # id, code, label
    rows: list[Row] = field(default_factory=list)
    rates: list[Rate] = field(default_factory=list)
    actions: dict[ActionKind, list[Action]] = field(default_factory=dict)
    counts: dict[ParticipantStatus, int] = field(default_factory=dict)


def visible_sites(
    session: Session, study_id: int, site_ids: Collection[int] | None
) -> list[Site]:
    """Return the study's sites a user may see (``None``: every site), by code."""
    query = select(Site).where(Site.study_id == study_id).order_by(Site.code)
    return list(session.scalars(query.where(in_sites(Site.id, site_ids))))


def last_verification(session: Session) -> Verification | None:
    """Return the outcome of the latest ``flask audit verify``, if any."""
    event = latest_verification(session)
    if event is None:
        return None
    # Read defensively: the payload is the CLI's, not validated anywhere else.
    value = event.new_value if isinstance(event.new_value, dict) else {}
    ok = value.get("ok")
    return Verification(
        at=event.occurred_at,
        ok=None if ok is None else bool(ok),
        problems=value.get("problems"),
        first_bad=value.get("first_bad"),
        events=value.get("events"),
    )


def study_dashboard(
    session: Session, study_id: int, *, sites: Mapping[int, str], now: datetime
) -> Dashboard:
    """Build the completion matrix, rates and action list of some sites.

    Args:
        sites: the sites to show, id to code (those the user may see, or the
            one chosen in the filter).
    """
    timepoints = [
        (tp.id, tp.code, tp.label) for tp in active_timepoints(session, study_id)
    ]
    people = session.execute(
        select(
            Participant.id,
            Participant.subject_id,
            Participant.site_id,
            Participant.status,
            Participant.timezone,
        )
        .where(Participant.study_id == study_id, Participant.site_id.in_(sites))
        .order_by(Participant.subject_id)
    ).all()
    slots = _slots(session, study_id, sites, now)
    board = Dashboard(
        timepoints,
        actions={kind: [] for kind in ActionKind},
        counts=dict.fromkeys(ParticipantStatus, 0),
    )
    # Per timepoint: completed and expected (opened, not cancelled) questionnaires.
    tallies = {tp_id: [0, 0] for tp_id, _, _ in timepoints}
    for pid, subject_id, site_id, status, tz in people:
        board.counts[status] += 1
        cells = []
        for tp_id, code, _ in timepoints:
            group = slots.get((pid, tp_id), [])
            state = cell_state(group, now)
            live = [s for s in group if s.status is not S.CANCELLED]
            done = sum(s.n for s in live if s.status is S.COMPLETED)
            cells.append(Cell(state, done, sum(s.n for s in live)))
            opened = [s for s in live if s.opens_at <= now]
            tallies[tp_id][0] += sum(s.n for s in opened if s.status is S.COMPLETED)
            tallies[tp_id][1] += sum(s.n for s in opened)
            if status is ParticipantStatus.ACTIVE and live:
                for kind, day in cell_actions(live, state, now, tz):
                    board.actions[kind].append(Action(kind, pid, subject_id, code, day))
        board.rows.append(Row(pid, subject_id, sites[site_id], status, cells))
    codes = {tp_id: code for tp_id, code, _ in timepoints}
    board.actions[ActionKind.FAILED_MESSAGE] = _failed_messages(
        session, study_id, sites, now, codes
    )
    for entries in board.actions.values():
        entries.sort(key=lambda a: (a.day, a.subject_id, a.timepoint_code or ""))
    board.rates = [Rate(codes[tp_id], *tallies[tp_id]) for tp_id in codes]
    return board


def _slots(
    session: Session, study_id: int, site_ids: frozenset[int], now: datetime
) -> dict[tuple[int, int], list[Slot]]:
    """Every assignment of the sites, grouped by (participant, timepoint).

    The questionnaires of a timepoint usually share their window and often
    their status, so the database counts alike ones together: a third of the
    rows to read, and nothing lost.
    """
    columns = (
        Assignment.participant_id,
        Assignment.timepoint_id,
        Assignment.status,
        Assignment.opens_at,
        Assignment.due_at,
        Assignment.closes_at,
    )
    result = session.execute(
        select(*columns, func.count())
        .join(Participant, Participant.id == Assignment.participant_id)
        .where(
            Participant.study_id == study_id, in_sites(Participant.site_id, site_ids)
        )
        .group_by(*columns)
    )
    grouped: dict[tuple[int, int], list[Slot]] = defaultdict(list)
    for pid, tp_id, stored, opens_at, due_at, closes_at, n in result:
        status = effective_status(stored, opens_at, closes_at, now)
        grouped[pid, tp_id].append(Slot(status, opens_at, due_at, closes_at, n))
    return grouped


def _failed_messages(
    session: Session,
    study_id: int,
    site_ids: frozenset[int],
    now: datetime,
    codes: Mapping[int, str],
) -> list[Action]:
    """Messages given up on, or failing and retried, due in the last two weeks."""
    result = session.execute(
        select(
            Outbox.participant_id,
            Participant.subject_id,
            Participant.timezone,
            Assignment.timepoint_id,
            Outbox.due_at,
            Outbox.channel,
            Outbox.status,
            Outbox.attempts,
            Outbox.last_error,
        )
        .join(Participant, Participant.id == Outbox.participant_id)
        .join(Assignment, Assignment.id == Outbox.assignment_id)
        .where(
            Participant.study_id == study_id,
            in_sites(Participant.site_id, site_ids),
            Participant.status == ParticipantStatus.ACTIVE,
            Outbox.due_at >= now - RECENT,
            or_(
                Outbox.status == OutboxStatus.FAILED,
                # A failed attempt that will be retried: shown before it gives
                # up. (Cancelled rows carry a ``last_error`` too: the reason.)
                and_(
                    Outbox.status == OutboxStatus.PENDING,
                    Outbox.last_error.is_not(None),
                ),
            ),
        )
        .order_by(Outbox.due_at, Outbox.id)
    )
    return [
        Action(
            ActionKind.FAILED_MESSAGE,
            pid,
            subject_id,
            codes.get(tp_id),
            local_day(due_at, tz),
            channel=channel,
            error=error,
            attempts=attempts,
            retrying=status is OutboxStatus.PENDING,
        )
        for pid, subject_id, tz, tp_id, due_at, channel, status, attempts, error in (
            result
        )
    ]
