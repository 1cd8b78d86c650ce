"""The audit trail of a study, for monitors and data managers: filter, page, CSV."""

from __future__ import annotations

import re
from datetime import UTC, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from flask import (
    Response,
    abort,
    flash,
    redirect,
    render_template,
    request,
    stream_with_context,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import DateField, SelectChoice, SelectField, StringField
from wtforms.validators import Length, Optional

from pro_app.audit import export, trail
from pro_app.audit.services import latest_verification
from pro_app.auth import services as auth_services
from pro_app.auth.access import access, requires, staff_actor
from pro_app.auth.permissions import Permission
from pro_app.extensions import db
from pro_app.participants.models import Participant
from pro_app.staff import bp, times
from pro_app.staff.dashboard import VERIFY_COMMAND
from pro_app.staff.labels import action_choices

FILTERS = ("participant", "actor", "action", "date_from", "date_to")


class VerifyForm(FlaskForm):
    """The "verify now" button: a POST with its CSRF token, nothing else."""


class TrailForm(FlaskForm):
    class Meta:
        csrf = False  # a GET search form: it changes nothing

    participant = StringField(
        _l("Participant (subject ID)"), validators=[Optional(), Length(max=40)]
    )
    actor = StringField(
        _l("Actor (staff email, staff:ID, participant:ID, system:)"),
        validators=[Optional(), Length(max=254)],
    )
    action = SelectField(_l("Action"), validators=[Optional()])
    date_from = DateField(_l("From (date)"), validators=[Optional()])
    date_to = DateField(_l("To (date, inclusive)"), validators=[Optional()])


def _form() -> TrailForm:
    form = TrailForm(formdata=request.args)
    form.action.choices = [SelectChoice("", _("All actions"))] + action_choices(
        trail.actions(db.session, access().study.id)
    )
    return form


def _filter(form: TrailForm) -> tuple[trail.TrailFilter | None, str | None]:
    """Turn valid form input into a filter; (None, message) if it matches nothing."""
    here = access()
    participant_id = None
    if subject := (form.participant.data or "").strip():
        participant = db.session.scalar(
            select(Participant).where(
                Participant.study_id == here.study.id,
                Participant.subject_id == subject,
            )
        )
        if participant is None or not here.sees_site(participant.site_id):
            return None, _("No participant of this study has that subject ID.")
        participant_id = participant.id
    actor = (form.actor.data or "").strip() or None
    if actor and "@" in actor:
        user = auth_services.user_by_email(db.session, actor)
        if user is None:
            return None, _("No staff account has that email.")
        actor = auth_services.actor_for(user)
    # Days in the page's zone, the zone the events' times are shown in.
    zone = ZoneInfo(times.page_zone())
    start = end = None
    if form.date_from.data:
        start = datetime.combine(form.date_from.data, time.min, zone)
    if form.date_to.data:
        end = datetime.combine(form.date_to.data + timedelta(days=1), time.min, zone)
    if start and end and end <= start:
        return None, _("The end date is before the start date.")
    return trail.TrailFilter(
        study_id=here.study.id,
        participant_id=participant_id,
        site_ids=here.sites(),
        actor=actor,
        action=form.action.data or None,
        start=start,
        end=end,
    ), None


def _args() -> dict[str, str]:
    """The filters as typed, for links and for the export's audit event."""
    return {name: request.args[name] for name in FILTERS if request.args.get(name)}


def _int_arg(name: str) -> int | None:
    value = request.args.get(name, "")
    return int(value) if value.isdigit() else None


@bp.get("/s/<study_code>/audit")
@requires(Permission.AUDIT)
def audit_trail(study_code: str) -> Any:
    form = _form()
    found, status, error = None, 200, None
    if not form.validate():
        status, error = 400, _("Check the filters.")
    else:
        f, error = _filter(form)
        if f is not None:
            found = trail.page(
                db.session, f, before=_int_arg("before"), after=_int_arg("after")
            )
    return render_template(
        "staff/audit.html",
        form=form,
        verify_form=VerifyForm(),
        may_verify=access().sites(Permission.AUDIT) is None,
        verify_command=VERIFY_COMMAND,
        page=found,
        filters=_args(),
        verification=latest_verification(db.session),
        as_json=trail.compact_json,
        error=error,
    ), status


@bp.post("/s/<study_code>/audit/verify")
@requires(Permission.AUDIT)
def verify_audit(study_code: str) -> Any:
    # The chain is the whole database's: checked by those who read every site.
    if access().sites(Permission.AUDIT) is not None:
        abort(403)
    if not VerifyForm().validate_on_submit():
        abort(400)
    result = trail.verify_trail(db.session, actor=staff_actor())
    db.session.commit()
    if result.ok:
        flash(
            ngettext(
                "The audit trail is intact (%(num)d event checked).",
                "The audit trail is intact (%(num)d events checked).",
                result.events,
            ),
            "ok",
        )
    else:
        flash(
            _(
                "The audit trail is broken: first bad event %(event)s. Tell the "
                "study's data manager and keep the server as it is.",
                event=result.first_bad.event_id if result.first_bad else "?",
            ),
            "error",
        )
    return redirect(url_for(".audit_trail", study_code=study_code))


@bp.get("/s/<study_code>/audit.csv")
@requires(Permission.AUDIT)
def audit_csv(study_code: str) -> Any:
    form = _form()
    if not form.validate():
        abort(400)
    f, _error = _filter(form)
    if f is None:
        abort(400)
    # Counted and audited before streaming, in its own commit: the event
    # stands even if the download is broken off (see export.record_export).
    # The actor as resolved (staff:<id>), not a typed email address.
    filters = _args() | ({"actor": f.actor} if f.actor else {})
    _rows, up_to = export.record_export(
        db.session, f, filters=filters, actor=staff_actor()
    )
    db.session.commit()
    code = re.sub(r"[^A-Za-z0-9_-]", "_", access().study.code)
    name = f"audit-{code}-{datetime.now(UTC):%Y%m%dT%H%M%SZ}.csv"
    return Response(
        stream_with_context(export.csv_lines(db.session, f, up_to=up_to)),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )
