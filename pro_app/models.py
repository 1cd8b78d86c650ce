"""Import every feature's models, so the metadata is whole for Alembic."""

from pro_app.audit.models import AuditEvent
from pro_app.auth.models import StaffSession, StaffUser, StudyRole
from pro_app.notify.models import Outbox
from pro_app.participants.contact import ParticipantContact
from pro_app.participants.models import AccessToken, Participant, ParticipantSession
from pro_app.studies.models import (
    Assignment,
    DataLock,
    Site,
    Study,
    Timepoint,
    TimepointInstrument,
)
from pro_app.surveys.models import Answer, Score, Submission

__all__ = [
    "AccessToken",
    "Answer",
    "Assignment",
    "AuditEvent",
    "DataLock",
    "Outbox",
    "Participant",
    "ParticipantContact",
    "ParticipantSession",
    "Site",
    "StaffSession",
    "StaffUser",
    "StudyRole",
    "Score",
    "Study",
    "Submission",
    "Timepoint",
    "TimepointInstrument",
]
