"""``flask notify`` commands."""

from __future__ import annotations

import os
import socket
from datetime import UTC, datetime, timedelta

import click
from flask import current_app
from flask.cli import AppGroup
from sqlalchemy.orm import sessionmaker

from pro_app.dbtypes import utcnow
from pro_app.extensions import db

cli = AppGroup("notify", help="Invitations and reminders.")


def _parse_now(value: str | None) -> datetime:
    if not value:
        return utcnow()
    parsed = datetime.fromisoformat(value)
    if parsed.tzinfo is None:
        raise click.BadParameter("give a time zone, e.g. 2026-03-01T08:00+00:00")
    return parsed.astimezone(UTC)


@cli.command("send")
@click.option(
    "--now", "now_text", default=None, help="Act as if it were this ISO time."
)
@click.option("--batch", "batch_size", type=int, default=None, help="Rows per claim.")
def send(now_text: str | None, batch_size: int | None) -> None:
    """Queue due invitations and reminders, then send what is due.

    Safe to run in several places at once: each message is claimed by one run.
    """
    from pro_app.notify.senders import senders_from_config
    from pro_app.notify.services import SendOptions, plan_messages, send_due

    config = current_app.config
    now = _parse_now(now_text)
    sender = senders_from_config(config, current_app.instance_path)
    planned = plan_messages(
        db.session, now, data_key=config["DATA_KEY"], channels=sender.channels
    )
    db.session.commit()
    options = SendOptions(
        link_base_url=config["NOTIFY_BASE_URL"],
        data_key=config["DATA_KEY"],
        default_locale=config["DEFAULT_LOCALE"],
        link_days=config["ACCESS_TOKEN_DAYS"],
        team_contact=config["NOTIFY_TEAM_CONTACT"],
        max_attempts=config["NOTIFY_MAX_ATTEMPTS"],
        claim_timeout=timedelta(minutes=config["NOTIFY_CLAIM_TIMEOUT_MINUTES"]),
    )
    stats = send_due(
        sessionmaker(bind=db.engine),
        sender,
        now,
        worker_id=f"{socket.gethostname()}:{os.getpid()}",
        batch_size=batch_size or config["NOTIFY_BATCH_SIZE"],
        options=options,
    )
    click.echo(
        f"planned {planned}, sent {stats.sent}, cancelled {stats.cancelled}, "
        f"retrying {stats.retried}, failed {stats.failed}"
    )
