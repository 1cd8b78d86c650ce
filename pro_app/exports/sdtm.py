"""``sdtm``: a CDISC SDTM QS dataset (CSV and SAS XPORT v5) and its define listing.

One record per item response and one per derived score (``QSDRVFL = "Y"``;
a T-score's SE is a derived record of its own). Terms come from each
instrument's ``sdtm.toml`` (``sdtm_map``). The CSV is streamed; the ``.xpt``
is written by pyreadstat, which needs the whole dataset in memory.
"""

from __future__ import annotations

import csv
import io
import os
import tempfile
from collections.abc import Iterator
from datetime import date

from pro_app.exports.layout import (
    ExportFile,
    ExportPlan,
    RecordSource,
    SubmissionRecord,
    zone_info,
)
from pro_app.exports.sdtm_map import (
    MAX_TEST,
    MAX_TESTCD,
    QsMapping,
    Test,
    instruments_dir,
    load_mapping,
)
from pro_app.exports.writers import csv_chunks

# (name, label, type, max length of a character variable)
QS_VARIABLES = (
    ("STUDYID", "Study Identifier", "Char", 200),
    ("DOMAIN", "Domain Abbreviation", "Char", 2),
    ("USUBJID", "Unique Subject Identifier", "Char", 200),
    ("QSSEQ", "Sequence Number", "Num", 8),
    ("QSTESTCD", "Question Short Name", "Char", MAX_TESTCD),
    ("QSTEST", "Question Name", "Char", MAX_TEST),
    ("QSCAT", "Category of Question", "Char", 200),
    ("QSSCAT", "Subcategory for Question", "Char", 200),
    ("QSORRES", "Finding in Original Units", "Char", 200),
    ("QSSTRESC", "Character Result/Finding in Std Format", "Char", 200),
    ("QSSTRESN", "Numeric Finding in Standard Format", "Num", 8),
    ("QSSTAT", "Completion Status", "Char", 8),
    ("QSREASND", "Reason Not Performed", "Char", 200),
    ("QSDRVFL", "Derived Flag", "Char", 1),
    ("QSEVLINT", "Evaluation Interval", "Char", 200),
    ("VISITNUM", "Visit Number", "Num", 8),
    ("VISIT", "Visit Name", "Char", 200),
    ("QSDTC", "Date/Time of Finding", "Char", 19),
    ("QSDY", "Study Day of Finding", "Num", 8),
)
COLUMNS = tuple(v[0] for v in QS_VARIABLES)
NOT_DONE = "NOT DONE"
NOT_ANSWERED = "NOT ANSWERED"
NOT_SCORABLE = "NOT SCORABLE"


def number_text(value: float) -> str:
    """A score as QSORRES/QSSTRESC text: as stored, without a needless ``.0``."""
    return str(int(value)) if float(value).is_integer() else repr(float(value))


def study_day(moment: date, day0: date | None) -> int | None:
    """SDTM study day: day 1 is the reference day (day 0), there is no day 0."""
    if day0 is None:
        return None
    days = (moment - day0).days
    return days + 1 if days >= 0 else days


class QsRows:
    """Turns records into QS rows; QSSEQ counts on within each subject."""

    def __init__(self, plan: ExportPlan) -> None:
        root = instruments_dir()
        self.plan = plan
        self.maps: dict[tuple[str, str], QsMapping] = {
            (i.id, i.version): load_mapping(i, root) for i in plan.instruments
        }
        self.subject = ""
        self.seq = 0

    def rows(self, record: SubmissionRecord) -> list[list[object]]:
        """The QS rows of one submission: its items in form order, then scores."""
        mapping = self.maps[(record.instrument, record.version)]
        instrument = next(
            i
            for i in self.plan.instruments
            if (i.id, i.version) == (record.instrument, record.version)
        )
        text = instrument.text(instrument.text_locale_for("en"))
        if record.subject != self.subject:
            self.subject, self.seq = record.subject, 0
        local = record.completed_at.astimezone(zone_info(record.site_timezone))
        context = {
            "usubjid": f"{self.plan.study}-{record.subject}",
            "visit": (record.visit_num, record.visit or record.timepoint),
            "dtc": local.strftime("%Y-%m-%dT%H:%M:%S"),
            "dy": study_day(local.date(), record.day0),
        }
        out = []
        for item in instrument.items:
            answer = record.answers.get(item.id)
            if answer is None:  # never shown: not part of the record
                continue
            code = answer[0]
            result = None if code is None else (text.option_label(item.id, code), code)
            scat = mapping.subcategory.get(item.id, "")
            out.append(
                self._row(context, mapping, mapping.items[item.id], scat, result)
            )
        scales = {s.id: n for n, s in enumerate(instrument.scales)}
        for score in sorted(record.scores, key=lambda s: scales.get(s.scale_id, 999)):
            term = mapping.scores.get(score.scale_id)
            if term is None:
                continue
            ok = score.status == "ok" and score.value is not None
            value = score.value if ok else None
            result = None if value is None else (number_text(value), value)
            out.append(self._row(context, mapping, term, "", result, derived=True))
            se_term = mapping.score_se.get(score.scale_id)
            if se_term is not None:
                se = score.se if ok else None
                result = None if se is None else (number_text(se), se)
                out.append(self._row(context, mapping, se_term, "", result, True))
        return out

    def _row(
        self,
        context: dict,
        mapping: QsMapping,
        term: Test,
        scat: str,
        result: tuple[str, float] | None,
        derived: bool = False,
    ) -> list[object]:
        self.seq += 1
        if result is None:
            orres, stresc, stresn = "", "", None
            stat = NOT_DONE
            reason = NOT_SCORABLE if derived else NOT_ANSWERED
        else:
            orres, stresn = result
            stresc = number_text(stresn)
            stat, reason = "", ""
        visitnum, visit = context["visit"]
        return [
            self.plan.study,
            "QS",
            context["usubjid"],
            self.seq,
            term.testcd,
            term.test,
            mapping.qscat,
            scat,
            orres,
            stresc,
            stresn,
            stat,
            reason,
            "Y" if derived else "",
            term.evlint,
            visitnum,
            visit,
            context["dtc"],
            context["dy"],
        ]


def _records(plan: ExportPlan, source: RecordSource) -> Iterator[list[list[object]]]:
    rows = QsRows(plan)
    for record in source(None):
        yield rows.rows(record)


def qs_csv(plan: ExportPlan, source: RecordSource) -> ExportFile:
    """``<study>_qs.csv``: the QS dataset, streamed."""
    QsRows(plan)  # a missing or broken mapping fails before anything is sent

    def produce(out: ExportFile) -> Iterator[bytes]:
        return csv_chunks(COLUMNS, _records(plan, source), out)

    return ExportFile(plan.file_name("qs", "csv"), produce)


def qs_xpt(plan: ExportPlan, source: RecordSource) -> ExportFile:
    """``<study>_qs.xpt``: SAS XPORT v5, written whole by pyreadstat."""

    def produce(out: ExportFile) -> Iterator[bytes]:
        import pandas as pd
        import pyreadstat

        columns: list[list[object]] = [[] for _ in COLUMNS]
        for batch in _records(plan, source):
            for row in batch:
                for n, value in enumerate(row):
                    columns[n].append(value)
            out.rows += len(batch)
        frame = pd.DataFrame(
            {
                name: (
                    pd.array(col, dtype="float64")
                    if kind == "Num"
                    else pd.array(["" if v is None else v for v in col], dtype=object)
                )
                for (name, _label, kind, _len), col in zip(
                    QS_VARIABLES, columns, strict=True
                )
            }
        )
        del columns
        with tempfile.TemporaryDirectory() as folder:
            path = os.path.join(folder, "qs.xpt")
            pyreadstat.write_xport(
                frame,
                path,
                file_label="Questionnaires",
                column_labels=[v[1] for v in QS_VARIABLES],
                table_name="QS",
                file_format_version=5,
            )
            del frame
            with open(path, "rb") as handle:
                while chunk := handle.read(64 * 1024):
                    yield chunk

    return ExportFile(plan.file_name("qs", "xpt"), produce)


def define_csv(plan: ExportPlan) -> ExportFile:
    """``<study>_qs_define.csv``: the variables, then the QSTESTCD code lists."""

    def produce(out: ExportFile) -> Iterator[bytes]:
        root = instruments_dir()
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\r\n")
        writer.writerow(
            ["kind", "name", "label", "type", "length", "codelist", "source"]
        )
        for name, label, kind, length in QS_VARIABLES:
            codelist = {"QSTESTCD": "QSTESTCD", "QSTEST": "QSTEST"}.get(name, "")
            writer.writerow(["variable", name, label, kind, length, codelist, ""])
            out.rows += 1
        for instrument in plan.instruments:
            mapping = load_mapping(instrument, root)
            tag = f"{instrument.id} {instrument.version}; {mapping.source}"
            writer.writerow(["QSCAT", mapping.qscat, instrument.name, "", "", "", tag])
            out.rows += 1
            terms = [
                *mapping.items.values(),
                *(t for s in mapping.scores for t in _score_terms(mapping, s)),
            ]
            for term in terms:
                writer.writerow(
                    ["QSTESTCD", term.testcd, term.test, "", "", mapping.qscat, tag]
                )
                out.rows += 1
        yield buffer.getvalue().encode()

    return ExportFile(plan.file_name("qs_define", "csv"), produce)


def _score_terms(mapping: QsMapping, scale_id: str) -> list[Test]:
    se = mapping.score_se.get(scale_id)
    return [mapping.scores[scale_id], *([se] if se else [])]


def sdtm(plan: ExportPlan, source: RecordSource) -> list[ExportFile]:
    """``sdtm``: QS as CSV and XPORT v5, and its define listing."""
    return [qs_csv(plan, source), qs_xpt(plan, source), define_csv(plan)]
