"""Questionnaires entered by the trial team, and corrections of submitted answers.

A paper or interview questionnaire becomes a submission like any other: the
same answer rows, the same completion and the same scoring, with the mode,
the day it was answered and who typed it in. A correction appends an answer
row with its reason, keeps the row it replaces, and re-scores the submission.
Both refuse data under an active lock. Functions flush and never commit.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, aliased

from pro_app.audit.services import record
from pro_app.catalog import Catalog, Instrument, Item
from pro_app.dbtypes import utcnow
from pro_app.participants.models import ParticipantStatus
from pro_app.studies.locks import ensure_unlocked
from pro_app.studies.models import Assignment
from pro_app.studies.rules import AssignmentStatus
from pro_app.surveys.models import Answer, Mode, Submission, SubmissionStatus
from pro_app.surveys.scores import score_submission
from pro_app.surveys.services import (
    InvalidAnswer,
    SurveyError,
    _append_answer,
    current_answers,
    insert_submission,
    record_completion,
    validate_code,
)


class EntryError(SurveyError):
    """A paper entry or correction the rules refuse; nothing was stored."""


class AlreadyStarted(EntryError):
    """The assignment already has a submission (online or entered before)."""


class NotEnterable(EntryError):
    """The assignment was cancelled or marked not done, or the participant left."""


class DateRefused(EntryError):
    """The day the paper form was completed cannot be accepted as given."""


class DateInFuture(DateRefused):
    """The day is after today."""


class DateBeforeEnrolment(DateRefused):
    """The day is before the participant was enrolled."""


class OutsideWindow(DateRefused):
    """The day is outside the assignment's window and that was not confirmed."""


class NotCompleted(EntryError):
    """Only submitted questionnaires are corrected; this one is not."""


class ReasonRequired(EntryError):
    """A correction needs a reason."""


class NoChange(EntryError):
    """The correction gives the value the answer already has."""


ENTRY_MODES = (Mode.PAPER, Mode.INTERVIEW)


@dataclass(frozen=True)
class PaperEntry:
    """What was on the paper form (or said in the interview)."""

    administered_on: date
    mode: Mode
    # The language of the form; validated wording must exist in it.
    language: str
    # Item id -> code; None (or no key) means left blank.
    answers: Mapping[str, int | None]
    outside_window_confirmed: bool = False
    note: str | None = None


@dataclass(frozen=True)
class Correction:
    """One staff correction of one answer, for showing it beside the answers."""

    answer_id: int
    item_id: str
    old_code: int | None
    new_code: int | None
    actor: str
    reason: str
    corrected_at: datetime


def window_days(assignment: Assignment) -> tuple[date, date]:
    """Return the first and last day of the window in the participant's zone."""
    zone = ZoneInfo(assignment.participant.timezone)
    return (
        assignment.opens_at.astimezone(zone).date(),
        assignment.last_moment.astimezone(zone).date(),
    )


def enrolment_day(assignment: Assignment) -> date:
    """Return the day the participant was enrolled, in their own zone."""
    participant = assignment.participant
    return participant.created_at.astimezone(ZoneInfo(participant.timezone)).date()


def check_enterable(session: Session, assignment: Assignment) -> None:
    """Raise unless a paper questionnaire may be entered for this assignment."""
    if assignment.submission is not None:
        raise AlreadyStarted(assignment.id)
    if (
        assignment.status in (AssignmentStatus.CANCELLED, AssignmentStatus.NOT_DONE)
        or assignment.participant.status is ParticipantStatus.WITHDRAWN
    ):
        raise NotEnterable(assignment.id)
    ensure_unlocked(session, assignment=assignment)


def _check_day(assignment: Assignment, entry: PaperEntry, now: datetime) -> bool:
    """Validate the day answered; return whether it lies outside the window."""
    zone = ZoneInfo(assignment.participant.timezone)
    if entry.administered_on > now.astimezone(zone).date():
        raise DateInFuture(entry.administered_on)
    if entry.administered_on < enrolment_day(assignment):
        raise DateBeforeEnrolment(entry.administered_on)
    first, last = window_days(assignment)
    outside = not first <= entry.administered_on <= last
    if outside and not entry.outside_window_confirmed:
        raise OutsideWindow(entry.administered_on)
    return outside


def _check_answers(instrument: Instrument, entry: PaperEntry) -> None:
    if entry.mode not in ENTRY_MODES:
        raise InvalidAnswer(f"mode {entry.mode!r} is not a staff entry mode")
    if entry.language not in instrument.languages:
        raise InvalidAnswer(f"no validated {entry.language!r} text")
    known = {item.id for item in instrument.items}
    if unknown := set(entry.answers) - known:
        raise InvalidAnswer(f"unknown items {sorted(unknown)}")
    for item in instrument.items:
        validate_code(item, entry.answers.get(item.id))


def enter_paper(
    session: Session,
    assignment: Assignment,
    entry: PaperEntry,
    *,
    actor: str,
    catalog: Catalog,
    now: datetime | None = None,
) -> Submission:
    """Store a paper or interview questionnaire, complete it and score it.

    Every item gets an answer row (blank items a skipped one). Everything is
    checked before anything is written, so a refusal leaves no trace.
    """
    now = now or utcnow()
    instrument = catalog.get(assignment.instrument_id, assignment.instrument_version)
    check_enterable(session, assignment)
    outside = _check_day(assignment, entry, now)
    _check_answers(instrument, entry)
    study_id = assignment.participant.study_id
    # A participant starting online and a second clerk entering the same
    # form cannot both win: only one submission per assignment.
    submission = insert_submission(
        session,
        assignment,
        mode=entry.mode,
        language=entry.language,
        ui_language=entry.language,
        status=SubmissionStatus.COMPLETED,
        started_at=now,
        completed_at=now,
        entered_by=actor,
        administered_on=entry.administered_on,
    )
    if submission is None:
        raise AlreadyStarted(assignment.id)
    record(
        session,
        actor=actor,
        action="submission.enter",
        entity_type="submission",
        entity_id=submission.id,
        new={
            "assignment_id": assignment.id,
            "instrument": f"{submission.instrument_id} {submission.instrument_version}",
            "mode": entry.mode.value,
            "language": entry.language,
            "administered_on": entry.administered_on,
            "entered_by": actor,
            "outside_window": outside,
            "note": (entry.note or "").strip() or None,
        },
        study_id=study_id,
    )
    for item in instrument.items:
        code = entry.answers.get(item.id)
        answer = Answer(
            submission_id=submission.id,
            item_id=item.id,
            code=code,
            answered_at=now,
            actor=actor,
        )
        session.add(answer)
        session.flush()
        record(
            session,
            actor=actor,
            action="answer.save",
            entity_type="answer",
            entity_id=answer.id,
            new={"item_id": item.id, "code": code, "submission_id": submission.id},
            study_id=study_id,
        )
    record_completion(session, submission, actor=actor, catalog=catalog, now=now)
    return submission


def correct_answer(
    session: Session,
    submission: Submission,
    item: Item,
    code: int | None,
    *,
    actor: str,
    reason: str,
    catalog: Catalog,
    now: datetime | None = None,
) -> Answer:
    """Correct one answer of a submitted questionnaire and re-score it.

    The new value is a new row carrying the reason; the old row is kept and
    marked replaced; new scores are appended and the old ones kept.

    Args:
        code: the corrected code, or None for "not answered".
    """
    now = now or utcnow()
    reason = (reason or "").strip()
    if not reason:
        raise ReasonRequired(submission.id)
    if submission.status is not SubmissionStatus.COMPLETED:
        raise NotCompleted(submission.id)
    assignment = submission.assignment
    ensure_unlocked(session, assignment=assignment)
    validate_code(item, code)
    before = current_answers(session, submission).get(item.id)
    if (before.code if before is not None else None) == code:
        raise NoChange(submission.id)
    try:
        current, answer = _append_answer(session, submission, item, code, actor, now)
    except IntegrityError:
        # Another correction of this item landed first: let the user look again.
        raise NoChange(submission.id) from None
    if answer is None:
        raise NoChange(submission.id)
    answer.reason = reason
    session.flush()
    if current is not None:
        session.expire(current)
    record(
        session,
        actor=actor,
        action="answer.correct",
        entity_type="answer",
        entity_id=answer.id,
        old={
            "item_id": item.id,
            "code": None if current is None else current.code,
            "answer_id": None if current is None else current.id,
        },
        new={"item_id": item.id, "code": code, "submission_id": submission.id},
        reason=reason,
        study_id=assignment.participant.study_id,
    )
    score_submission(
        session,
        submission,
        catalog=catalog,
        settings=assignment.participant.study.settings or {},
        actor=actor,
        now=now,
    )
    return answer


def corrections_for(session: Session, submission: Submission) -> list[Correction]:
    """Return the staff corrections of a submission's answers, oldest first.

    Empty when nobody corrected it. Only corrections carry a reason, which is
    how they are told from answers the participant (or a clerk) gave.
    """
    old = aliased(Answer)
    rows = session.execute(
        select(Answer, old.code)
        .outerjoin(old, old.replaced_by_id == Answer.id)
        .where(Answer.submission_id == submission.id, Answer.reason.is_not(None))
        .order_by(Answer.id)
    ).all()
    return [
        Correction(
            answer_id=new.id,
            item_id=new.item_id,
            old_code=old_code,
            new_code=new.code,
            actor=new.actor,
            reason=new.reason or "",
            corrected_at=new.answered_at,
        )
        for new, old_code in rows
    ]
