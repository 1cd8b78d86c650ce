"""Participant screens. Views parse, call a service, and render or redirect."""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import urlsplit

from babel.lists import format_list
from flask import (
    Blueprint,
    abort,
    current_app,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_limiter.util import get_remote_address
from flask_login import current_user
from flask_wtf import FlaskForm
from limits import parse as parse_limit
from markupsafe import Markup
from wtforms import HiddenField
from wtforms.validators import DataRequired, Length

from pro_app.catalog import Instrument
from pro_app.dbtypes import utcnow
from pro_app.extensions import db, limiter
from pro_app.notify import renewal
from pro_app.notify.senders import senders_from_config
from pro_app.participants import links as participant_links
from pro_app.participants import services as participant_services
from pro_app.participants.login import (
    ParticipantUser,
    current_participant,
    log_in,
    log_out,
    participant_required,
)
from pro_app.studies.locks import DataLocked, is_locked
from pro_app.studies.models import Assignment
from pro_app.studies.rules import AssignmentStatus
from pro_app.surveys import overview, services
from pro_app.surveys.forms import CHOICE_ERROR, build_form, field_name
from pro_app.surveys.models import Submission, SubmissionStatus
from pro_app.surveys.scores import current_scores
from pro_app.surveys.team_contact import participant_site
from pro_app.web import current_catalog, mask_tokens

bp = Blueprint("surveys", __name__)
log = logging.getLogger(__name__)

ANSWERABLE = (AssignmentStatus.OPEN, AssignmentStatus.IN_PROGRESS)


@bp.errorhandler(DataLocked)
def data_locked(error: DataLocked) -> Any:
    # The study team locked this data for checking; nothing was saved.
    db.session.rollback()
    body = render_template(
        "errors/error.html",
        title=_("These answers cannot be changed now"),
        message=_(
            "Your study team is checking these answers and has locked them, so "
            "nothing was saved. If you have questions, please contact your "
            "study team."
        ),
    )
    return body, 409


def _too_many_failures() -> bool:
    """Count one failed personal link from this address; True when over the limit.

    Only failures are counted and only failures are refused: a valid link is
    never blocked (it is one of 2^192, so blocking it protects nothing), while
    participants share clinic and home networks where dead links pile up.
    """
    limit = parse_limit(current_app.config["LINK_FAILURE_LIMIT"])
    return not limiter.limiter.hit(
        limit, "participant-link-failure", get_remote_address()
    )


class RenewLinkForm(FlaskForm):
    """ "Send me a new link": the dead link's token, nothing typed."""

    token = HiddenField(validators=[DataRequired(), Length(max=128)])


def _dead_link(token: str) -> Any:
    # The same page for every dead link, unknown or not: an old link found in
    # a shared inbox must not tell its finder which study or site it was for,
    # so the contact shown is the deployment's, not the site's.
    form = RenewLinkForm(formdata=None, token=token)
    return render_template("surveys/invalid_link.html", form=form), 404


@bp.get("/p/<token>")
@limiter.exempt
def open_link(token: str) -> Any:
    result = participant_links.redeem_link(
        db.session,
        token,
        session_hours=current_app.config["PARTICIPANT_SESSION_HOURS"],
    )
    if result is None:
        log.warning("invalid personal link from %s", request.remote_addr)
        if _too_many_failures():
            abort(429)
        return _dead_link(token)
    participant, key = result
    db.session.commit()
    log_in(participant, key)
    # Leave the token behind: it must not stay in history or in a Referer.
    return redirect(url_for(".home"))


@bp.post("/p/new-link")
@limiter.limit(lambda: current_app.config["LINK_RENEWAL_LIMIT"])
def request_new_link() -> Any:
    form = RenewLinkForm()
    if not form.validate_on_submit():
        abort(400)
    config = current_app.config
    renewal.request_new_link(
        db.session,
        form.token.data,
        now=utcnow(),
        data_key=config["DATA_KEY"],
        channels=senders_from_config(config, current_app.instance_path).channels,
    )
    db.session.commit()
    # The same reply whatever happened: it tells no one whether a link existed.
    return render_template("surveys/new_link_requested.html")


@bp.get("/")
def index() -> Any:
    if isinstance(current_user._get_current_object(), ParticipantUser):
        return redirect(url_for(".home"))
    return render_template("surveys/index.html")


@bp.get("/home")
@participant_required
def home() -> Any:
    listing = overview.overview(db.session, current_participant(), utcnow())
    # Set by "Save and finish later": say once until when they can come back.
    saved = session.pop("saved_later", None)
    saved_until = next(
        (
            v.assignment.last_moment
            for v in listing.open_now
            if v.assignment.id == saved and not v.locked
        ),
        None,
    )
    return render_template(
        "surveys/home.html",
        listing=listing,
        saved_until=saved_until,
        facts_of=_facts,
        names_of=_names,
    )


@bp.get("/a/<int:assignment_id>/")
@participant_required
def resume(assignment_id: int) -> Any:
    assignment, instrument = _load(assignment_id)
    answers = _answers(assignment.submission)
    position = services.resume_position(instrument, answers)
    if position is None:
        return redirect(url_for(".review", assignment_id=assignment.id))
    return redirect(
        url_for(".answer_item", assignment_id=assignment.id, position=position)
    )


@bp.route("/a/<int:assignment_id>/q/<int:position>", methods=["GET", "POST"])
@participant_required
def answer_item(assignment_id: int, position: int) -> Any:
    assignment, instrument = _load(assignment_id)
    if not 1 <= position <= len(instrument.items):
        abort(404)
    item = instrument.items[position - 1]
    submission = assignment.submission
    answers = _answers(submission)
    text_locale = _text_locale(instrument, submission)
    form = build_form(instrument, text_locale, (item.id,))()
    field = form[field_name(item.id)]
    locked = is_locked(db.session, assignment) is not None
    if request.method == "GET" or locked:
        # Under a data lock the page is shown read-only, with the saved answer
        # (a post that reached it anyway changes nothing).
        form.item_id.data = item.id
        field.data = answers[item.id].code if item.id in answers else None
        page = _render_item(
            instrument, item, form, field, text_locale, assignment, locked=locked
        )
        return page if request.method == "GET" else (page, 409)

    if form.item_id.data != item.id:
        # A stale or tampered page: it was built for another item.
        abort(400)
    if not form.validate():
        field.errors[:] = [str(CHOICE_ERROR)] if field.errors else []
        return (
            _render_item(instrument, item, form, field, text_locale, assignment),
            400,
        )
    nav = request.form.get("nav", "next")
    if nav not in ("next", "back", "review", "save", "later"):
        abort(400)
    # Going back from an item never seen and left blank records nothing; any
    # other move records the choice, or that the item was seen and skipped.
    if not (
        field.data is None
        and item.id not in answers
        and nav in ("back", "save", "later")
    ):
        _save(assignment, instrument, item, field.data, text_locale)
    db.session.commit()
    return _after_save(nav, assignment, instrument, position)


@bp.get("/a/<int:assignment_id>/review")
@participant_required
def review(assignment_id: int) -> Any:
    assignment, instrument = _load(assignment_id)
    submission = assignment.submission
    text_locale = _text_locale(instrument, submission)
    answers = _answers(submission)
    text = instrument.text(text_locale)
    groups = overview.review_groups(
        instrument, text, {item_id: a.code for item_id, a in answers.items()}
    )
    return render_template(
        "surveys/review.html",
        assignment=assignment,
        instrument=instrument,
        title=text.title,
        groups=groups,
        skipped=sum(row.answer is None for g in groups for row in g.rows),
        # Every item has been on screen (answered or skipped): Submit can go
        # at the top too, so a long review need not be scrolled to the end.
        all_seen=services.resume_position(instrument, answers) is None,
        locked=is_locked(db.session, assignment) is not None,
        text_locale=text_locale,
        form=FlaskForm(),
    )


@bp.post("/a/<int:assignment_id>/submit")
@participant_required
def submit(assignment_id: int) -> Any:
    if not FlaskForm().validate_on_submit():
        abort(400)
    assignment = _own(assignment_id)
    done_url = url_for(".done", assignment_id=assignment.id)
    submission = assignment.submission
    if submission is not None and submission.status is SubmissionStatus.COMPLETED:
        # A double tap or a resent form: the first submit won; show its result.
        return redirect(done_url)
    assignment, instrument = _load(assignment_id)
    submission = _start(assignment, instrument)
    services.submit(
        db.session,
        submission,
        actor=participant_services.actor_for(current_participant()),
        catalog=current_catalog(),
    )
    db.session.commit()
    return redirect(done_url)


@bp.get("/a/<int:assignment_id>/done")
@participant_required
def done(assignment_id: int) -> Any:
    participant = current_participant()
    assignment = _own(assignment_id)
    submission = assignment.submission
    if submission is None or submission.status is not SubmissionStatus.COMPLETED:
        return redirect(url_for(".resume", assignment_id=assignment.id))
    listing = overview.overview(db.session, participant, utcnow())
    shown: list[tuple[str, float]] = []
    if (participant.study.settings or {}).get("show_scores_to_participants"):
        # Off by default: a study must choose to show participants their scores.
        instrument = _instrument(assignment)
        shown = [
            (instrument.scale(s.scale_id).name, s.value)
            for s in current_scores(db.session, submission)
            if s.status == "ok" and s.value is not None
        ]
    return render_template(
        "surveys/done.html",
        scores=shown,
        assignment=assignment,
        instrument=_instrument(assignment),
        submission=submission,
        next_open=listing.next_open,
        next_day=listing.next_day,
        facts_of=_facts,
    )


@bp.post("/language")
def set_language() -> Any:
    if not FlaskForm().validate_on_submit():
        abort(400)
    code = request.form.get("lang", "")
    if code not in current_app.config["SUPPORTED_LOCALES"]:
        abort(400)
    user = current_user._get_current_object()
    if isinstance(user, ParticipantUser):
        participant_services.set_language(
            db.session,
            user.participant,
            code,
            actor=participant_services.actor_for(user.participant),
        )
        db.session.commit()
    session["lang"] = code
    return redirect(_safe_next(request.form.get("next")))


@bp.post("/signout")
def sign_out() -> Any:
    if not FlaskForm().validate_on_submit():
        abort(400)
    site = participant_site()  # whom to contact, said on the signed-out page
    log_out()
    db.session.commit()
    return render_template("surveys/signed_out.html", signed_out=True, site=site)


def _safe_next(target: str | None) -> str:
    """Only same-site paths; never back to a personal link."""
    if not target:
        return url_for(".index")
    parts = urlsplit(target)
    if (
        parts.scheme
        or parts.netloc
        or not target.startswith("/")
        or target.startswith("//")
        or mask_tokens(target) != target
    ):
        return url_for(".index")
    return target


def _own(assignment_id: int) -> Assignment:
    try:
        return services.get_assignment(db.session, current_participant(), assignment_id)
    except services.NotFound:
        abort(404)


def _instrument(assignment: Assignment) -> Instrument:
    return current_catalog().get(
        assignment.instrument_id, assignment.instrument_version
    )


def _facts(assignment: Assignment) -> overview.FormFacts:
    instrument = _instrument(assignment)
    return overview.form_facts(
        instrument, _text_locale(instrument, assignment.submission)
    )


def _names(assignments: list[Assignment]) -> Markup:
    """The forms' printed names as one list in the page's language ("A, B and C").

    Each name keeps its own language; the joining words are CLDR's.
    """
    names = []
    for assignment in assignments:
        facts = _facts(assignment)
        names.append(
            str(Markup('<span lang="{}">{}</span>').format(facts.locale, facts.title))
        )
    return Markup(format_list(names, locale=str(get_locale())))  # noqa: S704


def _load(assignment_id: int) -> tuple[Assignment, Instrument]:
    """Return an own, still answerable assignment, or stop with the right page."""
    assignment = _own(assignment_id)
    submission = assignment.submission
    if submission is not None and submission.status is SubmissionStatus.COMPLETED:
        if request.method == "GET":
            return abort(redirect(url_for(".done", assignment_id=assignment.id)))
        abort(_closed_page(assignment, already_submitted=True))
    if services.status_of(assignment, utcnow()) not in ANSWERABLE:
        abort(_closed_page(assignment, already_submitted=False))
    return assignment, _instrument(assignment)


def _closed_page(assignment: Assignment, *, already_submitted: bool) -> Any:
    body = render_template(
        "surveys/closed.html",
        assignment=assignment,
        instrument=_instrument(assignment),
        already_submitted=already_submitted,
        status=services.status_of(assignment, utcnow()),
    )
    return current_app.response_class(body, status=409)


def _answers(submission: Submission | None) -> dict[str, Any]:
    return (
        {} if submission is None else services.current_answers(db.session, submission)
    )


def _text_locale(instrument: Instrument, submission: Submission | None) -> str:
    # A questionnaire is administered in one language from start to finish.
    if submission is not None:
        return submission.language
    return instrument.text_locale_for(str(get_locale()))


def _start(assignment: Assignment, instrument: Instrument) -> Submission:
    return services.start_or_resume(
        db.session,
        assignment,
        language=_text_locale(instrument, assignment.submission),
        ui_language=str(get_locale()),
        actor=participant_services.actor_for(current_participant()),
    )


def _save(assignment, instrument, item, code, text_locale) -> None:  # type: ignore[no-untyped-def]
    submission = _start(assignment, instrument)
    try:
        services.save_answer(
            db.session,
            submission,
            item,
            code,
            actor=participant_services.actor_for(current_participant()),
        )
    except services.InvalidAnswer:
        abort(400)


def _after_save(
    nav: str, assignment: Assignment, instrument: Instrument, position: int
) -> Any:
    if nav == "save":
        return "", 204
    if nav == "later":
        session["saved_later"] = assignment.id
        return redirect(url_for(".home"))
    if nav == "back":
        if position == 1:
            return redirect(url_for(".home"))
        return redirect(
            url_for(".answer_item", assignment_id=assignment.id, position=position - 1)
        )
    if nav == "review" or position == len(instrument.items):
        return redirect(url_for(".review", assignment_id=assignment.id))
    return redirect(
        url_for(".answer_item", assignment_id=assignment.id, position=position + 1)
    )


def _render_item(  # type: ignore[no-untyped-def]
    instrument, item, form, field, text_locale, assignment, locked=False
) -> str:
    text = instrument.text(text_locale)
    section = text.section_text_for_item(item.id)
    previous = (
        text.section_text_for_item(instrument.items[item.position - 2].id)
        if item.position > 1
        else None
    )
    return render_template(
        "surveys/item.html",
        assignment=assignment,
        instrument=instrument,
        title=text.title,
        item=item,
        form=form,
        field=field,
        item_text=text.item_text(item.id),
        section_text=section,
        new_instructions=section is not None and section != previous,
        text_locale=text_locale,
        total=len(instrument.items),
        from_review=request.args.get("review") == "1",
        locked=locked,
        started=assignment.submission is not None,
    )
