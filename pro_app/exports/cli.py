"""``flask export``: write one format of a study's data to files, audited."""

from __future__ import annotations

from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy import select

from pro_app.exports import services
from pro_app.exports.archive import Delivery, write_all
from pro_app.exports.dta import DtaError
from pro_app.exports.formats import FORMATS, get_format
from pro_app.exports.layout import ExportFilters
from pro_app.exports.sav import SavError
from pro_app.exports.xport import XportError
from pro_app.extensions import db
from pro_app.studies.models import Study

ACTOR = "system:cli"


@click.command("export")
@with_appcontext
@click.option("--study", "study_code", required=True, help="Study code.")
@click.option(
    "--format",
    "format_name",
    required=True,
    type=click.Choice(list(FORMATS)),
    help="Export format.",
)
@click.option(
    "--out",
    type=click.Path(path_type=Path),
    default=None,
    help="File to write; a folder for formats with several files "
    "(default: the file names, in the current folder).",
)
@click.option("--site", "sites", multiple=True, help="Only this site (repeatable).")
@click.option("--timepoint", "timepoints", multiple=True, help="Only this timepoint.")
@click.option("--instrument", "instruments", multiple=True, help="Only this one.")
def export_cli(
    study_code: str,
    format_name: str,
    out: Path | None,
    sites: tuple[str, ...],
    timepoints: tuple[str, ...],
    instruments: tuple[str, ...],
) -> None:
    """Export a study's completed questionnaires; the export is audited."""
    study = db.session.scalar(select(Study).where(Study.code == study_code))
    if study is None:
        raise click.ClickException(f"no study {study_code!r}")
    filters = ExportFilters(sites, timepoints, instruments)
    catalog = current_app.extensions["pro_catalog"]
    try:
        plan = services.plan_export(db.session, study, filters, catalog)
    except services.ExportError as error:
        raise click.ClickException(str(error)) from error
    fmt = get_format(format_name)

    # Reads only: end each batch's transaction so the database is not held
    # (SQLite's write lock) for the whole export.
    source = services.record_source(db.session, plan, end_batch=db.session.rollback)
    files = fmt.build(plan, source)
    made = None
    if len(files) == 1 and (out is None or not out.is_dir()):
        paths = [out or Path(files[0].name)]
    else:
        folder = out or Path(plan.file_name(fmt.name, "d").removesuffix(".d"))
        if not folder.exists():
            made = folder
        folder.mkdir(parents=True, exist_ok=True)
        paths = [folder / f.name for f in files]
    delivery = Delivery()
    try:
        # Every file is written aside and moved into place only when all are
        # complete: a failed export leaves no file behind and is not audited.
        write_all(files, paths, delivery)
    except (XportError, SavError, DtaError) as error:
        # Found part-way through: a value the file format cannot hold.
        _remove_if_empty(made)
        raise click.ClickException(
            f"{delivery.failed}: {error}; nothing was exported"
        ) from error
    except BaseException:
        _remove_if_empty(made)
        raise
    for export_file, path in zip(files, paths, strict=True):
        click.echo(
            f"{path}\t{delivery.rows[export_file.name]} rows\t"
            f"sha256 {delivery.files[export_file.name]}"
        )
    db.session.rollback()
    services.record_export(
        db.session,
        plan,
        actor=ACTOR,
        format_name=fmt.name,
        formats=[fmt.name],
        files=delivery.files,
        file_rows=delivery.rows,
    )
    db.session.commit()


def _remove_if_empty(folder: Path | None) -> None:
    # The folder this command made for the files, now left empty.
    if folder is not None and folder.is_dir() and not any(folder.iterdir()):
        folder.rmdir()
