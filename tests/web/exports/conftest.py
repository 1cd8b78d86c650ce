"""A small study answered through the real survey services, for export tests.

Two sites in different time zones, three participants, baseline and week 4,
all three instruments; skipped items, a paper entry, a staff correction, an
in-progress questionnaire (never exported) and a second study (never
exported with the first).
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from pro_app.catalog import Catalog
from pro_app.participants.models import Participant
from pro_app.studies.models import Assignment, Study
from pro_app.surveys import services
from pro_app.surveys.models import Answer, Mode, Score, Submission, SubmissionStatus
from pro_app.surveys.scores import score_submission
from pro_app.web import current_catalog
from tests.factories import make_participant, make_study

DAY0 = date(2025, 3, 10)
STAFF_ACTOR = "staff:999"


def answers_for(instrument: Any, seed: int, skip: int = 0) -> dict[str, int | None]:
    """Varied valid codes for every item; the first ``skip`` items skipped."""
    rng = random.Random(seed)
    chosen: dict[str, int | None] = {
        item.id: rng.choice(item.codes) for item in instrument.items
    }
    for item in instrument.items[:skip]:
        chosen[item.id] = None
    return chosen


def complete(
    session: Session,
    assignment: Assignment,
    catalog: Catalog,
    answers: dict[str, int | None],
    *,
    at: datetime,
    paper: bool = False,
    submit: bool = True,
) -> Submission:
    """Answer an assignment through the survey services (and submit it)."""
    instrument = catalog.get(assignment.instrument_id, assignment.instrument_version)
    actor = STAFF_ACTOR if paper else f"participant:{assignment.participant_id}"
    submission = services.start_or_resume(
        session, assignment, language="en", ui_language="en", actor=actor, now=at
    )
    if paper:
        submission.mode = Mode.PAPER
        submission.entered_by = STAFF_ACTOR
        # Answered on paper two days before it was typed in.
        submission.administered_on = (at - timedelta(days=2)).date()
    for item in instrument.items:
        services.save_answer(
            session, submission, item, answers[item.id], actor=actor, now=at
        )
    if submit:
        services.submit(session, submission, actor=actor, catalog=catalog, now=at)
    return submission


def correct(
    session: Session,
    submission: Submission,
    item_id: str,
    code: int | None,
    catalog: Catalog,
    *,
    at: datetime,
) -> None:
    """A staff correction as the correction service stores it: a new row with
    a reason replaces the current one, then the submission is re-scored."""
    current = session.scalar(
        select(Answer).where(
            Answer.submission_id == submission.id,
            Answer.item_id == item_id,
            Answer.replaced_at.is_(None),
        )
    )
    current.replaced_at = at
    session.flush()
    new = Answer(
        submission_id=submission.id,
        item_id=item_id,
        code=code,
        answered_at=at,
        actor=STAFF_ACTOR,
        reason="transcription error",
    )
    session.add(new)
    session.flush()
    current.replaced_by_id = new.id
    score_submission(
        session, submission, catalog=catalog, settings={}, actor=STAFF_ACTOR, now=at
    )
    session.flush()


def _assignment(participant: Participant, tp: str, instrument: str) -> Assignment:
    for assignment in participant.assignments:
        if assignment.timepoint.code == tp and assignment.instrument_id == instrument:
            return assignment
    raise LookupError((tp, instrument))


@dataclass
class World:
    study: Study
    other: Study
    catalog: Catalog
    corrected: tuple[int, str] = (0, "")  # (submission id, item id)
    paper_submission: int = 0
    in_progress: int = 0
    submissions: list[int] = field(default_factory=list)


def build_world(app: Any, session: Session) -> World:
    with app.app_context():
        catalog = current_catalog()
    study = make_study(session, sites=[("01", "Site one"), ("02", "Site two")])
    study.sites[1].timezone = "Europe/Berlin"
    other = make_study(session, code="OTHER-1", sites=[("09", "Elsewhere")])
    world = World(study, other, catalog)
    people = [
        make_participant(session, study, subject_id=s, day0=DAY0, site=study.sites[n])
        for s, n in (("LK-001", 0), ("LK-002", 1), ("LK-003", 0))
    ]
    stranger = make_participant(session, other, subject_id="ZZ-900", day0=DAY0)
    base = datetime.combine(DAY0, datetime.min.time(), UTC) + timedelta(hours=9)
    seed = 0
    for n, person in enumerate(people):
        for tp, offset in (("BL", 0), ("W4", 28)):
            for instrument_id in ("rand36", "promis29", "promis_global"):
                assignment = _assignment(person, tp, instrument_id)
                instrument = catalog.get(instrument_id)
                seed += 1
                at = base + timedelta(days=offset, minutes=seed * 7)
                last = n == 2 and tp == "W4"
                submission = complete(
                    session,
                    assignment,
                    catalog,
                    answers_for(instrument, seed, skip=2 if seed % 4 == 0 else 0),
                    at=at,
                    paper=n == 1 and tp == "BL" and instrument_id == "rand36",
                    submit=not last,
                )
                if last:
                    world.in_progress = submission.id
                    continue
                world.submissions.append(submission.id)
                if submission.mode is Mode.PAPER:
                    world.paper_submission = submission.id
    first = session.scalar(
        select(Submission)
        .join(Assignment)
        .where(
            Assignment.participant_id == people[0].id,
            Submission.instrument_id == "promis29",
        )
        .order_by(Submission.id)
    )
    correct(session, first, "EDANX01", 5, catalog, at=base + timedelta(days=2))
    world.corrected = (first.id, "EDANX01")
    stranger_assignment = _assignment(stranger, "BL", "rand36")
    complete(
        session,
        stranger_assignment,
        catalog,
        answers_for(catalog.get("rand36"), 99),
        at=base,
    )
    session.commit()
    return world


@pytest.fixture
def world(app, session) -> World:
    return build_world(app, session)


def expected_answers(session: Session, study: Study) -> dict[tuple, dict[str, Any]]:
    """Straight from the models: (subject, tp, instrument, item) -> answer facts."""
    out = {}
    for submission in _completed(session, study):
        a = submission.assignment
        for answer in submission.answers:
            if answer.replaced_at is not None:
                continue
            corrected = answer.reason is not None or (
                answer.actor.startswith("staff:")
                and answer.answered_at > submission.completed_at
            )
            key = (a.participant.subject_id, a.timepoint.code, a.instrument_id)
            out[(*key, answer.item_id)] = {
                "code": answer.code,
                "corrected": corrected,
                "site": a.participant.site.code,
                "tz": a.participant.site.timezone,
                "mode": submission.mode.value,
                "language": submission.language,
                "completed_at": submission.completed_at,
                "version": submission.instrument_version,
                "collected_on": collected_on(submission),
                "qsdtc": qsdtc(submission),
                "entered_by": submission.entered_by,
                "administered_on": submission.administered_on,
            }
    return out


def collected_on(submission: Submission) -> date:
    """The day answered: as entered for paper, else the participant's local day."""
    if submission.administered_on is not None:
        return submission.administered_on
    zone = ZoneInfo(submission.assignment.participant.timezone)
    return submission.completed_at.astimezone(zone).date()


def qsdtc(submission: Submission) -> str:
    """SDTM QSDTC: the day for paper, the participant's wall-clock time online."""
    if submission.administered_on is not None:
        return submission.administered_on.isoformat()
    zone = ZoneInfo(submission.assignment.participant.timezone)
    return submission.completed_at.astimezone(zone).strftime("%Y-%m-%dT%H:%M:%S")


def study_day(day: date, day0: date = DAY0) -> int:
    """SDTM study day: Day 0 is day 1, the day before it -1; no day 0."""
    days = (day - day0).days
    return days + 1 if days >= 0 else days


def expected_scores(session: Session, study: Study) -> dict[tuple, Score]:
    """(subject, tp, instrument, scale) -> the current Score row."""
    out = {}
    for submission in _completed(session, study):
        a = submission.assignment
        for score in submission.scores:
            if score.replaced_at is None:
                key = (a.participant.subject_id, a.timepoint.code, a.instrument_id)
                out[(*key, score.scale_id)] = score
    return out


def _completed(session: Session, study: Study) -> list[Submission]:
    return list(
        session.scalars(
            select(Submission)
            .join(Assignment)
            .join(Participant)
            .where(
                Participant.study_id == study.id,
                Submission.status == SubmissionStatus.COMPLETED,
            )
        )
    )
