"""The codebook: every variable of every dataset, as CSV and as an HTML page.

Pure. Labels are in English, like the value labels in the data files.
"""

from __future__ import annotations

import html
from collections.abc import Iterator

from pro_app.exports.analysis import visit_variables
from pro_app.exports.layout import (
    KEY_VARIABLES,
    ExportFile,
    ExportPlan,
    RecordSource,
    Variable,
    wide_variables,
)
from pro_app.exports.writers import LONG_COLUMNS, csv_chunks

_LONG_ONLY = (
    Variable("item_id", "Item id as on the official form", "string"),
    Variable("variable", "Name of the item's column in the wide dataset", "string"),
    Variable(
        "code", "Response code as printed on the form (empty: skipped)", "numeric"
    ),
    Variable("label_en", "English label of the response code", "string"),
    Variable("corrected", "Answer corrected after completion", "numeric"),
)
_SCORES_ONLY = (
    Variable("scale_id", "Scale id in the instrument file", "string"),
    Variable("variable", "Name of the score's column in the wide dataset", "string"),
    Variable("method", "Scoring method", "string"),
    Variable("raw", "Raw score of the method", "numeric"),
    Variable("value", "Reported score: 0-100, T-score or item value", "numeric"),
    Variable("se", "Standard error of the T-score", "numeric"),
    Variable("n_answered", "Items answered", "numeric"),
    Variable("n_items", "Items in the scale", "numeric"),
    Variable("prorated", "Score prorated for missing items", "numeric"),
    Variable("status", "ok, or not_scorable", "string"),
    Variable("algorithm", "Scoring code and version", "string"),
    Variable(
        "baseline_visit",
        "Row is at the protocol's baseline visit (empty: no baseline declared)",
        "numeric",
    ),
    Variable("baseline_value", "Same scale's value at the baseline visit", "numeric"),
    Variable(
        "change_from_baseline",
        "value - baseline_value, for visits after baseline (ADaM CHG)",
        "numeric",
    ),
)


def codebook_entries(plan: ExportPlan) -> list[tuple[str, Variable]]:
    """Every variable of every dataset, as (dataset, variable)."""
    entries = [("wide", v) for v in visit_variables(plan.instruments)]
    entries += [("questionnaire", v) for v in wide_variables(plan.instruments)]
    by_name = {v.name: v for v in KEY_VARIABLES + _LONG_ONLY}
    entries += [("long", by_name[name]) for name in LONG_COLUMNS]
    entries += [("scores", v) for v in KEY_VARIABLES + _SCORES_ONLY]
    return entries


def value_labels_text(variable: Variable) -> str:
    """``1 = Excellent; 2 = Very good`` (empty when there are none)."""
    return "; ".join(
        f"{code} = {label}" for code, label in variable.value_labels.items()
    )


CODEBOOK_COLUMNS = ("dataset", "variable", "label", "type", "value_labels")
CODEBOOK_COLUMNS += ("instrument", "source")


def codebook_csv(plan: ExportPlan, source: RecordSource) -> list[ExportFile]:
    """``codebook``: the CSV and HTML data dictionaries (reads no records)."""

    def produce_csv(out: ExportFile) -> Iterator[bytes]:
        rows = [
            [dataset, v.name, v.label, v.type, value_labels_text(v)]
            + [v.instrument, v.source]
            for dataset, v in codebook_entries(plan)
        ]
        return csv_chunks(CODEBOOK_COLUMNS, [rows], out)

    def produce_html(out: ExportFile) -> Iterator[bytes]:
        entries = codebook_entries(plan)
        out.rows = len(entries)
        yield codebook_html(plan, entries).encode()

    return [
        ExportFile(plan.file_name("codebook", "csv"), produce_csv),
        ExportFile(plan.file_name("codebook", "html"), produce_html),
    ]


_DATASETS = {
    "wide": "Wide dataset (csv-wide): one row per subject and timepoint, every "
    "instrument of the visit, change from baseline per score",
    "questionnaire": "Questionnaire dataset (csv-questionnaire, SPSS, Stata): "
    "one row per subject, timepoint and instrument",
    "long": "Long dataset (csv-long): one row per answer",
    "scores": "Scores dataset (scores): one row per scale score",
}


def codebook_html(plan: ExportPlan, entries: list[tuple[str, Variable]]) -> str:
    """A self-contained, readable codebook page (English, like the labels)."""
    e = html.escape
    title = f"Codebook: study {plan.study}"
    stamp = plan.generated_at.strftime("%Y-%m-%d %H:%M UTC")
    parts = [
        "<!doctype html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{e(title)}</title>",
        "<style>body{font-family:sans-serif;margin:2em;color:#111}"
        "table{border-collapse:collapse;margin-bottom:2em}"
        "th,td{border:1px solid #999;padding:.3em .5em;text-align:left;"
        "vertical-align:top}th{background:#eee}</style></head><body>",
        f"<h1>{e(title)}</h1>",
        f"<p>Generated {e(stamp)}. Instruments: "
        + e(", ".join(f"{i.name} ({i.id} {i.version})" for i in plan.instruments))
        + ".</p>",
    ]
    for dataset, heading in _DATASETS.items():
        parts.append(f"<h2>{e(heading)}</h2>")
        parts.append(
            "<table><thead><tr>"
            + "".join(
                f'<th scope="col">{h}</th>'
                for h in ("Variable", "Label", "Type", "Value labels", "Source")
            )
            + "</tr></thead><tbody>"
        )
        for name, v in entries:
            if name != dataset:
                continue
            labels = "<br>".join(
                f"{code} = {e(label)}" for code, label in v.value_labels.items()
            )
            origin = " ".join(filter(None, (v.instrument, v.source)))
            parts.append(
                f'<tr><th scope="row"><code>{e(v.name)}</code></th>'
                f"<td>{e(v.label)}</td><td>{e(v.type)}</td>"
                f"<td>{labels}</td><td>{e(origin)}</td></tr>"
            )
        parts.append("</tbody></table>")
    parts.append("</body></html>\n")
    return "\n".join(parts)
