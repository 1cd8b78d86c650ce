"""Hand the personal link over at the visit; replace or revoke it; remind now."""

from __future__ import annotations

from typing import Any

import segno
from flask import current_app, flash, redirect, render_template, request, url_for
from flask_babel import format_date, get_locale, ngettext
from flask_babel import gettext as _
from markupsafe import Markup

from pro_app.auth.access import participant_or_404, requires, staff_actor
from pro_app.auth.forms import ReasonForm
from pro_app.auth.permissions import Permission
from pro_app.dbtypes import utcnow
from pro_app.extensions import db
from pro_app.notify.senders import senders_from_config
from pro_app.participants import links
from pro_app.participants.models import (
    AccessToken,
    LinkPurpose,
    Participant,
    ParticipantStatus,
)
from pro_app.staff import bp, times
from pro_app.staff import participant_services as services
from pro_app.staff.participant_services import ReminderOutcome


def link_purpose(purpose: str) -> str:
    """A link's purpose in words, for the trial team."""
    words = {
        LinkPurpose.PERSONAL: _("Personal link (messages and handover)"),
        LinkPurpose.MESSAGE: _("Link of a message"),
        LinkPurpose.HANDOVER: _("Link shown at a visit"),
    }
    return words.get(purpose, _("Personal link"))


def _back(participant: Participant) -> Any:
    return redirect(
        url_for(
            ".view_participant",
            study_code=participant.study.code,
            participant_id=participant.id,
        )
    )


def _qr_svg(url: str) -> Markup:
    qr = segno.make(url, error="m")
    # No width/height: the stylesheet sizes it, the viewBox keeps it square.
    svg = qr.svg_inline(scale=4, dark="#000", light="#fff", omitsize=True)
    return Markup(svg)  # noqa: S704 (segno's own markup; the URL is in a QR path)


def _link_url(raw: str) -> str:
    base = current_app.config.get("NOTIFY_BASE_URL") or request.host_url
    return f"{base.rstrip('/')}/p/{raw}"


def _not_active(participant: Participant) -> Any | None:
    """A redirect with the reason when the participant cannot get a link."""
    if participant.status is ParticipantStatus.ACTIVE:
        return None
    flash(_("Only an active participant can get a personal link."), "error")
    return _back(participant)


def _show(participant: Participant, token_id: int) -> Any:
    return redirect(
        url_for(
            ".show_link",
            study_code=participant.study.code,
            participant_id=participant.id,
            token_id=token_id,
        )
    )


@bp.post("/s/<study_code>/participants/<int:participant_id>/link")
@requires(Permission.HANDOVER)
def issue_link(study_code: str, participant_id: int) -> Any:
    participant = participant_or_404(participant_id)
    if refused := _not_active(participant):
        return refused
    token = links.hand_over(
        db.session,
        participant,
        data_key=current_app.config["DATA_KEY"],
        valid_days=current_app.config["ACCESS_TOKEN_DAYS"],
        actor=staff_actor(),
    )
    db.session.commit()
    # Post/redirect/get: a reload shows the page again, it issues nothing.
    return _show(participant, token.id)


@bp.get("/s/<study_code>/participants/<int:participant_id>/link/<int:token_id>")
@requires(Permission.HANDOVER)
def show_link(study_code: str, participant_id: int, token_id: int) -> Any:
    participant = participant_or_404(participant_id)
    link = links.show_once(
        db.session, participant, token_id, data_key=current_app.config["DATA_KEY"]
    )
    db.session.commit()
    long_lived = links.link_policy(participant) == links.LONG_LIVED
    if link is None:
        # Shown already (a reload, the back button), or no longer valid.
        token = db.session.get(AccessToken, token_id)
        shown_at = (
            token.shown_at
            if token is not None and token.participant_id == participant.id
            else None
        )
        times.use_site_zone(participant.site)
        return render_template(
            "staff/handover_shown.html",
            participant=participant,
            shown_at=shown_at,
            long_lived=long_lived,
            local_dt=times.moment,
        )
    url = _link_url(link.raw)
    # The raw token exists only in this response (sent with Cache-Control:
    # no-store, like every page); the page is shown once.
    return render_template(
        "staff/handover.html",
        participant=participant,
        link=url,
        qr=_qr_svg(url),
        expires=format_date(link.token.expires_at, "long"),
        long_lived=long_lived,
    )


@bp.post("/s/<study_code>/participants/<int:participant_id>/link/replace")
@requires(Permission.HANDOVER)
def replace_link(study_code: str, participant_id: int) -> Any:
    participant = participant_or_404(participant_id)
    if refused := _not_active(participant):
        return refused
    form = ReasonForm(prefix="replace")
    if not form.validate_on_submit():
        flash(_("A reason is needed to replace the personal link."), "error")
        return _back(participant)
    token, stopped = links.replace(
        db.session,
        participant,
        data_key=current_app.config["DATA_KEY"],
        valid_days=current_app.config["ACCESS_TOKEN_DAYS"],
        actor=staff_actor(),
        reason=form.reason.data,
    )
    db.session.commit()
    flash(
        ngettext(
            "The link was replaced: %(num)d earlier link stopped working and "
            "open sessions ended. Hand over the new link now.",
            "The link was replaced: %(num)d earlier links stopped working and "
            "open sessions ended. Hand over the new link now.",
            len(stopped),
        ),
        "ok",
    )
    return _show(participant, token.id)


@bp.post("/s/<study_code>/participants/<int:participant_id>/link/revoke")
@requires(Permission.HANDOVER)
def revoke_link(study_code: str, participant_id: int) -> Any:
    participant = participant_or_404(participant_id)
    form = ReasonForm(prefix="revoke")
    if not form.validate_on_submit():
        flash(_("A reason is needed to revoke the personal link."), "error")
        return _back(participant)
    revoked = links.revoke_links(
        db.session, participant, actor=staff_actor(), reason=form.reason.data
    )
    db.session.commit()
    flash(
        _(
            "Personal links revoked: %(n)d. Open sessions have ended.",
            n=revoked,
        ),
        "ok",
    )
    return _back(participant)


@bp.post("/s/<study_code>/participants/<int:participant_id>/remind")
@requires(Permission.HANDOVER)
def remind_now(study_code: str, participant_id: int) -> Any:
    participant = participant_or_404(participant_id)
    config = current_app.config
    channels = senders_from_config(config, current_app.instance_path).channels
    now = utcnow()
    result = services.remind_now(
        db.session,
        participant,
        now=now,
        data_key=config["DATA_KEY"],
        channels=channels,
        actor=staff_actor(),
    )
    db.session.commit()
    messages = {
        ReminderOutcome.NOT_ACTIVE: _("This participant is not active."),
        ReminderOutcome.NO_OPEN_WINDOW: _(
            "No questionnaire is open for this participant: there is nothing "
            "to remind them of."
        ),
        ReminderOutcome.OPTED_OUT: _(
            "This participant asked not to receive messages. No reminder was sent."
        ),
        ReminderOutcome.NO_CONTACT: _(
            "There is no email address or phone number to send a reminder to."
        ),
        ReminderOutcome.ALREADY_QUEUED: _("A reminder is already waiting to be sent."),
    }
    if result.outcome is not ReminderOutcome.QUEUED:
        flash(messages[result.outcome], "error")
        return _back(participant)
    channels = ", ".join(r.channel for r in result.rows)
    if result.due_at > now:
        flash(
            _(
                "Reminder queued (%(channels)s). It is quiet hours for the "
                "participant: it will be sent at %(at)s their time.",
                channels=channels,
                # Their wall clock, labelled, never a bare 12/3/26.
                at=times.local_text(
                    result.due_at,
                    participant.timezone,
                    str(get_locale() or current_app.config["DEFAULT_LOCALE"]),
                    seconds=False,
                ),
            ),
            "ok",
        )
    else:
        flash(
            _(
                "Reminder queued (%(channels)s). The reminder job sends it "
                "within a few minutes.",
                channels=channels,
            ),
            "ok",
        )
    return _back(participant)
