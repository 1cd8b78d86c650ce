"""Participant pages: enrol, the participant's record, edit, withdraw, not done."""

from __future__ import annotations

from typing import Any

from flask import current_app, flash, redirect, render_template, url_for
from flask_babel import format_decimal
from flask_babel import gettext as _
from markupsafe import Markup
from sqlalchemy.exc import IntegrityError

from pro_app.auth.access import (
    access,
    assignment_or_404,
    participant_or_404,
    requires,
    staff_actor,
)
from pro_app.auth.forms import ReasonForm
from pro_app.auth.permissions import Permission
from pro_app.charts import svg
from pro_app.dbtypes import utcnow
from pro_app.extensions import db
from pro_app.i18n import LANGUAGE_NAMES
from pro_app.participants import links as participant_links
from pro_app.participants.contact import contact_for
from pro_app.participants.links import LONG_LIVED
from pro_app.participants.models import Participant
from pro_app.staff import bp, times
from pro_app.staff import participant_data as data
from pro_app.staff import participant_services as services
from pro_app.staff.handover import link_purpose
from pro_app.staff.participant_forms import (
    ZONE_LIST_ID,
    EditForm,
    EnrolForm,
    subject_id_pattern,
    zone_names,
)
from pro_app.studies import enrolment
from pro_app.studies.models import Site
from pro_app.studies.services import enrol
from pro_app.web import current_catalog


def _language_choices() -> list[tuple[str, str]]:
    return [("", _("Not set: the phone's language"))] + [
        (code, LANGUAGE_NAMES.get(code, code))
        for code in current_app.config["SUPPORTED_LOCALES"]
    ]


def _enrol_form() -> EnrolForm:
    here = access()
    form = EnrolForm(pattern=subject_id_pattern(here.study.settings))
    form.site.choices = [
        (site.id, f"{site.code} {site.name}")
        for site in here.study.sites
        if here.sees_site(site.id)
    ]
    form.language.choices = _language_choices()
    if not form.is_submitted():
        # The site's zone (that of every site the reader enrols at, if one).
        form.timezone.data = times.page_zone()
    return form


def _enrol_page(form: EnrolForm, status: int = 200, error: str | None = None) -> Any:
    return render_template(
        "staff/enrol.html", form=form, error=error, **_zone_list()
    ), status


def _zone_list() -> dict[str, Any]:
    return {"zone_list_id": ZONE_LIST_ID, "zone_names": zone_names()}


@bp.route("/s/<study_code>/participants/new", methods=["GET", "POST"])
@requires(Permission.ENROL)
def enrol_participant(study_code: str) -> Any:
    study = access().study
    form = _enrol_form()
    if not form.is_submitted():
        return _enrol_page(form)
    if not form.validate():
        return _enrol_page(form, 400, _("Please correct the fields marked below."))
    subject_id = form.subject_id.data
    taken = _("Subject ID %(id)s is already enrolled in this study.", id=subject_id)
    if services.subject_id_taken(db.session, study, subject_id):
        form.subject_id.errors = [taken]
        return _enrol_page(form, 400, taken)
    try:
        participant = enrol(
            db.session,
            study,
            site=db.session.get(Site, form.site.data),
            subject_id=subject_id,
            day0=form.day0.data,
            timezone=form.timezone.data,
            language=form.language.data or None,
            actor=staff_actor(),
            email=form.email.data or None,
            phone=form.phone.data or None,
            data_key=current_app.config["DATA_KEY"],
        )
        db.session.commit()
    except IntegrityError:
        # Enrolled by someone else between the check and the insert.
        db.session.rollback()
        form.subject_id.errors = [taken]
        return _enrol_page(form, 400, taken)
    flash(_("%(id)s is enrolled.", id=subject_id), "ok")
    return redirect(_page_url(participant))


def _page_url(participant: Participant) -> str:
    return url_for(
        ".view_participant",
        study_code=participant.study.code,
        participant_id=participant.id,
    )


def _chart_text() -> svg.ChartText:
    return svg.ChartText(
        reference=_("T = 50 (population mean)"),
        change_from=_("Change from %(baseline)s"),
        worse=_("worse"),
        higher_is_better=_("Higher is better"),
        higher_is_worse=_("Higher is worse"),
        no_data=_("No scores yet"),
    )


def _number(value: float) -> str:
    return format_decimal(value, format="0.0")


def _participant_page(
    participant: Participant, status: int = 200, error: str | None = None
) -> Any:
    study = access().study
    catalog = current_catalog()
    times.use_site_zone(participant.site)
    text = _chart_text()
    now = utcnow()
    submissions = data.submissions(db.session, participant, catalog)
    actors = {a.actor for s in submissions for a in s.answers}
    actors |= {c.actor for s in submissions for a in s.answers for c in a.corrections}
    actors |= {s.submission.entered_by for s in submissions if s.submission.entered_by}
    contact = None
    if access().can_at(Permission.VIEW_CONTACT, participant.site_id):
        contact = contact_for(db.session, participant, current_app.config["DATA_KEY"])
    scores = data.scores(db.session, participant, catalog, study.settings)
    links = data.links(db.session, participant)
    return render_template(
        "staff/participant.html",
        participant=participant,
        contact=contact,
        timeline=data.timeline(participant, catalog, now),
        submissions=submissions,
        scores=scores,
        latest_visit=data.latest_visit(submissions, scores),
        messages=data.messages(db.session, participant),
        links=links,
        has_live_link=any(t.revoked_at is None and t.expires_at > now for t in links),
        live_links=[t for t in links if t.revoked_at is None and t.expires_at > now],
        long_lived=participant_links.link_policy(participant) == LONG_LIVED,
        replace_form=ReasonForm(prefix="replace"),
        link_purpose=link_purpose,
        staff_names=data.staff_names(db.session, actors),
        language_names=LANGUAGE_NAMES,
        withdraw_form=ReasonForm(prefix="withdraw"),
        revoke_form=ReasonForm(prefix="revoke"),
        not_done_form=ReasonForm(prefix="notdone"),
        local_dt=times.moment,
        local_date=lambda dt: times.day(dt, participant.timezone),
        number=_number,
        signed=lambda v: svg.signed(v, _number),
        chart=lambda traj, cid: Markup(  # noqa: S704 (every text escaped in svg)
            svg.scale_chart(traj, chart_id=cid, text=text, number=_number)
        ),
        error=error,
    ), status


@bp.get("/s/<study_code>/participants/<int:participant_id>")
@requires(Permission.VIEW)
def view_participant(study_code: str, participant_id: int) -> Any:
    return _participant_page(participant_or_404(participant_id))


def _edit_page(
    participant: Participant,
    form: EditForm,
    status: int = 200,
    error: str | None = None,
) -> Any:
    return render_template(
        "staff/participant_edit.html",
        participant=participant,
        form=form,
        error=error,
        **_zone_list(),
    ), status


@bp.route(
    "/s/<study_code>/participants/<int:participant_id>/edit", methods=["GET", "POST"]
)
@requires(Permission.ENROL)
def edit_participant(study_code: str, participant_id: int) -> Any:
    participant = participant_or_404(participant_id)
    key = current_app.config["DATA_KEY"]
    form = EditForm()
    form.language.choices = _language_choices()
    may_see_contact = access().can_at(Permission.VIEW_CONTACT, participant.site_id)
    if not may_see_contact:
        # Those who may not read contact details may not overwrite them either.
        del form.email
        del form.phone
    if not form.is_submitted():
        form.day0.data = participant.day0
        form.timezone.data = participant.timezone
        form.language.data = participant.language or ""
        if may_see_contact:
            contact = contact_for(db.session, participant, key)
            form.email.data, form.phone.data = contact.email, contact.phone
        return _edit_page(participant, form)
    if not form.validate():
        return _edit_page(
            participant, form, 400, _("Please correct the fields marked below.")
        )
    try:
        changed = services.edit_details(
            db.session,
            participant,
            day0=form.day0.data,
            timezone=form.timezone.data,
            language=form.language.data or None,
            contact=(form.email.data, form.phone.data) if may_see_contact else None,
            reason=form.reason.data,
            actor=staff_actor(),
            data_key=key,
        )
    except enrolment.ScheduleError:
        db.session.rollback()
        return _edit_page(
            participant, form, 400, _("Only an active participant can be changed.")
        )
    db.session.commit()
    flash(_("Saved.") if changed else _("Nothing was changed."), "ok")
    return redirect(_page_url(participant))


@bp.post("/s/<study_code>/participants/<int:participant_id>/withdraw")
@requires(Permission.ENROL)
def withdraw_participant(study_code: str, participant_id: int) -> Any:
    participant = participant_or_404(participant_id)
    form = ReasonForm(prefix="withdraw")
    if not form.validate_on_submit():
        return _participant_page(
            participant, 400, _("A reason is needed to withdraw a participant.")
        )
    try:
        enrolment.withdraw(
            db.session, participant, actor=staff_actor(), reason=form.reason.data
        )
    except enrolment.ScheduleError:
        db.session.rollback()
        return _participant_page(participant, 400, _("This participant is not active."))
    db.session.commit()
    flash(_("%(id)s is withdrawn.", id=participant.subject_id), "ok")
    return redirect(_page_url(participant))


@bp.post("/s/<study_code>/assignments/<int:assignment_id>/not-done")
@requires(Permission.ENROL)
def mark_not_done(study_code: str, assignment_id: int) -> Any:
    assignment = assignment_or_404(assignment_id)
    participant = assignment.participant
    form = ReasonForm(prefix="notdone")
    if not form.validate_on_submit():
        return _participant_page(
            participant, 400, _("A reason is needed to mark a questionnaire not done.")
        )
    try:
        enrolment.mark_not_done(
            db.session, assignment, actor=staff_actor(), reason=form.reason.data
        )
    except enrolment.ScheduleError:
        db.session.rollback()
        return _participant_page(
            participant,
            400,
            _("A completed or cancelled questionnaire stays as it is."),
        )
    db.session.commit()
    flash(_("Marked as not done."), "ok")
    return redirect(_page_url(participant))
