"""The list of a staff member's studies, and each study's team."""

from __future__ import annotations

from typing import Any

from flask import abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from pro_app.auth import forms, grants, services
from pro_app.auth.access import (
    SIGNED_IN,
    access,
    current_staff,
    requires,
    staff_actor,
)
from pro_app.auth.admin import grant_from_form, role_choices
from pro_app.auth.models import Role, StudyRole
from pro_app.auth.permissions import Permission
from pro_app.extensions import db
from pro_app.staff import bp
from pro_app.studies.models import Study


@bp.get("/")
@requires(SIGNED_IN)
def list_studies() -> Any:
    user = current_staff().user
    studies = db.session.scalars(
        select(Study)
        # A subquery, not DISTINCT: PostgreSQL cannot compare JSON columns.
        .where(
            Study.id.in_(select(StudyRole.study_id).where(StudyRole.user_id == user.id))
        )
        .order_by(Study.code)
    ).all()
    if len(studies) == 1 and not user.is_admin:
        return redirect(url_for(".dashboard", study_code=studies[0].code))
    return render_template("staff/studies.html", studies=studies, user=user)


def _grant_form() -> forms.GrantRoleForm:
    # Only what this administrator may give is offered; anything else typed
    # in reaches the grant rule and is refused there (403, audited).
    here = access()
    form = forms.GrantRoleForm(prefix="grant")
    sites = [None, *here.study.sites]
    form.role.choices = [
        (value, label)
        for value, label in role_choices()
        if any(here.may_grant(Role(value), s and s.id) for s in sites)
    ]
    form.site.choices = [
        ("", _("All sites"))
        if site is None
        else (site.code, f"{site.code} {site.name}")
        for site in sites
        if any(here.may_grant(role, site and site.id) for role in Role)
    ]
    return form


def _team_page(status: int = 200, error: str | None = None) -> Any:
    here = access()
    return render_template(
        "staff/team.html",
        grants=grants.visible_grants(db.session, here.study, here.user),
        may_revoke=lambda g: here.may_grant(g.role, g.site_id),
        form=_grant_form(),
        revoke_form=forms.ReasonForm(prefix="revoke"),
        role_labels=dict(role_choices()),
        error=error,
    ), status


REFUSED = _l(
    "You may grant or remove roles only at the sites you administer. A role for "
    "every site, or the administrator role, needs an administrator of the whole "
    "study. Nothing was changed."
)


@bp.get("/s/<study_code>/team")
@requires(Permission.MANAGE)
def team(study_code: str) -> Any:
    return _team_page()


@bp.post("/s/<study_code>/team")
@requires(Permission.MANAGE)
def grant_role(study_code: str) -> Any:
    study = access().study
    form = _grant_form()
    if not form.validate_on_submit():
        return _team_page(400, _("Choose a staff member and a role."))
    user = services.user_by_email(db.session, form.email.data)
    if user is None or not user.active:
        return _team_page(
            400, _("No active account has that email. An administrator creates it.")
        )
    try:
        grant_from_form(form, user, study)
    except grants.GrantRefused:
        return _team_page(403, str(REFUSED))
    except grants.GrantError:
        db.session.rollback()
        return _team_page(400, _("Choose a staff member and a role."))
    return redirect(url_for(".team", study_code=study.code))


@bp.post("/s/<study_code>/team/<int:grant_id>/revoke")
@requires(Permission.MANAGE)
def revoke_role(study_code: str, grant_id: int) -> Any:
    study = access().study
    grant = db.session.get(StudyRole, grant_id)
    if grant is None or grant.study_id != study.id:
        abort(404)
    form = forms.ReasonForm(prefix="revoke")
    if not form.validate_on_submit():
        return _team_page(400, _("A reason is needed."))
    try:
        grants.revoke_role(
            db.session,
            grant,
            actor=staff_actor(),
            reason=form.reason.data,
            revoked_by=current_staff().user,
        )
    except grants.GrantRefused:
        # The refusal is on record; nothing else was written.
        db.session.commit()
        return _team_page(403, str(REFUSED))
    except grants.GrantError:
        db.session.rollback()
        return _team_page(400, _("You cannot remove your own administrator role."))
    db.session.commit()
    flash(_("Role removed."), "ok")
    return redirect(url_for(".team", study_code=study.code))
