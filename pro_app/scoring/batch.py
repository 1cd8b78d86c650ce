"""Score a CSV of answers without the web app (``flask score``).

Two layouts are read, told apart by the header:

- item ids: one row per respondent, one column per item id (``Global01``,
  ``1`` .. ``36``) holding the code printed on the official form (blank =
  skipped); any other column is carried through as an identifier;
- the app's own ``csv-questionnaire`` export: one row per subject, timepoint and
  instrument, item columns named as in the export (``rand36_q01``,
  ``promis_global_global01``); only the rows of the instrument asked for are
  scored, each with the version in its ``instrument_version`` column, and
  the export's key columns (study, site, subject, timepoint...) are carried
  through.

The whole file is checked before anything is written.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator, Mapping
from typing import Any, NamedTuple, TextIO

from pro_app.catalog import Catalog, Instrument
from pro_app.exports.csvfile import SafeWriter
from pro_app.exports.layout import CORRECTED, KEY_VARIABLES, instrument_layout
from pro_app.scoring import score_answers

FIELDS = ("", "_raw", "_se", "_n", "_prorated", "_status")


class BatchError(ValueError):
    """A malformed input file; nothing was written."""


class BatchResult(NamedTuple):
    """Rows scored, and rows left out (another instrument, in a wide export)."""

    scored: int
    skipped: int = 0


# The csv-questionnaire columns that say whose answers a row holds.
WIDE_KEYS = tuple(v.name for v in (*KEY_VARIABLES, CORRECTED))


def _code(text: str, row: int, column: str) -> int | None:
    text = text.strip()
    if text == "":
        return None
    try:
        return int(text)
    except ValueError:
        raise BatchError(
            f"row {row}, column {column}: {text!r} is not a response code"
        ) from None


def _wide_columns(instrument: Instrument) -> dict[str, str]:
    """csv-questionnaire column name -> item id, for one instrument version."""
    return {c.variable.name: c.item_id for c in instrument_layout(instrument).items}


def score_csv(
    instrument_id: str,
    source: TextIO,
    target: TextIO,
    *,
    catalog: Catalog,
    version: str | None = None,
    settings: Mapping[str, Any] | None = None,
) -> BatchResult:
    """Score every row of ``source`` into ``target``; say how many were scored.

    Args:
        version: the instrument version; in a csv-questionnaire export, only the rows
            of that version are scored (default: each row's own version).
    """
    instrument = catalog.get(instrument_id, version)
    reader = csv.DictReader(source)
    header = reader.fieldnames or []
    if len(set(header)) != len(header):
        raise BatchError("duplicate column names in the header")
    item_ids = [item.id for item in instrument.items]
    wide = _wide_columns(instrument)
    missing = [i for i in item_ids if i not in header]
    if not missing:
        passthrough = [c for c in header if c not in item_ids]
        rows = _item_rows(reader, instrument)
    elif "instrument" in header and all(c in header for c in wide):
        passthrough = [c for c in header if c in WIDE_KEYS]
        rows = _wide_rows(reader, instrument, catalog, version)
    else:
        raise BatchError(
            f"missing item columns: {', '.join(missing)} (or, for a csv-questionnaire "
            f"export, its instrument column and {', '.join(list(wide)[:2])}, ...)"
        )
    out_rows: list[dict[str, Any]] = []
    skipped = 0
    for number, row, scored_as in rows:
        if scored_as is None:
            skipped += 1
            continue
        out = {c: row[c] for c in passthrough}
        out.update(_score_row(number, row, scored_as, catalog, settings))
        out_rows.append(out)
    scale_ids = [s.id for s in instrument.scales]
    columns = passthrough + [f"{s}{f}" for s in scale_ids for f in FIELDS]
    header = [*columns, "algorithm"]
    writer = SafeWriter(target)
    writer.writerow(header)
    writer.writerows([row.get(name, "") for name in header] for row in out_rows)
    return BatchResult(len(out_rows), skipped)


# (row number, the row, the instrument version to score it as, or None for a
# row left out)
Rows = Iterator[tuple[int, Mapping[str, str | None], Instrument | None]]


def _item_rows(reader: csv.DictReader[str], instrument: Instrument) -> Rows:
    for number, row in enumerate(reader, start=2):
        if None in row:
            raise BatchError(f"row {number}: more values than columns")
        yield number, row, instrument


def _wide_rows(
    reader: csv.DictReader[str],
    instrument: Instrument,
    catalog: Catalog,
    version: str | None,
) -> Rows:
    for number, row in enumerate(reader, start=2):
        if None in row:
            raise BatchError(f"row {number}: more values than columns")
        if row["instrument"] != instrument.id:
            yield number, row, None  # another instrument's row
            continue
        row_version = row.get("instrument_version") or instrument.version
        if version is not None and row_version != version:
            yield number, row, None
            continue
        try:
            this = catalog.get(instrument.id, row_version)
        except LookupError:
            raise BatchError(
                f"row {number}: {instrument.id} version {row_version!r} is not "
                "in the instrument catalogue"
            ) from None
        missing = [c for c in _wide_columns(this) if c not in row]
        if missing:
            raise BatchError(
                f"row {number}: {this.id} {this.version} needs the columns "
                + ", ".join(missing)
            )
        yield number, row, this


def _score_row(
    number: int,
    row: Mapping[str, str | None],
    instrument: Instrument,
    catalog: Catalog,
    settings: Mapping[str, Any] | None,
) -> dict[str, Any]:
    # Each item's column: its id, or (csv-questionnaire) its name in the export.
    wide = {v: k for k, v in _wide_columns(instrument).items()}
    columns = {i.id: i.id if i.id in row else wide[i.id] for i in instrument.items}
    answers = {i: _code(row[c] or "", number, c) for i, c in columns.items()}
    for item in instrument.items:
        code = answers[item.id]
        if code is not None and code not in item.codes:
            # Said by the file's column name, which a csv-questionnaire export renames.
            raise BatchError(
                f"row {number}, column {columns[item.id]}: {code} is not one of "
                f"the codes of item {item.id} {list(item.codes)}"
            )
    try:
        result = score_answers(
            instrument.id,
            answers,
            version=instrument.version,
            catalog=catalog,
            settings=settings,
        )
    except ValueError as error:
        raise BatchError(f"row {number}: {error}") from None
    out: dict[str, Any] = {}
    for s in result.scales:
        out.update(
            {
                s.scale_id: "" if s.value is None else s.value,
                f"{s.scale_id}_raw": "" if s.raw is None else s.raw,
                f"{s.scale_id}_se": "" if s.se is None else s.se,
                f"{s.scale_id}_n": s.n_answered,
                f"{s.scale_id}_prorated": int(s.prorated),
                f"{s.scale_id}_status": s.status,
            }
        )
    out["algorithm"] = result.algorithm
    return out
