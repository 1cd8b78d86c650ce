"""Roles in studies: grant and revoke, under the rule of ``permissions.py``.

A grant never gives more than the granter holds. The rule is checked here,
in the service, so that every way in (the study's team page, the account
administrator's pages, a future API) obeys it; a refusal is audited as
``role.grant_refused`` and changes nothing else.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from pro_app.audit.services import record
from pro_app.auth.models import Role, StaffUser, StudyRole
from pro_app.auth.permissions import (
    EVERY_SITE,
    Grant,
    Permission,
    may_grant,
    sites_with,
)
from pro_app.auth.scope import in_sites
from pro_app.studies.models import Site, Study


class GrantError(ValueError):
    """A grant that cannot be made as asked (message is safe to show)."""


class GrantRefused(PermissionError):
    """The acting staff member may not give or take away this role.

    The refusal has been recorded in the session (``role.grant_refused``):
    the caller commits it and answers 403.
    """


def grants_of(session: Session, user_id: int, study_id: int) -> tuple[Grant, ...]:
    """A user's grants in one study, as the pure rule reads them."""
    rows = session.execute(
        select(StudyRole.role, StudyRole.site_id).where(
            StudyRole.user_id == user_id, StudyRole.study_id == study_id
        )
    ).all()
    return tuple(Grant(role, site_id) for role, site_id in rows)


def _authorise(
    session: Session,
    by: StaffUser | None,
    study: Study,
    role: Role,
    site: Site | None,
    *,
    operation: str,
    user_id: int,
    actor: str,
) -> None:
    # ``by`` None is the operator at the command line (``flask users grant``).
    if by is None:
        return
    site_id = None if site is None else site.id
    held = grants_of(session, by.id, study.id)
    if may_grant(held, role, site_id, account_admin=by.is_admin):
        return
    record(
        session,
        actor=actor,
        action="role.grant_refused",
        entity_type="staff_user",
        entity_id=user_id,
        new={
            "operation": operation,
            "role": role.value,
            "site": None if site is None else site.code,
        },
        study_id=study.id,
    )
    raise GrantRefused(operation)


def grant_role(
    session: Session,
    user: StaffUser,
    study: Study,
    role: Role,
    *,
    site: Site | None = None,
    actor: str,
    granted_by: StaffUser | None,
) -> StudyRole:
    """Give a user a role in a study (optionally at one site); audited.

    Args:
        granted_by: the staff member acting, whose own grants bound what may
            be given; ``None`` only for the operator's command line.
    """
    if site is not None and site.study_id != study.id:
        raise GrantError("That site is not part of this study.")
    _authorise(
        session,
        granted_by,
        study,
        role,
        site,
        operation="grant",
        user_id=user.id,
        actor=actor,
    )
    existing = session.scalar(
        select(StudyRole).where(
            StudyRole.user_id == user.id,
            StudyRole.study_id == study.id,
            StudyRole.role == role,
            StudyRole.site_id.is_(None)
            if site is None
            else StudyRole.site_id == site.id,
        )
    )
    if existing is not None:
        return existing
    grant = StudyRole(
        user_id=user.id,
        study_id=study.id,
        site_id=None if site is None else site.id,
        role=role,
        granted_by_id=None if granted_by is None else granted_by.id,
    )
    session.add(grant)
    session.flush()
    record(
        session,
        actor=actor,
        action="role.grant",
        entity_type="staff_user",
        entity_id=user.id,
        new={"role": role.value, "site": None if site is None else site.code},
        study_id=study.id,
    )
    return grant


def revoke_role(
    session: Session,
    grant: StudyRole,
    *,
    actor: str,
    reason: str,
    revoked_by: StaffUser | None,
) -> None:
    """Take a role away; audited with the reason.

    One may take away only what one could have given; an administrator
    cannot remove their own administrator role (someone else must).
    """
    if (
        revoked_by is not None
        and grant.user_id == revoked_by.id
        and grant.role is Role.ADMIN
    ):
        raise GrantError("You cannot remove your own administrator role.")
    _authorise(
        session,
        revoked_by,
        grant.study,
        grant.role,
        grant.site,
        operation="revoke",
        user_id=grant.user_id,
        actor=actor,
    )
    old = {"role": grant.role.value, "site": grant.site.code if grant.site else None}
    study_id, user_id = grant.study_id, grant.user_id
    session.delete(grant)
    session.flush()
    record(
        session,
        actor=actor,
        action="role.revoke",
        entity_type="staff_user",
        entity_id=user_id,
        old=old,
        reason=reason,
        study_id=study_id,
    )


def visible_grants(
    session: Session, study: Study, viewer: StaffUser
) -> list[StudyRole]:
    """The study's grants a viewer may see on the team page.

    Everyone with an all-sites grant, and the grants at the sites where the
    viewer manages the team; an account administrator sees them all.
    """
    query = select(StudyRole).where(StudyRole.study_id == study.id)
    if not viewer.is_admin:
        sites = sites_with(grants_of(session, viewer.id, study.id), Permission.MANAGE)
        if sites is not EVERY_SITE:
            query = query.where(
                StudyRole.site_id.is_(None) | in_sites(StudyRole.site_id, sites)
            )
    return list(
        session.scalars(query.order_by(StudyRole.user_id, StudyRole.role, StudyRole.id))
    )
