"""The CSV datasets (long, wide, questionnaire, scores), from the record stream.

Pure. ``csv-wide`` (one row per subject and visit) and the change from
baseline are laid out in ``analysis``.

Each writer takes the plan and a record source and returns ``ExportFile``s
whose bytes are produced as they are read, a chunk at a time, so memory
stays flat however many records pass through. CSV files are UTF-8 without a
byte-order mark, comma-separated, CRLF line ends (RFC 4180); an empty field
is a missing value.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from pro_app.exports.analysis import Baseline, VisitRows, by_subject, visit_variables

# CHUNK and csv_chunks are also taken from here by the other writers.
from pro_app.exports.csvfile import CHUNK, csv_chunks, csv_fragment, text_chunks  # noqa: F401
from pro_app.exports.layout import (
    CORRECTED,
    KEY_VARIABLES,
    ExportFile,
    ExportPlan,
    InstrumentLayout,
    RecordSource,
    SubmissionRecord,
    Variable,
    wide_variables,
)

LONG_COLUMNS = (
    *(v.name for v in KEY_VARIABLES[:7]),
    "item_id",
    "variable",
    "code",
    "label_en",
    *(v.name for v in KEY_VARIABLES[7:]),
    "corrected",
)
SCORE_COLUMNS = (
    *(v.name for v in KEY_VARIABLES),
    "scale_id",
    "variable",
    "method",
    "raw",
    "value",
    "se",
    "n_answered",
    "n_items",
    "prorated",
    "status",
    "algorithm",
    "baseline_visit",
    "baseline_value",
    "change_from_baseline",
)


def _keys(plan: ExportPlan, record: SubmissionRecord) -> list[object]:
    return [
        plan.study,
        record.site,
        record.site_timezone,
        record.subject,
        record.timepoint,
        record.instrument,
        record.version,
        record.language,
        record.mode,
        record.completed_utc(),
        record.completed_local(),
        record.collected_on().isoformat(),
    ]


def _layout(plan: ExportPlan, record: SubmissionRecord) -> InstrumentLayout:
    layout = plan.layout(record.instrument, record.version)
    if layout is None:  # the service only yields instruments in the plan
        raise LookupError(f"{record.instrument} {record.version} is not in the plan")
    return layout


class LongLines:
    """Renders a record's answers as ``csv-long`` lines.

    Per answer, the line is the record's fixed cells, the item's cells and
    the corrected flag, joined: each piece is quoted by the csv module once
    (per record, or per item and code) rather than cell by cell on every
    line, which is what keeps millions of answers fast.
    """

    def __init__(self, plan: ExportPlan) -> None:
        self.plan = plan
        self._items: dict[int, list[tuple[str, str, dict[object, str]]]] = {}

    def _cells(self, layout: InstrumentLayout) -> list[tuple[str, str, dict]]:
        cached = self._items.get(id(layout))
        if cached is None:
            cached = [(c.item_id, c.variable.name, {}) for c in layout.items]
            self._items[id(layout)] = cached
        return cached

    def render(self, record: SubmissionRecord) -> tuple[str, int]:
        """Return the record's lines (form order, skipped items with no code)."""
        layout = _layout(self.plan, record)
        keys = _keys(self.plan, record)
        head = csv_fragment(keys[:7]) + ","
        tail = "," + csv_fragment(keys[7:]) + ","
        answers = record.answers
        labels = layout.by_item
        lines = []
        for item_id, name, cells in self._cells(layout):
            answer = answers.get(item_id)
            if answer is None:
                continue
            code, corrected = answer
            cell = cells.get(code)
            if cell is None:
                label = labels[item_id].variable.value_labels.get(code)
                cell = cells[code] = csv_fragment([item_id, name, code, label])
            lines.append(f"{head}{cell}{tail}{1 if corrected else 0}\r\n")
        return "".join(lines), len(lines)


def long_csv(plan: ExportPlan, source: RecordSource) -> list[ExportFile]:
    """``csv-long``: one row per answer."""

    def produce(out: ExportFile) -> Iterator[bytes]:
        lines = LongLines(plan)
        pieces = (lines.render(r) for r in source(None, answers=True, scores=False))
        return text_chunks(LONG_COLUMNS, pieces, out)

    return [ExportFile(plan.file_name("long", "csv"), produce)]


class WideRow:
    """Places a record's values in the wide columns of a plan."""

    def __init__(self, plan: ExportPlan, variables: Sequence[Variable]) -> None:
        self.plan = plan
        self.variables = tuple(variables)
        self.index = {v.name: i for i, v in enumerate(self.variables)}

    def values(self, record: SubmissionRecord) -> list[object]:
        """Return the record's row: keys, corrected flag, items, scores."""
        layout = _layout(self.plan, record)
        row: list[object] = [None] * len(self.variables)
        index = self.index
        row[: len(KEY_VARIABLES)] = _keys(self.plan, record)
        row[index[CORRECTED.name]] = int(record.corrected)
        for column in layout.items:
            answer = record.answers.get(column.item_id)
            if answer is not None and column.variable.name in index:
                row[index[column.variable.name]] = answer[0]
        scores = {s.scale_id: s for s in record.scores}
        for scale in layout.scales:
            score = scores.get(scale.scale_id)
            if score is None:
                continue
            if scale.value.name in index:
                row[index[scale.value.name]] = score.value
            if scale.se is not None and scale.se.name in index:
                row[index[scale.se.name]] = score.se
        return row


def questionnaire_csv(plan: ExportPlan, source: RecordSource) -> list[ExportFile]:
    """``csv-questionnaire``: one row per subject x timepoint x instrument."""
    variables = wide_variables(plan.instruments)
    placer = WideRow(plan, variables)

    def produce(out: ExportFile) -> Iterator[bytes]:
        rows = ([placer.values(record)] for record in source(None))
        return csv_chunks([v.name for v in variables], rows, out)

    return [ExportFile(plan.file_name("questionnaire", "csv"), produce)]


def wide_csv(plan: ExportPlan, source: RecordSource) -> list[ExportFile]:
    """``csv-wide``: one row per subject x timepoint, every instrument in it."""
    variables = visit_variables(plan.instruments)
    placer = VisitRows(plan, variables)

    def produce(out: ExportFile) -> Iterator[bytes]:
        rows = (placer.rows(records) for records in by_subject(source(None)))
        return csv_chunks([v.name for v in variables], rows, out)

    return [ExportFile(plan.file_name("wide", "csv"), produce)]


def score_rows(
    plan: ExportPlan, record: SubmissionRecord, baseline: Baseline | None = None
) -> list[list[object]]:
    """One row per current score, in the instrument's scale order.

    With the subject's ``baseline``, each row ends with whether it is the
    baseline visit, the baseline value and the change from it (see
    ``analysis``); all three are empty when the protocol names no baseline.
    """
    layout = _layout(plan, record)
    keys = _keys(plan, record)
    names = {s.scale_id: s.value.name for s in layout.scales}
    order = {scale_id: n for n, scale_id in enumerate(names)}
    declared = plan.baseline_timepoint is not None and baseline is not None
    rows = []
    for score in sorted(record.scores, key=lambda s: order.get(s.scale_id, 1_000)):
        rows.append(
            [
                *keys,
                score.scale_id,
                names.get(score.scale_id),
                score.method,
                score.raw,
                score.value,
                score.se,
                score.n_answered,
                score.n_items,
                int(score.prorated),
                score.status,
                score.algorithm,
                int(record.baseline) if declared else None,
                baseline.value(record, score) if declared else None,
                baseline.change(record, score) if declared else None,
            ]
        )
    return rows


def scores_csv(plan: ExportPlan, source: RecordSource) -> list[ExportFile]:
    """``scores``: one row per scale score, with its change from baseline."""

    def rows(records: Iterator[SubmissionRecord]) -> Iterator[list[list[object]]]:
        for subject in by_subject(records):
            baseline = Baseline(subject)
            yield [row for r in subject for row in score_rows(plan, r, baseline)]

    def produce(out: ExportFile) -> Iterator[bytes]:
        records = source(None, answers=False, scores=True)
        return csv_chunks(SCORE_COLUMNS, rows(records), out)

    return [ExportFile(plan.file_name("scores", "csv"), produce)]
