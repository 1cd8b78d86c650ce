"""The one path by which a participant's answers are stored and submitted.

Every function flushes and never commits: the request commits, so an answer,
its audit event and any status change land together or not at all.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from pro_app.audit.services import record
from pro_app.catalog import Catalog, Instrument, Item
from pro_app.dbtypes import utcnow
from pro_app.participants.models import Participant
from pro_app.studies.locks import ensure_unlocked
from pro_app.studies.models import Assignment
from pro_app.studies.rules import AssignmentStatus, effective_status, is_answerable
from pro_app.surveys.models import Answer, Mode, Submission, SubmissionStatus
from pro_app.surveys.scores import score_submission


class SurveyError(Exception):
    """A request the survey rules refuse; nothing was stored."""


class NotFound(SurveyError):
    """No such assignment for this participant (or not theirs)."""


class WindowClosed(SurveyError):
    """The assignment is not open for answers (not yet, or no longer)."""


class AlreadySubmitted(SurveyError):
    """The submission is complete; its answers are read-only."""


class InvalidAnswer(SurveyError):
    """An item or a code that the instrument does not have."""


# Saves of one item that may collide before one gives up (each retry re-reads).
_SAVE_ATTEMPTS = 5


def status_of(assignment: Assignment, now: datetime) -> AssignmentStatus:
    """Return the assignment's effective status at ``now``."""
    return effective_status(
        assignment.status, assignment.opens_at, assignment.closes_at, now
    )


def get_assignment(
    session: Session, participant: Participant, assignment_id: int
) -> Assignment:
    """Return one of the participant's own assignments, else raise NotFound."""
    assignment = session.get(Assignment, assignment_id)
    if assignment is None or assignment.participant_id != participant.id:
        raise NotFound(assignment_id)
    return assignment


def _check_open(assignment: Assignment, now: datetime) -> None:
    submission = assignment.submission
    if submission is not None and submission.status is SubmissionStatus.COMPLETED:
        raise AlreadySubmitted(assignment.id)
    if not is_answerable(status_of(assignment, now)):
        raise WindowClosed(assignment.id)


def start_or_resume(
    session: Session,
    assignment: Assignment,
    *,
    language: str,
    ui_language: str,
    actor: str,
    now: datetime | None = None,
) -> Submission:
    """Return the assignment's submission, creating it on first use.

    Two devices starting at once both get the same submission: the unique
    constraint on ``assignment_id`` lets only one insert win.
    """
    now = now or utcnow()
    if assignment.submission is not None:
        return assignment.submission
    _check_open(assignment, now)
    ensure_unlocked(session, assignment=assignment)
    submission = insert_submission(
        session,
        assignment,
        mode=Mode.SELF,
        language=language,
        ui_language=ui_language,
        started_at=now,
    )
    if submission is None:
        existing = session.scalar(
            select(Submission).where(Submission.assignment_id == assignment.id)
        )
        if existing is None:
            raise RuntimeError(f"assignment {assignment.id}: submission vanished")
        return existing
    assignment.status = AssignmentStatus.IN_PROGRESS
    record(
        session,
        actor=actor,
        action="submission.start",
        entity_type="submission",
        entity_id=submission.id,
        new={
            "assignment_id": assignment.id,
            "instrument": f"{submission.instrument_id} {submission.instrument_version}",
            "language": language,
        },
        study_id=assignment.participant.study_id,
    )
    return submission


def insert_submission(
    session: Session, assignment: Assignment, **fields: object
) -> Submission | None:
    """Insert the assignment's one submission; ``None`` if another got there first.

    The unique ``assignment_id`` lets exactly one of two racing starts (two
    devices, a participant online and a clerk entering paper) win; the loser's
    savepoint is rolled back and the rest of its transaction stands.
    """
    try:
        with session.begin_nested():
            submission = Submission(
                assignment_id=assignment.id,
                participant_id=assignment.participant_id,
                instrument_id=assignment.instrument_id,
                instrument_version=assignment.instrument_version,
                **fields,
            )
            session.add(submission)
            session.flush()
    except IntegrityError:
        submission = None
    session.expire(assignment, ["submission"])
    return submission


def current_answers(session: Session, submission: Submission) -> dict[str, Answer]:
    """Return the current (not replaced) answer of each item seen so far."""
    rows = session.scalars(
        select(Answer).where(
            Answer.submission_id == submission.id, Answer.replaced_at.is_(None)
        )
    )
    return {a.item_id: a for a in rows}


def validate_code(item: Item, code: int | None) -> None:
    """Raise InvalidAnswer unless ``code`` is in the item's response set or None."""
    if code is not None and code not in item.codes:
        raise InvalidAnswer(f"item {item.id}: {code!r} is not a response code")


def save_answer(
    session: Session,
    submission: Submission,
    item: Item,
    code: int | None,
    *,
    actor: str,
    now: datetime | None = None,
) -> Answer | None:
    """Record the answer to one item (``None`` = seen and skipped).

    The same value posted again stores nothing (a double tap, a resent form).
    A new value replaces the current row without touching its value; the later
    save wins and both are in the audit trail. Returns the new row, or None.
    """
    now = now or utcnow()
    _check_open(submission.assignment, now)
    # Raises DataLocked (pro_app.studies.locks) under an active lock.
    ensure_unlocked(session, assignment=submission.assignment)
    validate_code(item, code)
    for attempt in range(_SAVE_ATTEMPTS):
        try:
            current, answer = _append_answer(
                session, submission, item, code, actor, now
            )
            break
        except IntegrityError:
            # Another tab saved this item between our read and our write:
            # read again and apply this later save on top of it.
            if attempt == _SAVE_ATTEMPTS - 1:
                raise
    if answer is None:
        return None
    if current is not None:
        session.expire(current)
    record(
        session,
        actor=actor,
        action="answer.save",
        entity_type="answer",
        entity_id=answer.id,
        old=None if current is None else {"item_id": item.id, "code": current.code},
        new={"item_id": item.id, "code": code, "submission_id": submission.id},
        study_id=submission.assignment.participant.study_id,
    )
    return answer


def _append_answer(
    session: Session,
    submission: Submission,
    item: Item,
    code: int | None,
    actor: str,
    now: datetime,
) -> tuple[Answer | None, Answer | None]:
    current = session.scalar(
        select(Answer).where(
            Answer.submission_id == submission.id,
            Answer.item_id == item.id,
            Answer.replaced_at.is_(None),
        )
    )
    if current is not None and current.code == code:
        return current, None
    with session.begin_nested():
        answer = Answer(
            submission_id=submission.id,
            item_id=item.id,
            code=code,
            answered_at=now,
            actor=actor,
        )
        if current is not None:
            # Guarded: only the save that still sees ``current`` as current may
            # replace it; a concurrent save that lost the race fails here.
            replaced = session.execute(
                update(Answer)
                .where(Answer.id == current.id, Answer.replaced_at.is_(None))
                .values(replaced_at=now)
            )
            if replaced.rowcount != 1:
                raise IntegrityError("answer changed concurrently", None, Exception())
        session.add(answer)
        session.flush()
        if current is not None:
            session.execute(
                update(Answer)
                .where(Answer.id == current.id)
                .values(replaced_by_id=answer.id)
            )
    return current, answer


def resume_position(instrument: Instrument, answers: dict[str, Answer]) -> int | None:
    """Return the 1-based position of the first item not yet seen, or None."""
    for item in instrument.items:
        if item.id not in answers:
            return item.position
    return None


def submit(
    session: Session,
    submission: Submission,
    *,
    actor: str,
    catalog: Catalog,
    now: datetime | None = None,
) -> bool:
    """Complete and score a submission. Returns False if it was already complete.

    Idempotent: the guarded UPDATE lets exactly one of two racing submits win.
    Scores are stored in the same transaction (see ``surveys.scores``).
    """
    now = now or utcnow()
    if submission.status is SubmissionStatus.COMPLETED:
        return False
    _check_open(submission.assignment, now)
    ensure_unlocked(session, assignment=submission.assignment)
    won = session.execute(
        update(Submission)
        .where(
            Submission.id == submission.id,
            Submission.status == SubmissionStatus.IN_PROGRESS,
        )
        .values(status=SubmissionStatus.COMPLETED, completed_at=now)
        .execution_options(synchronize_session=False)
    )
    session.expire(submission)
    if won.rowcount != 1:
        return False
    record_completion(
        session,
        submission,
        actor=actor,
        catalog=catalog,
        now=now,
        old={"status": SubmissionStatus.IN_PROGRESS.value},
    )
    return True


def record_completion(
    session: Session,
    submission: Submission,
    *,
    actor: str,
    catalog: Catalog,
    now: datetime,
    old: dict[str, str] | None = None,
) -> None:
    """Mark the assignment of a just-completed submission done, audit it, score it.

    The one completion path for participant submissions and staff entry.
    """
    assignment = submission.assignment
    assignment.status = AssignmentStatus.COMPLETED
    assignment.completed_at = now
    answers = current_answers(session, submission)
    record(
        session,
        actor=actor,
        action="submission.complete",
        entity_type="submission",
        entity_id=submission.id,
        old=old,
        new={
            "status": SubmissionStatus.COMPLETED.value,
            "answered": sum(a.code is not None for a in answers.values()),
            "skipped": sum(a.code is None for a in answers.values()),
        },
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
