"""What each role may do, site by site, and who may grant what. Pure.

This module is the rule the trial team and its monitors can check; the
permission tests derive every expected answer from it.

**Per site, never "the widest grant wins".** A grant is a role in one study,
either at one site or at every site (``site_id`` ``None``). A staff member
holds a permission *at a site* when one of their grants whose role carries
that permission covers that site. Grants are never merged across sites: an
all-sites monitor who is also coordinator at site 01 may read every site
but enrol, hand over links or correct answers at site 01 only.

**Study-wide actions need the permission at every site:** locking the whole
study or a timepoint for every participant needs an all-sites grant with
``LOCK``; data not tied to a site (study-wide locks, audit events about the
study or its team) is shown only to holders of an all-sites grant.

**A grant never gives more than the granter holds.** To grant (or revoke) a
role at a site, the granter must hold ``MANAGE`` and every permission of
that role at that site. A grant for every site, and the administrator role
at any scope, need an all-sites study administrator. The account
administrator (who manages accounts, see ``auth/admin.py``) may grant any
role without holding one. Revoking follows the rule of granting: one may
take away only what one could have given.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
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

# The sites a permission reaches: ``None`` for every site of the study
# (including sites added later and data tied to no site), otherwise the ids
# of the sites, possibly none.
SiteScope = frozenset[int] | None
EVERY_SITE: SiteScope = None


@dataclass(frozen=True)
class Grant:
    """One role in one study, at one site or (``site_id`` ``None``) at all."""

    role: Role
    site_id: int | None = None


def permissions_of(roles: Iterable[Role]) -> frozenset[Permission]:
    """Return the union of the permissions of ``roles`` (at one site)."""
    granted: set[Permission] = set()
    for role in roles:
        granted |= ROLE_PERMISSIONS[role]
    return frozenset(granted)


def sites_with(grants: Iterable[Grant], permission: Permission) -> SiteScope:
    """Return where ``grants`` give ``permission``: every site, or these ids."""
    sites: set[int] = set()
    for grant in grants:
        if permission in ROLE_PERMISSIONS[grant.role]:
            if grant.site_id is None:
                return EVERY_SITE
            sites.add(grant.site_id)
    return frozenset(sites)


def holds(grants: Iterable[Grant], permission: Permission, site_id: int | None) -> bool:
    """Whether ``grants`` give ``permission`` at ``site_id`` (``None``: at all)."""
    sites = sites_with(grants, permission)
    if sites is EVERY_SITE:
        return True
    return site_id is not None and site_id in sites


def permissions_at(
    grants: Iterable[Grant], site_id: int | None
) -> frozenset[Permission]:
    """Every permission ``grants`` give at one site (``None``: at every site)."""
    covering = [g.role for g in grants if g.site_id is None or g.site_id == site_id]
    return permissions_of(covering)


def within(scope: SiteScope, site_id: int | None) -> bool:
    """Whether ``site_id`` is inside ``scope`` (data of no site: every site only)."""
    if scope is EVERY_SITE:
        return True
    return site_id is not None and site_id in scope


def may_grant(
    granter: Iterable[Grant], role: Role, site_id: int | None, *, account_admin: bool
) -> bool:
    """Whether a granter holding ``granter`` in a study may give ``role`` there.

    ``site_id`` ``None`` is a grant for every site. The same rule decides
    whether the granter may revoke such a grant.
    """
    if account_admin:
        return True
    grants = list(granter)
    if role is Role.ADMIN or site_id is None:
        # Only an all-sites study administrator widens access to a whole study
        # or makes another administrator.
        return Role.ADMIN in {g.role for g in grants if g.site_id is None}
    held = permissions_at(grants, site_id)
    return Permission.MANAGE in held and ROLE_PERMISSIONS[role] <= held
