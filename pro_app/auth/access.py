"""Who is signed in, and what they may see: the ``@requires`` decorator.

Every staff view declares its access with ``@requires(...)``; a test walks the
URL map and fails on any staff route without one. A study's pages are found
by the ``study_code`` in the URL; staff with no role in that study get 404,
as if it did not exist, and a role without the permission gets 403.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps
from typing import Any, TypeVar

from flask import abort, flash, g, redirect, request, url_for
from flask_babel import gettext as _
from flask_login import UserMixin, current_user
from sqlalchemy import select
from sqlalchemy.exc import DBAPIError

from pro_app.auth import services
from pro_app.auth.grants import grants_of
from pro_app.auth.models import Role, StaffUser
from pro_app.auth.permissions import (
    Grant,
    Permission,
    SiteScope,
    holds,
    may_grant,
    sites_with,
    within,
)
from pro_app.extensions import db, login_manager
from pro_app.participants.login import load_participant
from pro_app.participants.models import Participant
from pro_app.studies.models import Assignment, Study
from pro_app.surveys.models import Submission

PREFIX = "s:"
# Access levels that are not a study permission.
PUBLIC = "public"
SIGNED_IN = "signed_in"
SYSTEM_ADMIN = "system_admin"

F = TypeVar("F", bound=Callable[..., Any])


class StaffIdentity(UserMixin):
    """The signed-in staff member, identified by a revocable session key."""

    def __init__(self, user: StaffUser, key: str) -> None:
        self.user = user
        self.key = key

    def get_id(self) -> str:
        return PREFIX + self.key


def load_staff(key: str) -> StaffIdentity | None:
    """Flask-Login loader for staff keys: ends timed-out sessions on the way."""
    try:
        state, user = services.resume_session(db.session, key)
        # The activity time and any time-out are kept whatever the request does.
        db.session.commit()
    except DBAPIError:
        db.session.rollback()
        g.pro_database_down = True
        return None
    if user is None:
        if state in (services.SessionState.IDLE, services.SessionState.EXPIRED):
            g.staff_session_end = state
        return None
    return StaffIdentity(user, key)


@login_manager.user_loader
def load_user(user_id: str) -> UserMixin | None:
    """The one Flask-Login loader: staff keys here, participant keys there."""
    if user_id.startswith(PREFIX):
        return load_staff(user_id.removeprefix(PREFIX))
    return load_participant(user_id)


def current_staff() -> StaffIdentity | None:
    """Return the signed-in staff identity, or ``None``."""
    user = current_user._get_current_object()
    return user if isinstance(user, StaffIdentity) else None


@dataclass(frozen=True)
class StudyAccess:
    """A staff member's standing in the study of the current request.

    Permissions are evaluated site by site (``permissions.py`` has the rule);
    ``level`` is the permission the request's view declared, the default for
    every site question asked below.
    """

    study: Study
    user: StaffUser
    grants: tuple[Grant, ...]
    level: Permission = Permission.VIEW

    def can(self, permission: Permission | str) -> bool:
        """Whether the permission holds at one site at least."""
        return sites_with(self.grants, Permission(permission)) != frozenset()

    def can_at(self, permission: Permission | str, site_id: int | None) -> bool:
        """Whether the permission holds at ``site_id`` (``None``: at every site)."""
        return holds(self.grants, Permission(permission), site_id)

    def sites(self, permission: Permission | str | None = None) -> SiteScope:
        """Where a permission (by default the view's) holds: ``None`` = every site."""
        return sites_with(self.grants, Permission(permission or self.level))

    def sees_site(self, site_id: int | None) -> bool:
        """Whether data of ``site_id`` may be shown for the view's permission."""
        return within(self.sites(), site_id)

    def may_grant(self, role: Role, site_id: int | None) -> bool:
        return may_grant(self.grants, role, site_id, account_admin=self.user.is_admin)


def study_access(
    user: StaffUser, study: Study, level: Permission = Permission.VIEW
) -> StudyAccess | None:
    """Return the user's access to ``study``, or ``None`` without any role."""
    grants = grants_of(db.session, user.id, study.id)
    if not grants:
        return None
    return StudyAccess(study, user, grants, level)


def _to_login() -> Any:
    end = g.pop("staff_session_end", None)
    if end is services.SessionState.IDLE:
        flash(_("You were signed out after a period without activity."), "info")
    elif end is services.SessionState.EXPIRED:
        flash(_("Your session has ended. Please sign in again."), "info")
    target = request.full_path.rstrip("?") if request.method == "GET" else None
    return redirect(url_for("auth.login", next=target))


def requires(level: Permission | str) -> Callable[[F], F]:
    """Declare and enforce what a staff view needs.

    ``level`` is a study ``Permission`` (the view takes ``study_code``), or
    ``SIGNED_IN``, ``SYSTEM_ADMIN`` or ``PUBLIC``.
    """

    def decorate(view: F) -> F:
        @wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            if level == PUBLIC:
                return view(*args, **kwargs)
            identity = current_staff()
            if identity is None:
                return _to_login()
            user = identity.user
            if user.must_change_password and request.endpoint != "auth.account":
                flash(_("Please choose a new password before you go on."), "info")
                return redirect(url_for("auth.account"))
            if level == SYSTEM_ADMIN and not user.is_admin:
                abort(403)
            if isinstance(level, Permission):
                study = db.session.scalar(
                    select(Study).where(Study.code == kwargs.get("study_code"))
                )
                access = None if study is None else study_access(user, study, level)
                if access is None:
                    abort(404)
                if not access.can(level):
                    abort(403)
                g.access = access
            return view(*args, **kwargs)

        wrapped.required_access = level  # type: ignore[attr-defined]
        return wrapped  # type: ignore[return-value]

    return decorate


def access() -> StudyAccess:
    """Return the current request's study access (inside a study view)."""
    return g.access


def participant_or_404(participant_id: int) -> Participant:
    """A participant the current view may act on, at a site where it may.

    404 when the participant is not in the study or at no site the user sees
    at all; 403 when they see the site but the view's permission does not
    hold there (an all-sites monitor who coordinates site 01 only).
    """
    here = access()
    participant = db.session.get(Participant, participant_id)
    if participant is None or participant.study_id != here.study.id:
        abort(404)
    if not here.sees_site(participant.site_id):
        visible = within(here.sites(Permission.VIEW), participant.site_id)
        abort(403 if visible else 404)
    return participant


def assignment_or_404(assignment_id: int) -> Assignment:
    """An assignment of a participant the current user may see."""
    assignment = db.session.get(Assignment, assignment_id)
    if assignment is None:
        abort(404)
    participant_or_404(assignment.participant_id)
    return assignment


def submission_or_404(submission_id: int) -> Submission:
    """A submission of a participant the current user may see."""
    submission = db.session.get(Submission, submission_id)
    if submission is None:
        abort(404)
    participant_or_404(submission.participant_id)
    return submission


def staff_actor() -> str:
    """The audit actor of the signed-in staff member."""
    identity = current_staff()
    if identity is None:
        abort(401)
    return services.actor_for(identity.user)
