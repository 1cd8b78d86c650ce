"""The data export page: choose sites, timepoints, instruments and formats,
download a zip that is built and sent as it is read.

The request's own transaction ends before the first byte goes out; the
export then reads in short batches, and once the last byte has gone the
export is recorded in the audit trail, in its own short transaction, with
the SHA-256 of each file and of the zip itself, computed on the bytes as
they were sent. A download cut short is recorded as ``export.incomplete``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from flask import Response, render_template, stream_with_context
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import SelectMultipleField
from wtforms.validators import ValidationError
from wtforms.widgets import CheckboxInput, ListWidget

from pro_app.auth.access import access, requires, staff_actor
from pro_app.auth.permissions import Permission
from pro_app.exports import services
from pro_app.exports.archive import ZipStream
from pro_app.exports.formats import FORMATS, Format
from pro_app.exports.layout import ExportFilters, ExportPlan
from pro_app.extensions import db
from pro_app.staff import bp
from pro_app.web import current_catalog

FORMAT_LABELS = {
    "csv-long": _l("CSV, long: one row per answer"),
    "csv-wide": _l(
        "CSV, wide: one row per participant and visit, every questionnaire, "
        "change from baseline"
    ),
    "csv-questionnaire": _l("CSV: one row per questionnaire, items and scores"),
    "scores": _l("CSV, scores: one row per score"),
    "codebook": _l("Codebook (CSV and HTML)"),
    "spss": _l("SPSS (.sav), one file per instrument"),
    "stata": _l("Stata (.dta), one file per instrument"),
    "sdtm": _l("CDISC SDTM QS dataset (CSV and SAS XPORT), define listing"),
    "odm": _l("CDISC ODM 1.3.2 XML: metadata, data and audit records"),
    "fhir": _l("HL7 FHIR R4 Bundle (JSON)"),
    "fhir-ndjson": _l("HL7 FHIR R4 NDJSON (large studies)"),
}
DEFAULT_FORMATS = ["csv-long", "csv-wide", "scores", "codebook"]
# A guess of a long-format row's size, to know when a member needs Zip64.
BYTES_PER_SUBMISSION = 40 * 256


def _at_least_one(form: FlaskForm, field: SelectMultipleField) -> None:
    # Not DataRequired: its "required" attribute would make every box required.
    if not field.data:
        raise ValidationError(_("Choose at least one format."))


class CheckboxesField(SelectMultipleField):
    """A multiple choice shown as checkboxes (rendered by the template)."""

    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class ExportForm(FlaskForm):
    sites = CheckboxesField(_l("Sites"))
    timepoints = CheckboxesField(_l("Timepoints"))
    instruments = CheckboxesField(_l("Instruments"))
    formats = CheckboxesField(_l("Formats"), validators=[_at_least_one])


def _form() -> ExportForm:
    here = access()
    study = here.study
    form = ExportForm()
    form.sites.choices = [
        (s.code, f"{s.code} {s.name}") for s in study.sites if here.sees_site(s.id)
    ]
    form.timepoints.choices = [
        (t.code, f"{t.code} {t.label}") for t in study.timepoints
    ]
    catalog = current_catalog()
    ids = dict.fromkeys(
        i.instrument_id for t in study.timepoints for i in t.instruments
    )
    form.instruments.choices = [(i, _instrument_name(catalog, i)) for i in ids]
    form.formats.choices = [
        (name, str(FORMAT_LABELS.get(name, fmt.description)))
        for name, fmt in FORMATS.items()
    ]
    if form.formats.data is None:
        form.formats.data = DEFAULT_FORMATS
    return form


def _instrument_name(catalog: Any, instrument_id: str) -> str:
    try:
        return catalog.get(instrument_id).name
    except LookupError:
        return instrument_id


def _allowed_sites() -> list[str] | None:
    # A site-limited data manager exports their own sites only.
    here = access()
    if here.sites() is None:
        return None
    return [s.code for s in here.study.sites if here.sees_site(s.id)]


def _page(form: ExportForm, status: int = 200, error: str | None = None) -> Any:
    return render_template("staff/export.html", form=form, error=error), status


@bp.get("/s/<study_code>/export")
@requires(Permission.EXPORT)
def export_data(study_code: str) -> Any:
    return _page(_form())


@bp.post("/s/<study_code>/export")
@requires(Permission.EXPORT)
def download_export(study_code: str) -> Any:
    here = access()
    form = _form()
    if not form.validate_on_submit():
        return _page(form, 400, _("Choose at least one format."))
    filters = ExportFilters(
        tuple(form.sites.data),
        tuple(form.timepoints.data),
        tuple(form.instruments.data),
    )
    try:
        plan = services.plan_export(
            db.session,
            here.study,
            filters,
            current_catalog(),
            allowed_sites=_allowed_sites(),
        )
    except services.ExportError:
        return _page(form, 400, _("That selection cannot be exported."))
    formats = [FORMATS[name] for name in form.formats.data]
    expected = services.count_submissions(db.session, plan) * BYTES_PER_SUBMISSION
    name = plan.file_name(
        "export_" + plan.generated_at.strftime("%Y%m%dT%H%M%SZ"), "zip"
    )
    actor = staff_actor()
    # End the request's transaction: nothing is held while the client reads.
    db.session.commit()
    body = _zip_body(plan, formats, name, actor, expected)
    return Response(
        stream_with_context(body),
        mimetype="application/zip",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


def _zip_body(
    plan: ExportPlan, formats: list[Format], name: str, actor: str, expected: int
) -> Iterator[bytes]:
    source = services.record_source(db.session, plan, end_batch=db.session.rollback)
    files = [f for fmt in formats for f in fmt.build(plan, source)]
    stream = ZipStream(files, expected_bytes=expected)
    complete = False
    try:
        yield from stream
        complete = True
    finally:
        db.session.rollback()
        archive = {"name": name, "sha256": stream.sha256, "bytes": stream.size}
        services.record_export(
            db.session,
            plan,
            actor=actor,
            format_name="zip",
            formats=[fmt.name for fmt in formats],
            files=stream.files,
            file_rows=stream.rows,
            archive=archive,
            complete=complete,
        )
        db.session.commit()
