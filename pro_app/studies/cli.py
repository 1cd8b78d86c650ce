"""``flask studies`` commands."""

from __future__ import annotations

from pathlib import Path

import click
from flask import current_app
from flask.cli import AppGroup

from pro_app.extensions import db
from pro_app.studies.protocol import ProtocolError, load_protocol
from pro_app.studies.services import import_protocol

cli = AppGroup("studies", help="Study protocols and enrolment.")


@cli.command("import")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--dry-run", is_flag=True, help="Show what would change; write nothing.")
@click.option("--actor", default="system:cli", show_default=True)
def import_command(file: Path, dry_run: bool, actor: str) -> None:
    """Create or amend a study from a protocol file (studies/<code>.toml)."""
    try:
        protocol = load_protocol(file, current_app.extensions["pro_catalog"])
    except ProtocolError as exc:
        click.echo(f"error: {exc}", err=True)
        raise SystemExit(1) from None
    report = import_protocol(db.session, protocol, actor=actor, dry_run=dry_run)
    if dry_run:
        db.session.rollback()
    else:
        db.session.commit()
    for line in report.lines():
        click.echo(line)
