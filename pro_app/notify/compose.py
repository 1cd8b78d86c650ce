"""Render a message in the participant's language (needs an app context)."""

from __future__ import annotations

from flask import render_template
from flask_babel import force_locale, format_date
from flask_babel import gettext as _

from pro_app.notify import rules
from pro_app.notify.models import Outbox
from pro_app.notify.senders import Message
from pro_app.participants.models import Participant
from pro_app.studies.models import Assignment
from pro_app.studies.site_contact import SiteContact

RTL = frozenset({"he", "ar"})


def team_contact_for(
    participant: Participant, team_contact: str | None
) -> SiteContact | None:
    """The site's study team (name, phone, email) from the protocol file.

    A site without one falls back to its earlier free-text contact, then to
    the deployment's ``NOTIFY_TEAM_CONTACT`` line.
    """
    site = participant.site
    structured = site.team_contact
    if structured is not None:
        return structured
    line = site.contact or team_contact
    return SiteContact(line) if line else None


def compose(
    row: Outbox,
    participant: Participant,
    assignment: Assignment,
    *,
    to: str,
    link: str,
    default_locale: str,
    team_contact: str | None,
) -> Message:
    """Render a message in the participant's language; needs an app context.

    It says only that a questionnaire is waiting: no condition, instrument or
    question, since a phone's lock screen or a shared inbox may show it.
    """
    locale = participant.language or default_locale
    kind = rules.template_kind(row.kind)
    last_day = rules.local_day_end(assignment.closes_at, participant.timezone).date()
    contact = team_contact_for(participant, team_contact)
    with force_locale(locale):
        subjects = {
            rules.INVITATION: _("You have a questionnaire to complete for your study"),
            rules.REMINDER: _("Reminder: a questionnaire is waiting for you"),
            rules.LAST_CALL: _("Last chance: your study questionnaire closes soon"),
            rules.NEW_LINK: _("Your new link to your study questionnaire"),
        }
        context = {
            "link": link,
            "last_day": format_date(last_day, "long"),
            "team_contact": contact,
            "lang": locale,
            "dir": "rtl" if locale in RTL else "ltr",
            "subject": subjects[kind],
        }
        text = render_template(f"notify/{kind}.txt", **context)
        html = render_template(f"notify/{kind}.html", **context)
    if row.channel == "sms":
        return Message("sms", to, subjects[kind], f"{subjects[kind]}\n{link}")
    return Message(
        "email", to, subjects[kind], text, html, {"X-PRO-Outbox": str(row.id)}
    )
