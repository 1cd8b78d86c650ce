"""Account administration: create, reset, disable, second factor, roles."""

from __future__ import annotations

from typing import Any

from flask import abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from sqlalchemy import select

from pro_app.auth import forms, grants, services
from pro_app.auth.access import SYSTEM_ADMIN, current_staff, requires, staff_actor
from pro_app.auth.models import Role, StaffUser, StudyRole
from pro_app.auth.views import bp
from pro_app.dbtypes import utcnow
from pro_app.extensions import db
from pro_app.studies.models import Site, Study

__all__ = ["bp"]


def _user_or_404(user_id: int) -> StaffUser:
    user = db.session.get(StaffUser, user_id)
    if user is None:
        abort(404)
    return user


def role_choices() -> list[tuple[str, str]]:
    """The roles as (value, label) pairs for a select."""
    labels = {
        Role.ADMIN: _("Study administrator"),
        Role.COORDINATOR: _("Coordinator"),
        Role.INVESTIGATOR: _("Investigator"),
        Role.DATA_MANAGER: _("Data manager"),
        Role.MONITOR: _("Monitor (read-only)"),
    }
    return [(role.value, labels[role]) for role in Role]


def grant_from_form(form: forms.GrantRoleForm, user: StaffUser, study: Study) -> None:
    """Grant the role a validated form asks for, commit, and say so.

    Raises ``GrantRefused`` (the refusal committed, nothing else written) or
    ``GrantError`` (rolled back) for a grant that cannot be made.
    """
    site = None
    if form.site.data:
        site = db.session.scalar(
            select(Site).where(Site.study_id == study.id, Site.code == form.site.data)
        )
        if site is None:
            raise grants.GrantError("That site is not part of this study.")
    try:
        role = Role(form.role.data)
    except ValueError as exc:
        raise grants.GrantError("No such role.") from exc
    try:
        grants.grant_role(
            db.session,
            user,
            study,
            role,
            site=site,
            actor=staff_actor(),
            granted_by=current_staff().user,
        )
    except grants.GrantRefused:
        db.session.commit()
        raise
    db.session.commit()
    flash(_("Role granted."), "ok")


@bp.route("/users", methods=["GET", "POST"])
@requires(SYSTEM_ADMIN)
def list_users() -> Any:
    form = forms.CreateUserForm()
    error = None
    if form.validate_on_submit():
        try:
            user = services.create_user(
                db.session,
                email=form.email.data,
                name=form.name.data,
                password=form.password.data,
                is_admin=form.is_admin.data,
                must_change_password=True,
                actor=staff_actor(),
            )
        except services.AccountError as exc:
            db.session.rollback()
            error = str(exc)
        else:
            db.session.commit()
            flash(_("Account created. Give the temporary password in person."), "ok")
            return redirect(url_for(".show_user", user_id=user.id))
    elif form.is_submitted():
        error = _("Check the fields marked below.")
    users = db.session.scalars(select(StaffUser).order_by(StaffUser.email)).all()
    return render_template(
        "auth/users.html", users=users, form=form, error=error, now=utcnow()
    ), (200 if error is None else 400)


def _user_page(user: StaffUser, status: int = 200, error: str | None = None) -> Any:
    grant_form = forms.GrantRoleForm(prefix="grant")
    grant_form.role.choices = role_choices()
    studies = db.session.scalars(select(Study).order_by(Study.code)).all()
    return render_template(
        "auth/user.html",
        user=user,
        studies=studies,
        reset_form=forms.ResetPasswordForm(prefix="reset"),
        reason_form=forms.ReasonForm(prefix="state"),
        grant_form=grant_form,
        error=error,
    ), status


@bp.get("/users/<int:user_id>")
@requires(SYSTEM_ADMIN)
def show_user(user_id: int) -> Any:
    return _user_page(_user_or_404(user_id))


@bp.post("/users/<int:user_id>/reset")
@requires(SYSTEM_ADMIN)
def reset_user_password(user_id: int) -> Any:
    user = _user_or_404(user_id)
    form = forms.ResetPasswordForm(prefix="reset")
    if not form.validate_on_submit():
        return _user_page(user, 400, _("A temporary password and a reason are needed."))
    try:
        services.reset_password(
            db.session,
            user,
            form.password.data,
            actor=staff_actor(),
            reason=form.reason.data,
        )
    except services.AccountError as exc:
        db.session.rollback()
        return _user_page(user, 400, str(exc))
    db.session.commit()
    flash(_("Password reset. Every session of this account has ended."), "ok")
    return redirect(url_for(".show_user", user_id=user.id))


@bp.post("/users/<int:user_id>/state")
@requires(SYSTEM_ADMIN)
def set_user_state(user_id: int) -> Any:
    user = _user_or_404(user_id)
    form = forms.ReasonForm(prefix="state")
    if not form.validate_on_submit():
        return _user_page(user, 400, _("A reason is needed."))
    disable = user.active
    if disable and user.id == current_staff().user.id:
        return _user_page(user, 400, _("You cannot disable your own account."))
    services.set_disabled(
        db.session, user, disable, actor=staff_actor(), reason=form.reason.data
    )
    db.session.commit()
    flash(_("Account disabled.") if disable else _("Account enabled."), "ok")
    return redirect(url_for(".show_user", user_id=user.id))


@bp.post("/users/<int:user_id>/totp-off")
@requires(SYSTEM_ADMIN)
def reset_user_totp(user_id: int) -> Any:
    user = _user_or_404(user_id)
    form = forms.ReasonForm(prefix="state")
    if not form.validate_on_submit():
        return _user_page(user, 400, _("A reason is needed."))
    services.disable_totp(db.session, user, actor=staff_actor())
    db.session.commit()
    flash(_("Two-step sign-in removed; the user can set it up again."), "ok")
    return redirect(url_for(".show_user", user_id=user.id))


@bp.post("/users/<int:user_id>/roles")
@requires(SYSTEM_ADMIN)
def grant_user_role(user_id: int) -> Any:
    user = _user_or_404(user_id)
    form = forms.GrantRoleForm(prefix="grant")
    form.role.choices = role_choices()
    form.email.data = user.email
    study = db.session.scalar(select(Study).where(Study.code == form.study.data))
    form.site.choices = [("", "")] + (
        [(s.code, s.name) for s in study.sites] if study else []
    )
    if study is None or not form.validate_on_submit():
        return _user_page(user, 400, _("Choose a study and a role."))
    try:
        grant_from_form(form, user, study)
    except (grants.GrantError, grants.GrantRefused):
        db.session.rollback()
        return _user_page(user, 400, _("Choose a study and a role."))
    return redirect(url_for(".show_user", user_id=user.id))


@bp.post("/users/<int:user_id>/roles/<int:grant_id>/revoke")
@requires(SYSTEM_ADMIN)
def revoke_user_role(user_id: int, grant_id: int) -> Any:
    user = _user_or_404(user_id)
    grant = db.session.get(StudyRole, grant_id)
    if grant is None or grant.user_id != user.id:
        abort(404)
    form = forms.ReasonForm(prefix="state")
    if not form.validate_on_submit():
        return _user_page(user, 400, _("A reason is needed."))
    try:
        grants.revoke_role(
            db.session,
            grant,
            actor=staff_actor(),
            reason=form.reason.data,
            revoked_by=current_staff().user,
        )
    except grants.GrantError:
        # Their own administrator role: another administrator removes it.
        db.session.rollback()
        return _user_page(
            user, 400, _("You cannot remove your own administrator role.")
        )
    db.session.commit()
    flash(_("Role removed."), "ok")
    return redirect(url_for(".show_user", user_id=user.id))
