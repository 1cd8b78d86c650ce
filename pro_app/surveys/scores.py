"""The only bridge between stored answers and the pure scorer.

Scores are computed in the transaction that completes a submission. Scoring
runs inside a savepoint: if it fails, the answers still commit, the failure
is kept on the submission and in the audit trail, and the trial team sees it.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from pro_app.audit.services import record
from pro_app.catalog import Catalog
from pro_app.dbtypes import utcnow
from pro_app.participants.models import Participant
from pro_app.scoring import ScaleScore, score_answers
from pro_app.studies.locks import is_locked
from pro_app.studies.models import Assignment, Study
from pro_app.surveys.models import Answer, Score, Submission, SubmissionStatus

# What makes two scores "the same" for deciding whether a re-score changed it.
COMPARED = ("status", "raw", "value", "se", "n_answered", "prorated", "algorithm")


def answers_for_scoring(
    session: Session, submission: Submission
) -> dict[str, int | None]:
    """Return the current code of every item answered or skipped."""
    rows = session.scalars(
        select(Answer).where(
            Answer.submission_id == submission.id, Answer.replaced_at.is_(None)
        )
    )
    return {a.item_id: a.code for a in rows}


def _summary(score: Score | ScaleScore) -> dict[str, Any]:
    return {name: getattr(score, name) for name in COMPARED}


def score_submission(
    session: Session,
    submission: Submission,
    *,
    catalog: Catalog,
    settings: Mapping[str, Any],
    actor: str,
    now: datetime | None = None,
) -> bool:
    """Score a submission and store what changed. Returns False on failure."""
    now = now or utcnow()
    study_id = submission.assignment.participant.study_id
    try:
        with session.begin_nested():
            result = score_answers(
                submission.instrument_id,
                answers_for_scoring(session, submission),
                version=submission.instrument_version,
                catalog=catalog,
                settings=settings,
            )
            old, new = _store(session, submission, result.scales, now)
    except SQLAlchemyError:
        raise
    except Exception as error:  # noqa: BLE001 - any scorer fault is recorded
        message = f"{type(error).__name__}: {error}"[:1000]
        submission.scoring_error = message
        session.flush()
        record(
            session,
            actor=actor,
            action="scores.failed",
            entity_type="submission",
            entity_id=submission.id,
            new={"error": message},
            study_id=study_id,
        )
        return False
    submission.scoring_error = None
    if new:
        record(
            session,
            actor=actor,
            action="scores.compute" if not old else "scores.recompute",
            entity_type="submission",
            entity_id=submission.id,
            old=old or None,
            new=new,
            study_id=study_id,
        )
    return True


def _store(
    session: Session,
    submission: Submission,
    scales: tuple[ScaleScore, ...],
    now: datetime,
) -> tuple[dict[str, Any], dict[str, Any]]:
    current = {
        s.scale_id: s
        for s in session.scalars(
            select(Score).where(
                Score.submission_id == submission.id, Score.replaced_at.is_(None)
            )
        )
    }
    old: dict[str, Any] = {}
    new: dict[str, Any] = {}
    for scale in scales:
        previous = current.get(scale.scale_id)
        if previous is not None and _summary(previous) == _summary(scale):
            continue
        if previous is not None:
            old[scale.scale_id] = _summary(previous)
            session.execute(
                update(Score).where(Score.id == previous.id).values(replaced_at=now)
            )
        new[scale.scale_id] = _summary(scale)
        session.add(
            Score(
                submission_id=submission.id,
                scale_id=scale.scale_id,
                instrument_id=submission.instrument_id,
                instrument_version=submission.instrument_version,
                method=scale.method,
                status=scale.status,
                raw=scale.raw,
                value=scale.value,
                se=scale.se,
                n_answered=scale.n_answered,
                n_items=scale.n_items,
                prorated=scale.prorated,
                reason=scale.reason,
                algorithm=scale.algorithm,
                computed_at=now,
            )
        )
        session.flush()
    return old, new


def current_scores(session: Session, submission: Submission) -> list[Score]:
    """Return the submission's current scores in the order they were stored."""
    return list(
        session.scalars(
            select(Score)
            .where(Score.submission_id == submission.id, Score.replaced_at.is_(None))
            .order_by(Score.id)
        )
    )


def recompute(
    session: Session,
    *,
    catalog: Catalog,
    actor: str,
    study_code: str | None = None,
) -> tuple[int, int]:
    """Re-score every completed submission (of one study, or all).

    Returns (submissions scored, submissions whose scores changed). Each
    change is audited with the old and new values. Submissions under an
    active data lock are left as they are (and not counted).
    """
    query = (
        select(Submission, Study)
        .join(Assignment, Submission.assignment_id == Assignment.id)
        .join(Participant, Assignment.participant_id == Participant.id)
        .join(Study, Participant.study_id == Study.id)
        .where(Submission.status == SubmissionStatus.COMPLETED)
        .order_by(Submission.id)
    )
    if study_code is not None:
        query = query.where(Study.code == study_code)
    scored = changed = 0
    for submission, study in session.execute(query).all():
        if is_locked(session, submission.assignment) is not None:
            # Locked data keeps the scores it had; re-score after unlocking.
            continue
        before = {s.scale_id: _summary(s) for s in current_scores(session, submission)}
        score_submission(
            session,
            submission,
            catalog=catalog,
            settings=study.settings or {},
            actor=actor,
        )
        after = {s.scale_id: _summary(s) for s in current_scores(session, submission)}
        scored += 1
        changed += before != after
    return scored, changed
