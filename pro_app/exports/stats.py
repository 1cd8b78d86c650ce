"""SPSS (.sav) and Stata (.dta) files with variable and value labels.

One file per instrument, with the columns of the wide dataset for that
instrument (same names, same values). Rows go from the record stream
straight to our own writers (``sav.py``, ``dta.py``), which spool them to a
temporary file and then emit the file in chunks: memory stays flat whatever
the study size (docs/exports.md gives the figures).

What differs from the CSV files: an empty item or score cell says why it is
empty (skipped, not applicable, not scorable: ``missing.py``); item labels
are distinct within each file at the format's limit (``item_labels.py``);
the two completion times say which clock they are on, the local one naming
its zone's column (``site_timezone``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import replace
from datetime import UTC, datetime

from pro_app.exports import dta, sav
from pro_app.exports.dta import dta_chunks
from pro_app.exports.item_labels import Measure, item_labels
from pro_app.exports.layout import (
    ExportFile,
    ExportPlan,
    RecordSource,
    SubmissionRecord,
    Variable,
    instrument_layout,
    wide_variables,
    zone_info,
)
from pro_app.exports.missing import (
    NOT_APPLICABLE,
    NOT_SCORABLE,
    SKIPPED,
    coded,
    declared,
)
from pro_app.exports.sav import sav_chunks
from pro_app.exports.writers import WideRow
from pro_app.scoring.result import NOT_SCORABLE as STATUS_NOT_SCORABLE

#: A writer: variables, rows, creation time and file label in; bytes out.
Writer = Callable[
    [Sequence[Variable], Iterable[Sequence[object]], datetime, str], Iterator[bytes]
]


#: Label limits: SPSS 256 bytes of UTF-8 (PSPP developers' guide, variable
#: record), Stata 80 characters (dta format description, variable labels).
LIMITS: dict[str, tuple[int, Measure]] = {
    "sav": (sav.MAX_LABEL, lambda text: len(text.encode("utf-8"))),
    "dta": (dta.MAX_LABEL, len),
}
#: SPSS and Stata times carry no zone: each label names its clock.
TIME_LABELS = {
    "completed_at_utc": "Completed online or entered by staff at: UTC",
    "completed_at_local": (
        "Completed online or entered by staff at: site local time, "
        "zone in site_timezone"
    ),
    "site_timezone": "Time zone of the site (IANA), the zone of completed_at_local",
}


def instrument_variables(
    plan: ExportPlan, instrument_id: str, suffix: str = "sav"
) -> tuple[Variable, ...]:
    """Key columns, the corrected flag, then the instrument's items and scores,
    labelled for the ``suffix`` format; items and scores declare their
    missing-value reasons."""
    versions = [i for i in plan.instruments if i.id == instrument_id]
    limit, measure = LIMITS[suffix]
    item_label: dict[str, str] = {}
    for instrument in versions:
        labels = item_labels(instrument, limit, measure)
        for column in instrument_layout(instrument).items:
            item_label.setdefault(column.variable.name, labels[column.item_id])
    reasons = declared(plan)
    out = []
    for v in wide_variables(versions):
        label = item_label.get(v.name) or TIME_LABELS.get(v.name, v.label)
        v = replace(v, label=label)
        out.append(coded(v, reasons[v.name]) if v.name in reasons else v)
    return tuple(out)


def _wall(record: SubmissionRecord, name: str) -> datetime:
    # SPSS and Stata times carry no zone: UTC as UTC, local as the site's clock,
    # to the second like the CSV files.
    zone = zone_info(record.site_timezone) if name == "completed_at_local" else UTC
    return record.completed_at.astimezone(zone).replace(tzinfo=None, microsecond=0)


def _rows(
    plan: ExportPlan,
    source: RecordSource,
    instrument_id: str,
    variables: tuple[Variable, ...],
    out: ExportFile,
) -> Iterator[list[object]]:
    """The instrument's wide rows, times as naive wall-clock datetimes and
    dates as dates."""
    placer = WideRow(plan, variables)
    index = placer.index
    times = [(n, v.name) for n, v in enumerate(variables) if v.type == "datetime"]
    days = [n for n, v in enumerate(variables) if v.type == "date"]
    reasons = declared(plan)
    coded_at = [n for n, v in enumerate(variables) if v.name in reasons]
    for record in source(instrument_id, answers=True, scores=True):
        row = placer.values(record)
        for n, name in times:
            row[n] = _wall(record, name)
        for n in days:  # collected_on, the only date column
            row[n] = record.collected_on()
        _say_why(plan, record, row, index, coded_at)
        out.rows += 1
        yield row


def _say_why(
    plan: ExportPlan,
    record: SubmissionRecord,
    row: list[object],
    index: dict[str, int],
    coded_at: list[int],
) -> None:
    """Put the reason in each empty item and score cell of a row.

    Not applicable unless shown: an item with an answer row but no code was
    skipped; a scale with a ``not_scorable`` score had too few answers. An
    empty SE of a scored scale stays plain missing.
    """
    for n in coded_at:
        if row[n] is None:
            row[n] = NOT_APPLICABLE
    layout = plan.layout(record.instrument, record.version)
    if layout is None:
        return
    for column in layout.items:
        answer = record.answers.get(column.item_id)
        at = index.get(column.variable.name)
        if at is not None and answer is not None and answer[0] is None:
            row[at] = SKIPPED
    scores = {s.scale_id: s for s in record.scores}
    for scale in layout.scales:
        score = scores.get(scale.scale_id)
        if score is None:
            continue
        why = NOT_SCORABLE if score.status == STATUS_NOT_SCORABLE else None
        for v in (scale.value, scale.se):
            at = None if v is None else index.get(v.name)
            if at is not None and row[at] is NOT_APPLICABLE:
                row[at] = why


def _files(
    plan: ExportPlan, source: RecordSource, suffix: str, write: Writer
) -> list[ExportFile]:
    created = plan.generated_at.astimezone(UTC).replace(tzinfo=None)
    files = []
    for instrument_id in plan.instrument_ids():

        def produce(
            out: ExportFile, instrument_id: str = instrument_id
        ) -> Iterator[bytes]:
            variables = instrument_variables(plan, instrument_id, suffix)
            rows = _rows(plan, source, instrument_id, variables, out)
            return write(variables, rows, created, f"{plan.study} {instrument_id}")

        files.append(ExportFile(plan.file_name(instrument_id, suffix), produce))
    return files


def spss(plan: ExportPlan, source: RecordSource) -> list[ExportFile]:
    """``spss``: one ``.sav`` per instrument, with variable and value labels."""
    return _files(plan, source, "sav", sav_chunks)


def stata(plan: ExportPlan, source: RecordSource) -> list[ExportFile]:
    """``stata``: one ``.dta`` (Stata 14+, format 118) per instrument, labelled."""
    return _files(plan, source, "dta", dta_chunks)
