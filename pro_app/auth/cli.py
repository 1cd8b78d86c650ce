"""``flask users``: staff accounts from the command line.

Passwords are always prompted for (hidden, typed twice), never taken as an
argument, so they stay out of shell history and process lists.
"""

from __future__ import annotations

import click
from flask.cli import AppGroup
from sqlalchemy import select

from pro_app.auth import grants, services
from pro_app.auth.models import Role, StaffUser
from pro_app.extensions import db
from pro_app.studies.models import Site, Study

users_cli = AppGroup("users", help="Staff accounts and their roles.")
ACTOR = "system:cli"


def _user(email: str) -> StaffUser:
    user = services.user_by_email(db.session, email)
    if user is None:
        raise click.ClickException(f"no account with email {email}")
    return user


@users_cli.command("create")
@click.argument("email")
@click.option("--name", prompt=True, help="Full name.")
@click.option("--admin", "is_admin", is_flag=True, help="Account administrator.")
@click.password_option(help="Prompted for; never pass it on the command line.")
def create(email: str, name: str, is_admin: bool, password: str) -> None:
    """Create a staff account."""
    try:
        user = services.create_user(
            db.session,
            email=email,
            name=name,
            password=password,
            is_admin=is_admin,
            actor=ACTOR,
        )
    except services.AccountError as exc:
        db.session.rollback()
        raise click.ClickException(str(exc)) from exc
    db.session.commit()
    click.echo(f"created {user.email}{' (administrator)' if is_admin else ''}")


@users_cli.command("grant")
@click.argument("email")
@click.argument("study_code")
@click.argument("role", type=click.Choice([r.value for r in Role]))
@click.option("--site", "site_code", default=None, help="Limit to one site.")
def grant(email: str, study_code: str, role: str, site_code: str | None) -> None:
    """Give a staff member a role in a study."""
    user = _user(email)
    study = db.session.scalar(select(Study).where(Study.code == study_code))
    if study is None:
        raise click.ClickException(f"no study {study_code}")
    site = None
    if site_code:
        site = db.session.scalar(
            select(Site).where(Site.study_id == study.id, Site.code == site_code)
        )
        if site is None:
            raise click.ClickException(f"no site {site_code} in {study_code}")
    grants.grant_role(
        db.session, user, study, Role(role), site=site, actor=ACTOR, granted_by=None
    )
    db.session.commit()
    click.echo(f"{user.email}: {role} in {study_code}")


@users_cli.command("reset-password")
@click.argument("email")
@click.option("--reason", required=True, help="Why (kept in the audit trail).")
@click.password_option("--password", help="Temporary password; prompted for.")
def reset_password(email: str, reason: str, password: str) -> None:
    """Set a temporary password, end every session, require a change."""
    user = _user(email)
    try:
        services.reset_password(db.session, user, password, actor=ACTOR, reason=reason)
    except services.AccountError as exc:
        db.session.rollback()
        raise click.ClickException(str(exc)) from exc
    db.session.commit()
    click.echo(f"{user.email}: password reset, sessions ended")


@users_cli.command("disable")
@click.argument("email")
@click.option("--reason", required=True, help="Why (kept in the audit trail).")
def disable(email: str, reason: str) -> None:
    """Disable an account and end its sessions."""
    user = _user(email)
    services.set_disabled(db.session, user, True, actor=ACTOR, reason=reason)
    db.session.commit()
    click.echo(f"{user.email}: disabled")


@users_cli.command("list")
def list_users() -> None:
    """List accounts with their roles."""
    for user in db.session.scalars(select(StaffUser).order_by(StaffUser.email)):
        roles = ", ".join(
            f"{g.study.code}:{g.role.value}" + (f"@{g.site.code}" if g.site else "")
            for g in user.roles
        )
        state = "active" if user.active else "disabled"
        click.echo(f"{user.email}\t{user.name}\t{state}\t{roles}")
