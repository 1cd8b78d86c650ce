"""What the participant page shows: timeline, answers with their history, scores.

Read-only queries, shaped for the template; nothing here writes.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from pro_app.auth.models import StaffUser
from pro_app.catalog import Catalog, Instrument
from pro_app.charts.trajectories import (
    Change,
    Point,
    Step,
    Trajectory,
    spec_for,
    step_at,
    threshold_for,
    trajectory,
)
from pro_app.notify.models import Outbox, OutboxStatus
from pro_app.participants.models import AccessToken, Participant
from pro_app.studies.models import Assignment, Timepoint
from pro_app.studies.rules import AssignmentStatus, effective_status
from pro_app.surveys.models import Answer, Score, Submission, SubmissionStatus

# Item wording and scale names are shown to the team in English when the
# instrument has it, whatever language the participant answered in.
TEAM_TEXT_LOCALE = "en"


def _instrument(
    catalog: Catalog, instrument_id: str, version: str
) -> Instrument | None:
    try:
        return catalog.get(instrument_id, version)
    except LookupError:
        return None


def instrument_name(catalog: Catalog, instrument_id: str, version: str) -> str:
    """The instrument's short name, or its id when it is not in the catalogue."""
    instrument = _instrument(catalog, instrument_id, version)
    return instrument.short_name if instrument else instrument_id


@dataclass(frozen=True)
class TimelineRow:
    assignment: Assignment
    status: AssignmentStatus  # at the time of the request
    instrument: str
    submission: Submission | None


def timeline(
    participant: Participant, catalog: Catalog, now: datetime
) -> list[TimelineRow]:
    """Every assignment in schedule order, with its status now."""
    rows = sorted(
        participant.assignments,
        key=lambda a: (a.timepoint.position, a.position, a.id),
    )
    return [
        TimelineRow(
            a,
            effective_status(a.status, a.opens_at, a.closes_at, now),
            instrument_name(catalog, a.instrument_id, a.instrument_version),
            a.submission,
        )
        for a in rows
    ]


@dataclass(frozen=True)
class Correction:
    """A staff correction: what the answer was before, who changed it and why."""

    previous_code: int | None
    previous_label: str | None
    actor: str
    at: datetime
    reason: str | None


@dataclass(frozen=True)
class AnswerRow:
    item_id: str
    item_text: str | None
    code: int | None
    label: str | None
    actor: str  # who gave the first value
    answered_at: datetime  # when the current value was stored
    corrections: tuple[Correction, ...]  # newest first


@dataclass(frozen=True)
class SubmissionView:
    submission: Submission
    timepoint: Timepoint
    instrument: str
    answers: list[AnswerRow]


def _label(instrument: Instrument | None, item_id: str, code: int | None) -> str | None:
    if instrument is None or code is None:
        return None
    text = instrument.texts.get(TEAM_TEXT_LOCALE) or instrument.texts.get(
        instrument.default_language
    )
    try:
        return text.option_label(item_id, code) if text else None
    except KeyError:
        return None


def _item_text(instrument: Instrument | None, item_id: str) -> str | None:
    if instrument is None:
        return None
    text = instrument.texts.get(TEAM_TEXT_LOCALE) or instrument.texts.get(
        instrument.default_language
    )
    return text.item_texts.get(item_id) if text else None


def _answer_rows(instrument: Instrument | None, rows: list[Answer]) -> list[AnswerRow]:
    previous = {a.replaced_by_id: a for a in rows if a.replaced_by_id is not None}
    order = {item.id: item.position for item in instrument.items} if instrument else {}
    result = []
    current = [a for a in rows if a.replaced_at is None]
    current.sort(key=lambda a: (order.get(a.item_id, len(order) + 1), a.item_id))
    for answer in current:
        corrections = []
        row = answer
        # Walk back through the values this one replaced; a change that
        # carries a reason is a staff correction (participants give none).
        while row.id in previous:
            before = previous[row.id]
            if row.reason is not None:
                corrections.append(
                    Correction(
                        before.code,
                        _label(instrument, before.item_id, before.code),
                        row.actor,
                        row.answered_at,
                        row.reason,
                    )
                )
            row = before
        result.append(
            AnswerRow(
                answer.item_id,
                _item_text(instrument, answer.item_id),
                answer.code,
                _label(instrument, answer.item_id, answer.code),
                row.actor,  # who first answered it; corrections say who changed it
                answer.answered_at,
                tuple(corrections),
            )
        )
    return result


def submissions(
    session: Session, participant: Participant, catalog: Catalog
) -> list[SubmissionView]:
    """Every submission of the participant, each with all its answer rows."""
    subs = session.scalars(
        select(Submission)
        .join(Assignment, Submission.assignment_id == Assignment.id)
        .join(Timepoint, Assignment.timepoint_id == Timepoint.id)
        .where(Submission.participant_id == participant.id)
        .order_by(Timepoint.position, Assignment.position, Submission.id)
    ).all()
    answers: dict[int, list[Answer]] = defaultdict(list)
    for answer in session.scalars(
        select(Answer)
        .join(Submission, Answer.submission_id == Submission.id)
        .where(Submission.participant_id == participant.id)
        .order_by(Answer.id)
    ):
        answers[answer.submission_id].append(answer)
    views = []
    for sub in subs:
        instrument = _instrument(catalog, sub.instrument_id, sub.instrument_version)
        views.append(
            SubmissionView(
                sub,
                sub.assignment.timepoint,
                instrument.short_name if instrument else sub.instrument_id,
                _answer_rows(instrument, answers[sub.id]),
            )
        )
    return views


def staff_names(session: Session, actors: set[str]) -> dict[str, str]:
    """Map "staff:<id>" actor strings to the staff member's name."""
    ids = {int(a.split(":", 1)[1]) for a in actors if a.startswith("staff:")}
    if not ids:
        return {}
    users = session.scalars(select(StaffUser).where(StaffUser.id.in_(ids)))
    return {f"staff:{u.id}": u.name for u in users}


@dataclass(frozen=True)
class ScaleRow:
    scale_id: str
    name: str
    scores: dict[str, Score]  # by timepoint code
    trajectory: Trajectory | None  # None: the scale is not charted


@dataclass(frozen=True)
class InstrumentScores:
    instrument_id: str
    name: str
    labels: list[str]  # timepoint codes with a completed submission
    rows: list[ScaleRow]

    @property
    def charted(self) -> list[Trajectory]:
        """The trajectories to draw, in the instrument's scale order."""
        return [r.trajectory for r in self.rows if r.trajectory is not None]

    @property
    def flags(self) -> list[tuple[InstrumentScores, Trajectory, Change]]:
        """Every (instrument, scale, timepoint) that is worse past the threshold."""
        return [(self, t, c) for t in self.charted for c in t.flags]


def scores(
    session: Session,
    participant: Participant,
    catalog: Catalog,
    settings: Mapping[str, Any] | None,
) -> list[InstrumentScores]:
    """Current scores of completed submissions, per instrument and scale."""
    found = session.execute(
        select(Score, Submission, Timepoint)
        .join(Submission, Score.submission_id == Submission.id)
        .join(Assignment, Submission.assignment_id == Assignment.id)
        .join(Timepoint, Assignment.timepoint_id == Timepoint.id)
        .where(
            Submission.participant_id == participant.id,
            Submission.status == SubmissionStatus.COMPLETED,
            Score.replaced_at.is_(None),
        )
        .order_by(Timepoint.position, Assignment.position, Score.id)
    ).all()
    labels: dict[str, list[str]] = defaultdict(list)
    by_scale: dict[str, dict[str, dict[str, Score]]] = defaultdict(
        lambda: defaultdict(dict)
    )
    versions: dict[str, str] = {}
    for score, submission, timepoint in found:
        if timepoint.code not in labels[score.instrument_id]:
            labels[score.instrument_id].append(timepoint.code)
        by_scale[score.instrument_id][score.scale_id][timepoint.code] = score
        versions[score.instrument_id] = submission.instrument_version
    result = []
    for instrument_id, codes in labels.items():
        instrument = _instrument(catalog, instrument_id, versions[instrument_id])
        order = [s.id for s in instrument.scales] if instrument else []
        by_id = {s.id: s for s in instrument.scales} if instrument else {}
        scale_ids = sorted(
            by_scale[instrument_id],
            key=lambda s: (order.index(s) if s in order else len(order), s),
        )
        rows = []
        for scale_id in scale_ids:
            found_scores = by_scale[instrument_id][scale_id]
            scale = by_id.get(scale_id)
            name = scale.name if scale else scale_id
            spec = spec_for(scale)
            traj = None
            if spec is not None:
                points = [Point(code, _value(found_scores.get(code))) for code in codes]
                threshold = threshold_for(spec.metric, settings)
                traj = trajectory(scale_id, name, points, spec, threshold)
            rows.append(ScaleRow(scale_id, name, found_scores, traj))
        name = instrument.short_name if instrument else instrument_id
        result.append(InstrumentScores(instrument_id, name, codes, rows))
    return result


def _value(score: Score | None) -> float | None:
    if score is None or score.status != "ok":
        return None
    return score.value


WAITING = (OutboxStatus.PENDING, OutboxStatus.SENDING)


def messages(session: Session, participant: Participant) -> list[Outbox]:
    """The participant's messages: the next one due first, then the rest
    (sent, failed, not sent) newest first."""
    mine = Outbox.participant_id == participant.id
    waiting = session.scalars(
        select(Outbox)
        .where(mine, Outbox.status.in_(WAITING))
        .order_by(Outbox.due_at, Outbox.id)
        .limit(20)
    )
    done = session.scalars(
        select(Outbox)
        .where(mine, Outbox.status.not_in(WAITING))
        .order_by(func.coalesce(Outbox.sent_at, Outbox.due_at).desc(), Outbox.id.desc())
        .limit(50)
    )
    return [*waiting, *done]


@dataclass(frozen=True)
class ScaleStep:
    instrument: str
    scale: str
    step: Step


@dataclass(frozen=True)
class LatestVisit:
    """What the last visit brought: its submissions and how the scores moved."""

    timepoint: Timepoint
    submitted: list[SubmissionView]
    # Scores that moved past the study's threshold since the previous visit,
    # worse first; ``steady`` counts the others that could be compared.
    moved: list[ScaleStep]
    steady: int
    previous: str | None  # the previous visit's timepoint code


def latest_visit(
    views: list[SubmissionView], found: list[InstrumentScores]
) -> LatestVisit | None:
    """Summarise the latest timepoint with a submitted questionnaire, if any."""
    done = [v for v in views if v.submission.status is SubmissionStatus.COMPLETED]
    if not done:
        return None
    latest = max(done, key=lambda v: v.timepoint.position).timepoint
    moved, steady, previous = [], 0, None
    for inst in found:
        for traj in inst.charted:
            step = step_at(traj, latest.code)
            if step is None:
                continue
            previous = previous or step.previous
            if step.worse or step.better:
                moved.append(ScaleStep(inst.name, traj.name, step))
            else:
                steady += 1
    moved.sort(key=lambda m: (not m.step.worse, -abs(m.step.change)))
    submitted = [v for v in done if v.timepoint.id == latest.id]
    return LatestVisit(latest, submitted, moved, steady, previous)


def links(session: Session, participant: Participant) -> list[AccessToken]:
    """The participant's personal links, newest first (hashes only)."""
    return list(
        session.scalars(
            select(AccessToken)
            .where(AccessToken.participant_id == participant.id)
            .order_by(AccessToken.created_at.desc(), AccessToken.id.desc())
            .limit(10)
        )
    )
