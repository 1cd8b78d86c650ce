"""``flask studies`` commands."""

from __future__ import annotations

from pathlib import Path

import click
from flask import current_app
from flask.cli import AppGroup
from sqlalchemy import select

from pro_app.dbtypes import utcnow
from pro_app.extensions import db
from pro_app.participants.models import Participant
from pro_app.studies.models import Study
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
        replan_messages(report.study_code, {c.subject_id for c in report.changes})
        db.session.commit()
    for line in report.lines():
        click.echo(line)


def replan_messages(study_code: str, subject_ids: set[str]) -> int:
    """Re-plan the queued messages of participants whose windows changed.

    Without this, an invitation queued for an old opening time would stay
    queued for it. Returns how many messages are now queued for them.
    """
    from pro_app.notify.services import replan

    if not subject_ids:
        return 0
    rows = db.session.execute(
        select(Participant.id)
        .join(Study, Participant.study_id == Study.id)
        .where(Study.code == study_code, Participant.subject_id.in_(subject_ids))
    )
    return sum(
        replan(db.session, pid, utcnow(), data_key=current_app.config["DATA_KEY"])
        for (pid,) in rows
    )
