"""What the participant's pages list: their questionnaires, what a form is
like before it is started, and the review of a form's answers. Reads only.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from itertools import groupby
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from pro_app.catalog import Instrument, InstrumentText, Item
from pro_app.participants.models import Participant
from pro_app.studies.locks import is_locked
from pro_app.studies.models import Assignment
from pro_app.studies.rules import AssignmentStatus, is_answerable
from pro_app.surveys.forms import printed_label
from pro_app.surveys.services import status_of


@dataclass(frozen=True)
class AssignmentView:
    """An assignment with its status at a moment, for listing."""

    assignment: Assignment
    status: AssignmentStatus
    # An active data lock covers it: it is shown, but nothing can be changed.
    locked: bool = False


@dataclass(frozen=True)
class Overview:
    """A participant's questionnaires at a moment, as their home page lists them."""

    open_now: list[AssignmentView]
    # Not open yet: one entry per day they open (the participant's day), in order.
    upcoming: list[tuple[date, list[Assignment]]]
    completed: list[AssignmentView]

    @property
    def next_open(self) -> Assignment | None:
        """The first questionnaire that can be answered now, if any."""
        return next((v.assignment for v in self.open_now if not v.locked), None)

    @property
    def next_day(self) -> date | None:
        """The day the next questionnaires open, if any are scheduled."""
        return self.upcoming[0][0] if self.upcoming else None


@dataclass(frozen=True)
class FormFacts:
    """What the participant is told about a form before starting it."""

    title: str  # the name the form prints, in the language it is given in
    locale: str
    questions: int
    minutes: int | None


@dataclass(frozen=True)
class ReviewRow:
    """One item on the review screen."""

    item: Item
    text: str
    answer: str | None  # the chosen option as printed; None when not answered


@dataclass(frozen=True)
class ReviewGroup:
    """Items in a row that share a stem (or none), shown together on review."""

    stem: str | None
    rows: list[ReviewRow]


def assignments_for(
    session: Session, participant: Participant, now: datetime
) -> list[AssignmentView]:
    """Return the participant's assignments with their status, in schedule order.

    Those that can be answered now also say whether a data lock covers them.
    """
    rows = session.scalars(
        select(Assignment)
        .where(Assignment.participant_id == participant.id)
        .order_by(Assignment.opens_at, Assignment.position, Assignment.id)
    )
    views = []
    for assignment in rows:
        status = status_of(assignment, now)
        locked = is_answerable(status) and is_locked(session, assignment) is not None
        views.append(AssignmentView(assignment, status, locked))
    return views


def overview(session: Session, participant: Participant, now: datetime) -> Overview:
    """Return what the participant's home page lists at ``now``."""
    views = assignments_for(session, participant, now)
    zone = ZoneInfo(participant.timezone)
    scheduled = [v.assignment for v in views if v.status is AssignmentStatus.SCHEDULED]
    # Grouped by the day they open where the participant lives, not in UTC.
    upcoming = [
        (day, list(group))
        for day, group in groupby(
            scheduled, key=lambda a: a.opens_at.astimezone(zone).date()
        )
    ]
    return Overview(
        open_now=[v for v in views if is_answerable(v.status)],
        upcoming=upcoming,
        completed=[v for v in views if v.status is AssignmentStatus.COMPLETED],
    )


def form_facts(instrument: Instrument, locale: str) -> FormFacts:
    """Return a form's printed name, number of questions and time estimate.

    Args:
        locale: the locale of the wording it is (or will be) given in.
    """
    return FormFacts(
        title=instrument.text(locale).title,
        locale=locale,
        questions=len(instrument.items),
        minutes=instrument.estimated_minutes,
    )


def review_groups(
    instrument: Instrument, text: InstrumentText, codes: dict[str, int | None]
) -> list[ReviewGroup]:
    """Return the items in form order, grouped by the stem they share.

    Several RAND-36 items read the same without their stem (13 and 17, 14 and
    18), so each group shows its stem once above its items.

    Args:
        codes: the current code of each item seen (None: seen and skipped).
    """
    groups = []
    for section, items in groupby(instrument.items, key=lambda item: item.section):
        rows = []
        for item in items:
            code = codes.get(item.id)
            answer = (
                None
                if code is None
                else printed_label(item, code, text.option_label(item.id, code))
            )
            rows.append(ReviewRow(item, text.item_text(item.id), answer))
        groups.append(ReviewGroup(text.section_text(section), rows))
    return groups
