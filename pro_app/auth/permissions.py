"""What each role may do. Pure: the table the permission tests are built from."""

from __future__ import annotations

from enum import StrEnum

from pro_app.auth.models import Role


class Permission(StrEnum):
    # Dashboard, participant pages, answers and scores (no contact details).
    VIEW = "view"
    # Email and phone of participants.
    VIEW_CONTACT = "view_contact"
    # Enrol, edit details, move Day 0, withdraw, mark an assessment not done.
    ENROL = "enrol"
    # Show, revoke and reissue a personal link; send a reminder now.
    HANDOVER = "handover"
    # Enter a paper or interview questionnaire.
    ENTER = "enter"
    # Correct a submitted answer (with a reason).
    CORRECT = "correct"
    # Lock and unlock data.
    LOCK = "lock"
    # Read the audit trail.
    AUDIT = "audit"
    # Export datasets.
    EXPORT = "export"
    # Grant and revoke roles in the study.
    MANAGE = "manage"


ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.ADMIN: frozenset(Permission),
    Role.COORDINATOR: frozenset(
        {
            Permission.VIEW,
            Permission.VIEW_CONTACT,
            Permission.ENROL,
            Permission.HANDOVER,
            Permission.ENTER,
            Permission.CORRECT,
        }
    ),
    Role.INVESTIGATOR: frozenset(
        {Permission.VIEW, Permission.VIEW_CONTACT, Permission.ENTER}
    ),
    Role.DATA_MANAGER: frozenset(
        {
            Permission.VIEW,
            Permission.CORRECT,
            Permission.LOCK,
            Permission.AUDIT,
            Permission.EXPORT,
        }
    ),
    # Monitors read everything a monitor must verify, and change nothing.
    Role.MONITOR: frozenset({Permission.VIEW, Permission.AUDIT}),
}


def permissions_of(roles: set[Role] | frozenset[Role]) -> frozenset[Permission]:
    """Return the union of the permissions of ``roles``."""
    granted: set[Permission] = set()
    for role in roles:
        granted |= ROLE_PERMISSIONS[role]
    return frozenset(granted)
