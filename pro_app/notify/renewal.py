"""A new link, asked for from a dead link's page, sent to the contact on file.

The person at the page types nothing but a click: the message goes to the
email address or phone number the study already has, never to one given on
that page. The reply is the same whether or not the link existed. One request
per participant, channel and day is queued (the outbox's uniqueness holds it);
the reminder job sends it at once, quiet hours aside, since it was asked for.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime

from sqlalchemy.orm import Session

from pro_app.audit.services import record
from pro_app.notify import rules
from pro_app.notify.models import OutboxStatus
from pro_app.notify.planning import insert_ignoring_duplicates, open_lead
from pro_app.participants import links
from pro_app.participants.contact import contact_for
from pro_app.participants.services import actor_for

log = logging.getLogger(__name__)


def request_new_link(
    session: Session,
    raw: str,
    *,
    now: datetime,
    data_key: str,
    channels: Iterable[str],
) -> int:
    """Queue a new-link message for the holder of a dead link; return rows queued.

    Nothing is queued (and nothing tells the caller why) for an unknown token,
    a link that still works, a revoked link (a lost phone), a participant who
    is not active or opted out, no address on file, or no questionnaire open.
    """
    token = links.find(session, raw)
    if not links.renewable(token, now):
        return 0
    participant = token.participant
    lead = open_lead(session, participant, now)
    contact = contact_for(session, participant, data_key)
    have = {"email": contact.email, "sms": contact.phone}
    wanted = sorted(c for c in set(channels) if have.get(c))
    if lead is None or contact.opted_out or not wanted:
        return 0
    kind = f"{rules.NEW_LINK}_{now:%Y%m%d}"
    rows = [
        {
            "participant_id": participant.id,
            "assignment_id": lead.id,
            "channel": channel,
            "kind": kind,
            "window_opens_at": lead.opens_at,
            "due_at": now,
            "status": OutboxStatus.PENDING,
            "attempts": 0,
            "created_at": now,
        }
        for channel in wanted
    ]
    queued = insert_ignoring_duplicates(session, rows)
    if queued:
        record(
            session,
            actor=actor_for(participant),
            action="link.renewal_requested",
            entity_type="access_token",
            entity_id=token.id,
            new={"channels": wanted, "assignment_id": lead.id},
            study_id=participant.study_id,
        )
    return queued
