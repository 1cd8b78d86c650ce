"""SPSS (.sav) and Stata (.dta) files with variable and value labels.

One file per instrument, with the columns of the wide dataset for that
instrument (same names, same values). ``pyreadstat`` writes a whole
DataFrame to a path and cannot append, so these two formats are the only
ones that hold data in memory: the rows of ONE instrument at a time, kept as
packed arrays (8 bytes a number; repeated strings shared) until the frame is
built. docs/exports.md gives the measured bound.
"""

from __future__ import annotations

import math
import os
import tempfile
from array import array
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

from pro_app.exports.layout import (
    ExportFile,
    ExportPlan,
    RecordSource,
    SubmissionRecord,
    Variable,
    wide_variables,
    zone_info,
)
from pro_app.exports.writers import WideRow

READ_SIZE = 64 * 1024
# Stata keeps at most 80 characters of a variable label.
STATA_LABEL = 80
_EPOCH = datetime(1970, 1, 1)  # naive on purpose: wall-clock time
_MICROSECOND = timedelta(microseconds=1)


class _Columns:
    """Column-wise storage of wide rows: arrays for numbers and times."""

    def __init__(self, variables: tuple[Variable, ...]) -> None:
        self.variables = variables
        self.data: list[Any] = []
        for v in variables:
            kind = {"numeric": "d", "datetime": "q"}.get(v.type)
            self.data.append(array(kind) if kind else [])
        self.strings: dict[str, str] = {}

    def add(self, row: list[object], record: SubmissionRecord) -> None:
        for n, (variable, value) in enumerate(zip(self.variables, row, strict=True)):
            column = self.data[n]
            if variable.type == "numeric":
                column.append(math.nan if value is None else float(value))  # type: ignore[arg-type]
            elif variable.type == "datetime":
                column.append(_wall_micros(record, variable.name))
            else:
                text = "" if value is None else str(value)
                column.append(self.strings.setdefault(text, text))

    def frame(self) -> Any:
        import numpy as np
        import pandas as pd

        columns = {}
        for variable, values in zip(self.variables, self.data, strict=True):
            if variable.type == "numeric":
                columns[variable.name] = np.frombuffer(values, dtype="float64")
            elif variable.type == "datetime":
                # Microseconds: pyreadstat 1.3 writes datetime64[s] as 1970.
                micros = np.frombuffer(values, dtype="int64")
                columns[variable.name] = micros.view("datetime64[us]")
            else:
                columns[variable.name] = pd.Series(values, dtype=object)
        return pd.DataFrame(columns, copy=False)


def _wall_micros(record: SubmissionRecord, name: str) -> int:
    # SPSS and Stata times carry no zone: UTC as UTC, local as the site's clock,
    # to the second like the CSV files.
    zone = zone_info(record.site_timezone) if name == "completed_at_local" else UTC
    wall = record.completed_at.astimezone(zone).replace(tzinfo=None, microsecond=0)
    return (wall - _EPOCH) // _MICROSECOND


def instrument_variables(plan: ExportPlan, instrument_id: str) -> tuple[Variable, ...]:
    """Key columns, the corrected flag, then the instrument's items and scores."""
    versions = [i for i in plan.instruments if i.id == instrument_id]
    return wide_variables(versions)


def _write(
    plan: ExportPlan,
    source: RecordSource,
    instrument_id: str,
    out: ExportFile,
    write: Callable[[Any, str, tuple[Variable, ...]], None],
) -> Iterator[bytes]:
    variables = instrument_variables(plan, instrument_id)
    placer = WideRow(plan, variables)
    columns = _Columns(variables)
    for record in source(instrument_id, answers=True, scores=True):
        columns.add(placer.values(record), record)
        out.rows += 1
    frame = columns.frame()
    del columns
    handle, path = tempfile.mkstemp(suffix=os.path.splitext(out.name)[1])
    os.close(handle)
    try:
        write(frame, path, variables)
        del frame
        with open(path, "rb") as produced:
            while chunk := produced.read(READ_SIZE):
                yield chunk
    finally:
        os.unlink(path)


def _labels(variables: tuple[Variable, ...], limit: int | None = None) -> dict:
    return {v.name: v.label if limit is None else v.label[:limit] for v in variables}


def _value_labels(variables: tuple[Variable, ...]) -> dict[str, dict[int, str]]:
    return {v.name: dict(v.value_labels) for v in variables if v.value_labels}


def _write_sav(frame: Any, path: str, variables: tuple[Variable, ...]) -> None:
    import pyreadstat

    measure = {v.name: "nominal" if v.type == "string" else "scale" for v in variables}
    for v in variables:
        if v.value_labels:
            measure[v.name] = "ordinal"
    pyreadstat.write_sav(
        frame,
        path,
        column_labels=_labels(variables),
        variable_value_labels=_value_labels(variables),
        variable_measure=measure,
    )


def _write_dta(frame: Any, path: str, variables: tuple[Variable, ...]) -> None:
    import pyreadstat

    pyreadstat.write_dta(
        frame,
        path,
        column_labels=_labels(variables, STATA_LABEL),
        variable_value_labels=_value_labels(variables),
    )


def _files(
    plan: ExportPlan,
    source: RecordSource,
    suffix: str,
    write: Callable[[Any, str, tuple[Variable, ...]], None],
) -> list[ExportFile]:
    files = []
    for instrument_id in plan.instrument_ids():

        def produce(out: ExportFile, instrument_id: str = instrument_id) -> Any:
            return _write(plan, source, instrument_id, out, write)

        files.append(ExportFile(plan.file_name(instrument_id, suffix), produce))
    return files


def spss(plan: ExportPlan, source: RecordSource) -> list[ExportFile]:
    """``spss``: one ``.sav`` per instrument, with variable and value labels."""
    return _files(plan, source, "sav", _write_sav)


def stata(plan: ExportPlan, source: RecordSource) -> list[ExportFile]:
    """``stata``: one ``.dta`` (Stata 14+, format 118) per instrument, labelled."""
    return _files(plan, source, "dta", _write_dta)
