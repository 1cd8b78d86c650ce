"""SPSS (.sav) and Stata (.dta) files with variable and value labels.

One file per instrument, with the columns of the wide dataset for that
instrument (same names, same values). Rows go from the record stream
straight to our own writers (``sav.py``, ``dta.py``), which spool them to a
temporary file and then emit the file in chunks: memory stays flat whatever
the study size (docs/exports.md gives the figures).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import UTC, datetime

from pro_app.exports.dta import dta_chunks
from pro_app.exports.layout import (
    ExportFile,
    ExportPlan,
    RecordSource,
    SubmissionRecord,
    Variable,
    wide_variables,
    zone_info,
)
from pro_app.exports.sav import sav_chunks
from pro_app.exports.writers import WideRow

#: A writer: variables, rows, creation time and file label in; bytes out.
Writer = Callable[
    [Sequence[Variable], Iterable[Sequence[object]], datetime, str], Iterator[bytes]
]


def instrument_variables(plan: ExportPlan, instrument_id: str) -> tuple[Variable, ...]:
    """Key columns, the corrected flag, then the instrument's items and scores."""
    versions = [i for i in plan.instruments if i.id == instrument_id]
    return wide_variables(versions)


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
    times = [(n, v.name) for n, v in enumerate(variables) if v.type == "datetime"]
    days = [n for n, v in enumerate(variables) if v.type == "date"]
    for record in source(instrument_id, answers=True, scores=True):
        row = placer.values(record)
        for n, name in times:
            row[n] = _wall(record, name)
        for n in days:  # collected_on, the only date column
            row[n] = record.collected_on()
        out.rows += 1
        yield row


def _files(
    plan: ExportPlan, source: RecordSource, suffix: str, write: Writer
) -> list[ExportFile]:
    created = plan.generated_at.astimezone(UTC).replace(tzinfo=None)
    files = []
    for instrument_id in plan.instrument_ids():

        def produce(
            out: ExportFile, instrument_id: str = instrument_id
        ) -> Iterator[bytes]:
            variables = instrument_variables(plan, instrument_id)
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
