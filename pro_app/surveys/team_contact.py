"""Which study-team contact a participant page shows (``surveys/_contact.html``).

The logged-in participant's site gives it; a page seen by nobody known (a
dead link, a throttled address) falls back to the deployment's
``NOTIFY_TEAM_CONTACT`` line, or to a general sentence. Staff see none.
"""

from __future__ import annotations

from typing import NamedTuple

from flask import current_app, g
from flask_login import current_user
from sqlalchemy.exc import DBAPIError

from pro_app.extensions import db
from pro_app.studies.models import Site
from pro_app.studies.site_contact import SiteContact


class ContactBlock(NamedTuple):
    """What the block shows: a contact, else (if ``general``) a general line."""

    contact: SiteContact | None
    general: bool


def participant_site() -> Site | None:
    """The logged-in participant's site, or None (nobody, staff, or no database)."""
    from pro_app.participants.login import ParticipantUser

    if g.get("pro_database_down"):
        return None  # the 503 page: asking the database again would only wait
    user = current_user._get_current_object()
    if not isinstance(user, ParticipantUser):
        return None
    try:
        return user.participant.site
    except DBAPIError:
        db.session.rollback()
        g.pro_database_down = True
        return None


def contact_block(site: Site | None = None) -> ContactBlock:
    """The contact for ``site``, else for the logged-in participant's site."""
    from pro_app.auth.access import current_staff

    site = site if isinstance(site, Site) else participant_site()
    if site is not None:
        contact = site.team_contact
        if contact is None and site.contact:
            contact = SiteContact(site.contact)  # free text from before
        if contact is not None:
            return ContactBlock(contact, general=False)
    if not g.get("pro_database_down") and current_staff() is not None:
        return ContactBlock(None, general=False)
    line = current_app.config.get("NOTIFY_TEAM_CONTACT")
    return ContactBlock(SiteContact(line) if line else None, general=not line)
