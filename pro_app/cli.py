"""``flask`` commands. They prompt, print and commit; services do the work."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import click
from flask import Flask, current_app
from flask.cli import AppGroup, with_appcontext

from pro_app.audit.services import Anchor, record_verification, verify_chain
from pro_app.catalog import CatalogError, load_catalog
from pro_app.extensions import db

instruments_cli = AppGroup("instruments", help="Instrument definitions.")
i18n_cli = AppGroup("i18n", help="Interface translations (Babel catalogues).")
audit_cli = AppGroup("audit", help="The audit trail.")
scores_cli = AppGroup("scores", help="Stored scores.")


@scores_cli.command("recompute")
@click.option("--study", "study_code", default=None, help="Only this study's code.")
def scores_recompute(study_code: str | None) -> None:
    """Re-score completed submissions; every changed score is audited."""
    from pro_app.surveys.scores import recompute

    scored, changed = recompute(
        db.session,
        catalog=current_app.extensions["pro_catalog"],
        actor="system:scores-recompute",
        study_code=study_code,
    )
    db.session.commit()
    click.echo(f"{scored} submission(s) scored, {changed} changed")


@click.command("score")
@with_appcontext
@click.argument("instrument")
@click.argument("source", type=click.File("r", encoding="utf-8-sig"))
@click.option("--version", default=None, help="Instrument version (default: latest).")
@click.option(
    "--out",
    "target",
    type=click.File("w", encoding="utf-8", lazy=True),
    default="-",
    show_default=True,
    help="Where to write the scores CSV.",
)
def score_file(instrument: str, source: Any, version: str | None, target: Any) -> None:
    """Score a CSV of answers: columns named by item id, or a csv-questionnaire export.

    Writes one row per scored row: its identifier columns, then for each
    scale its value, _raw, _se, _n, _prorated and _status, then the
    algorithm. README.md ("Scoring a file") describes both layouts.
    """
    from pro_app.scoring.batch import BatchError, score_csv

    try:
        result = score_csv(
            instrument,
            source,
            target,
            version=version,
            catalog=current_app.extensions["pro_catalog"],
        )
    except (BatchError, LookupError) as error:
        raise click.ClickException(str(error)) from error
    click.echo(f"scored {result.scored} row(s)", err=True)
    if result.skipped:
        click.echo(
            f"left out {result.skipped} row(s) of other instruments or versions",
            err=True,
        )


@instruments_cli.command("check")
def instruments_check() -> None:
    """Validate every instrument file; exit 1 naming the file and key if bad."""
    root = Path(current_app.config["INSTRUMENTS_DIR"])
    try:
        catalog = load_catalog(root)
    except CatalogError as error:
        raise click.ClickException(str(error)) from error
    for inst in catalog.instruments:
        click.echo(
            f"ok  {inst.id} {inst.version}: {len(inst.items)} items, "
            f"{len(inst.scales)} scales, languages {', '.join(inst.languages)}"
        )


@instruments_cli.command("list")
def instruments_list() -> None:
    """List the instruments on file."""
    for inst in current_app.extensions["pro_catalog"].instruments:
        click.echo(f"{inst.id}\t{inst.version}\t{inst.name}")


def _pybabel(*args: str) -> None:
    subprocess.run([sys.executable, "-m", "babel.messages.frontend", *args], check=True)  # noqa: S603


@i18n_cli.command("extract")
def i18n_extract() -> None:
    """Extract UI strings into translations/messages.pot."""
    root = Path(current_app.root_path).parent
    _pybabel(
        "extract",
        "-F",
        str(root / "babel.cfg"),
        "-k",
        "_l",
        "--no-location",
        "--sort-output",
        "--project",
        "pro-app",
        "-o",
        str(root / "translations" / "messages.pot"),
        str(root / "pro_app"),
    )


@i18n_cli.command("update")
def i18n_update() -> None:
    """Merge messages.pot into every locale's messages.po."""
    tdir = Path(current_app.config["TRANSLATIONS_DIR"])
    _pybabel("update", "-i", str(tdir / "messages.pot"), "-d", str(tdir), "--no-wrap")


@i18n_cli.command("compile")
def i18n_compile() -> None:
    """Compile every messages.po into messages.mo."""
    _pybabel("compile", "-d", current_app.config["TRANSLATIONS_DIR"], "--statistics")


@audit_cli.command("verify")
@click.option(
    "--anchor",
    "anchor_text",
    default=None,
    metavar="ID:HASH",
    help="The anchor printed by an earlier run, kept outside the database.",
)
def audit_verify(anchor_text: str | None) -> None:
    """Re-walk the audit hash chain; exit 1 naming the first bad event.

    Each run is recorded as an ``audit.verify`` event and prints an anchor
    (that event's id and hash). Keep it outside the database and pass it to
    the next run: only then is the removal of the newest events detected.
    """
    try:
        anchor = None if anchor_text is None else Anchor.parse(anchor_text)
    except ValueError as error:
        raise click.BadParameter(str(error), param_hint="--anchor") from error
    result = verify_chain(db.session, anchor)
    event = record_verification(
        db.session, result, actor="system:audit-verify", anchor=anchor
    )
    db.session.commit()
    for problem in result.problems:
        click.echo(str(problem), err=True)
    if result.ok:
        click.echo(
            f"audit trail intact: {result.events} events, head {result.head_hash}"
        )
    click.echo(f"anchor for the next run: {event.id}:{event.hash}")
    if not result.ok:
        first = result.first_bad
        raise click.ClickException(
            f"audit trail broken: first bad event {first.event_id} ({first.kind}); "
            f"{len(result.problems)} problem(s) in {result.events} events"
        )


@click.command("demo")
@with_appcontext
@click.option("--base-url", default="http://127.0.0.1:5000", show_default=True)
def demo(base_url: str) -> None:
    """Load the demo study and print the demo participants' personal links."""
    from pro_app.studies.demo import (
        demo_links,
        demo_today,
        load_demo,
        load_demo_history,
        load_demo_staff,
    )

    today = demo_today()
    link_days = current_app.config["ACCESS_TOKEN_DAYS"]
    data_key = current_app.config["DATA_KEY"]
    participant, token = load_demo(
        db.session, today=today, link_days=link_days, data_key=data_key
    )
    study = participant.study
    load_demo_history(db.session, study, today=today, data_key=data_key)
    others = demo_links(db.session, study, link_days=link_days, data_key=data_key)
    logins = load_demo_staff(db.session, study)
    db.session.commit()
    base = base_url.rstrip("/")
    click.echo(f"Demo study {study.code}, participant {participant.subject_id}")
    click.echo(f"Personal link: {base}/p/{token}")
    click.echo("Other demo participants (fictional contact details):")
    for subject_id, raw in others:
        click.echo(f"  {subject_id:<8} {base}/p/{raw}")
    click.echo(f"Dashboard: {base}/staff/s/{study.code}/ (needs action today)")
    click.echo(f"Trial team sign-in: {base}/staff/login (new passwords each run)")
    for email, role, password in logins:
        click.echo(f"  {role:<13} {email:<28} {password}")


def register_commands(app: Flask) -> None:
    """Attach the command groups to the app."""
    from pro_app.auth.cli import users_cli
    from pro_app.exports.cli import export_cli
    from pro_app.notify.cli import cli as notify_cli
    from pro_app.studies.cli import cli as studies_cli

    app.cli.add_command(studies_cli)
    app.cli.add_command(notify_cli)
    app.cli.add_command(users_cli)
    app.cli.add_command(export_cli)
    for command in (instruments_cli, i18n_cli, audit_cli, scores_cli, score_file, demo):
        app.cli.add_command(command)
