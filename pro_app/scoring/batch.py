"""Score a CSV of answers without the web app (``flask score``).

One row per respondent, one column per item id holding the code printed on
the official form (blank = skipped); any other column is carried through as
an identifier. The whole file is checked before anything is written.
"""

from __future__ import annotations

import csv
from collections.abc import Mapping
from typing import Any, TextIO

from pro_app.catalog import Catalog
from pro_app.scoring import score_answers

FIELDS = ("", "_raw", "_se", "_n", "_prorated", "_status")


class BatchError(ValueError):
    """A malformed input file; nothing was written."""


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


def score_csv(
    instrument_id: str,
    source: TextIO,
    target: TextIO,
    *,
    catalog: Catalog,
    version: str | None = None,
    settings: Mapping[str, Any] | None = None,
) -> int:
    """Score every row of ``source`` into ``target``; return the row count."""
    instrument = catalog.get(instrument_id, version)
    reader = csv.DictReader(source)
    header = reader.fieldnames or []
    item_ids = [item.id for item in instrument.items]
    missing = [i for i in item_ids if i not in header]
    if missing:
        raise BatchError(f"missing item columns: {', '.join(missing)}")
    if len(set(header)) != len(header):
        raise BatchError("duplicate column names in the header")
    passthrough = [c for c in header if c not in item_ids]
    out_rows: list[dict[str, Any]] = []
    scale_ids = [s.id for s in instrument.scales]
    for number, row in enumerate(reader, start=2):
        if None in row:
            raise BatchError(f"row {number}: more values than columns")
        answers = {i: _code(row[i] or "", number, i) for i in item_ids}
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
        out = {c: row[c] for c in passthrough}
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
        out_rows.append(out)
    columns = passthrough + [f"{s}{f}" for s in scale_ids for f in FIELDS]
    writer = csv.DictWriter(target, fieldnames=[*columns, "algorithm"])
    writer.writeheader()
    writer.writerows(out_rows)
    return len(out_rows)
