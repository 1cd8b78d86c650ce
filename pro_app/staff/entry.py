"""Paper and interview entry, and corrections of submitted answers."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from functools import partial
from typing import Any
from zoneinfo import ZoneInfo

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from pro_app.auth.access import (
    access,
    assignment_or_404,
    requires,
    staff_actor,
    submission_or_404,
)
from pro_app.auth.permissions import Permission
from pro_app.catalog import Instrument, Item
from pro_app.dbtypes import utcnow
from pro_app.extensions import db
from pro_app.staff import bp, times
from pro_app.staff.entry_forms import (
    CorrectionForm,
    PaperEntryForm,
    correction_form,
    paper_form,
)
from pro_app.staff.locks import actor_names, lock_message
from pro_app.studies.locks import DataLocked, is_locked
from pro_app.studies.models import Assignment
from pro_app.surveys import entry
from pro_app.surveys.forms import field_name
from pro_app.surveys.models import Mode, Submission, SubmissionStatus
from pro_app.surveys.scores import current_scores
from pro_app.surveys.services import InvalidAnswer, current_answers
from pro_app.web import current_catalog


def _instrument(assignment: Assignment | Submission) -> Instrument:
    return current_catalog().get(
        assignment.instrument_id, assignment.instrument_version
    )


def _back_url(assignment: Assignment) -> str:
    # Entry pages lead back to the participant's page.
    return url_for(
        ".view_participant",
        study_code=access().study.code,
        participant_id=assignment.participant_id,
    )


def _refusal(error: Exception, assignment: Assignment) -> str:
    if isinstance(error, DataLocked):
        return lock_message(error.lock)
    if isinstance(error, entry.AlreadyStarted):
        return _(
            "This questionnaire was already started or submitted, online or "
            "by an earlier entry. Nothing can be entered on top of it: "
            "correct the submitted answers instead."
        )
    if isinstance(error, entry.NotEnterable):
        return _(
            "This questionnaire was cancelled or marked not done, or the "
            "participant has withdrawn: it cannot be entered."
        )
    raise error


def _days_text(first: date, last: date) -> str:
    return _("%(first)s to %(last)s", first=times.day(first), last=times.day(last))


def _window_text(assignment: Assignment) -> str:
    return _days_text(*entry.window_days(assignment))


@dataclass(frozen=True)
class AcceptedDays:
    """Which days the paper form's date may be (the rule of ``surveys.entry``)."""

    # Never before enrolment, never after today (in the participant's zone).
    earliest: date
    latest: date
    # Within those, the window's days: accepted without ticking the box.
    in_window: tuple[date, date] | None

    @property
    def outside_window(self) -> bool:
        """Whether some accepted days lie outside the window (box to tick)."""
        if self.in_window is None:
            return self.earliest <= self.latest
        return (self.earliest, self.latest) != self.in_window


def accepted_days(assignment: Assignment, now: datetime) -> AcceptedDays:
    """The days ``entry.enter_paper`` accepts for ``assignment`` at ``now``."""
    today = now.astimezone(ZoneInfo(assignment.participant.timezone)).date()
    earliest, latest = entry.enrolment_day(assignment), today
    first, last = entry.window_days(assignment)
    first, last = max(first, earliest), min(last, latest)
    return AcceptedDays(earliest, latest, (first, last) if first <= last else None)


def _date_error(error: entry.DateRefused, assignment: Assignment) -> str:
    if isinstance(error, entry.DateInFuture):
        return _("The date cannot be in the future.")
    if isinstance(error, entry.DateBeforeEnrolment):
        return _(
            "The date is before the participant was enrolled (%(day)s).",
            day=times.day(entry.enrolment_day(assignment)),
        )
    return _(
        "The date is outside the window (%(window)s). Check it; if it is "
        "right, tick the box to confirm an entry outside the window.",
        window=_window_text(assignment),
    )


def _paper_locale(instrument: Instrument, assignment: Assignment) -> str:
    if request.method == "POST":
        wanted = request.form.get("language", "")
        if wanted not in instrument.languages:
            abort(400)
        return wanted
    wanted = request.args.get("lang") or assignment.participant.language or ""
    return instrument.text_locale_for(wanted)


def _paper_page(
    assignment: Assignment,
    instrument: Instrument,
    locale: str,
    form: PaperEntryForm | None,
    status: int = 200,
    error: str | None = None,
) -> Any:
    times.use_site_zone(assignment.participant.site)
    days = accepted_days(assignment, utcnow())
    if form is not None:
        # The date picker offers only days the service can accept.
        form.administered_on.render_kw = {
            "min": days.earliest.isoformat(),
            "max": days.latest.isoformat(),
        }
    page = render_template(
        "staff/entry.html",
        accepted=days,
        accepted_text=_days_text(*days.in_window) if days.in_window else None,
        any_day_text=_days_text(days.earliest, days.latest),
        assignment=assignment,
        participant=assignment.participant,
        instrument=instrument,
        text=instrument.text(locale),
        text_locale=locale,
        form=form,
        field_name=field_name,
        window=_window_text(assignment),
        back_url=_back_url(assignment),
        error=error,
    )
    return page, status


def _paper_entry(
    form: PaperEntryForm, instrument: Instrument, locale: str
) -> entry.PaperEntry:
    return entry.PaperEntry(
        administered_on=form.administered_on.data,
        mode=Mode(form.mode.data),
        language=locale,
        answers={item.id: form[field_name(item.id)].data for item in instrument.items},
        outside_window_confirmed=form.outside_window.data,
        note=form.note.data,
    )


def _after_entry(submission: Submission) -> str:
    # The stored answers and scores, to check against the paper at once.
    if access().can_at(Permission.CORRECT, submission.assignment.participant.site_id):
        return url_for(
            ".correct_answer",
            study_code=access().study.code,
            submission_id=submission.id,
        )
    return _back_url(submission.assignment)


@bp.route(
    "/s/<study_code>/assignments/<int:assignment_id>/paper", methods=["GET", "POST"]
)
@requires(Permission.ENTER)
def enter_paper(study_code: str, assignment_id: int) -> Any:
    assignment = assignment_or_404(assignment_id)
    instrument = _instrument(assignment)
    locale = _paper_locale(instrument, assignment)
    form = paper_form(instrument, locale)()
    page = partial(_paper_page, assignment, instrument, locale)
    try:
        entry.check_enterable(db.session, assignment)
        if request.method == "GET":
            form.language.data = locale
            return page(form)
        if not form.validate_on_submit():
            return page(form, 400, _("Please correct the errors below."))
        submission = entry.enter_paper(
            db.session,
            assignment,
            _paper_entry(form, instrument, locale),
            actor=staff_actor(),
            catalog=current_catalog(),
        )
    except InvalidAnswer:
        abort(400)
    except entry.DateRefused as error:
        form.administered_on.errors.append(_date_error(error, assignment))
        return page(form, 400, _("Please correct the errors below."))
    except (entry.EntryError, DataLocked) as error:
        db.session.rollback()
        return page(None, 409, _refusal(error, assignment))
    db.session.commit()
    flash(_("The questionnaire was entered and scored."), "ok")
    return redirect(_after_entry(submission))


def _correct_page(
    submission: Submission,
    form: CorrectionForm | None = None,
    item: Item | None = None,
    status: int = 200,
    error: str | None = None,
) -> Any:
    instrument = _instrument(submission)
    times.use_site_zone(submission.assignment.participant.site)
    corrections = entry.corrections_for(db.session, submission)
    page = render_template(
        "staff/correct.html",
        submission=submission,
        assignment=submission.assignment,
        participant=submission.assignment.participant,
        instrument=instrument,
        text=instrument.text(submission.language),
        text_locale=submission.language,
        answers=current_answers(db.session, submission),
        scores=current_scores(db.session, submission),
        corrections=corrections,
        corrected_items={c.item_id for c in corrections},
        names=actor_names(
            db.session,
            [c.actor for c in corrections] + [submission.entered_by or ""],
        ),
        lock=is_locked(db.session, submission.assignment),
        form=form,
        item=item,
        back_url=_back_url(submission.assignment),
        error=error,
    )
    return page, status


def _chosen_item(instrument: Instrument) -> Item | None:
    posted = request.method == "POST"
    item_id = request.form.get("item_id") if posted else request.args.get("item")
    if not item_id:
        return None
    try:
        return instrument.item(item_id)
    except KeyError:
        abort(400 if posted else 404)


def _save_correction(
    submission: Submission, item: Item, form: CorrectionForm
) -> tuple[int, str] | None:
    """Store the correction; on refusal return the status and the message."""
    try:
        entry.correct_answer(
            db.session,
            submission,
            item,
            form.code.data,
            actor=staff_actor(),
            reason=form.reason.data,
            catalog=current_catalog(),
        )
    except InvalidAnswer:
        abort(400)
    except DataLocked as error:
        db.session.rollback()
        return 409, lock_message(error.lock)
    except entry.NoChange:
        return 400, _("That is already the recorded answer.")
    except entry.EntryError:
        # A blank reason: the form checks make this rare.
        return 400, _("Please correct the errors below.")
    return None


@bp.route(
    "/s/<study_code>/submissions/<int:submission_id>/correct", methods=["GET", "POST"]
)
@requires(Permission.CORRECT)
def correct_answer(study_code: str, submission_id: int) -> Any:
    submission = submission_or_404(submission_id)
    if submission.status is not SubmissionStatus.COMPLETED:
        error = _("Only submitted questionnaires can be corrected.")
        return _correct_page(submission, status=409, error=error)
    instrument = _instrument(submission)
    item = _chosen_item(instrument)
    if item is None and request.method == "POST":
        return _correct_page(submission, status=400, error=_("Choose an answer."))
    if item is None:
        return _correct_page(submission)
    form = correction_form(instrument, submission.language, item)()
    if request.method == "GET":
        current = current_answers(db.session, submission).get(item.id)
        form.item_id.data = item.id
        form.code.data = current.code if current is not None else None
        return _correct_page(submission, form, item)
    if not form.validate_on_submit():
        return _correct_page(
            submission, form, item, 400, _("Please correct the errors below.")
        )
    refused = _save_correction(submission, item, form)
    if refused is not None:
        return _correct_page(submission, form, item, *refused)
    db.session.commit()
    flash(_("The answer was corrected and the scores recomputed."), "ok")
    return redirect(
        url_for(".correct_answer", study_code=study_code, submission_id=submission.id)
    )
