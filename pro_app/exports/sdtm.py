"""``sdtm``: a CDISC SDTM QS dataset (CSV and SAS XPORT v5) and its define listing.

One record per item response and one per derived score (``QSDRVFL = "Y"``;
a T-score's SE is a derived record of its own). Terms come from each
instrument's ``sdtm.toml`` (``sdtm_map``). Both files are streamed; the
``.xpt`` (``xport``) has fixed widths, so every character variable has a
declared length below, and a longer value stops the export.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import date

from pro_app.exports.layout import (
    ExportFile,
    ExportPlan,
    RecordSource,
    SubmissionRecord,
)
from pro_app.exports.sdtm_map import (
    MAX_TEST,
    MAX_TESTCD,
    MappingError,
    QsMapping,
    Test,
    instruments_dir,
    load_mapping,
)
from pro_app.exports.writers import csv_chunks
from pro_app.exports.xport import Variable, xport_chunks

# (name, label, type, length in bytes). The XPORT file is written at these
# declared widths (it cannot look at the data first): the database column sizes
# (study code 40, subject 40, timepoint label 100), the mapping limits
# (QSTESTCD 8, QSTEST 40), fixed vocabularies and a number's text (repr of a
# float: at most 24). QSCAT, QSSCAT and QSORRES are SDTM's 200 here; these and
# the study's variables are narrowed to the export's scope (QsRows.variables).
QS_VARIABLES = (
    ("STUDYID", "Study Identifier", "Char", 40),
    ("DOMAIN", "Domain Abbreviation", "Char", 2),
    ("USUBJID", "Unique Subject Identifier", "Char", 81),
    ("QSSEQ", "Sequence Number", "Num", 8),
    ("QSTESTCD", "Question Short Name", "Char", MAX_TESTCD),
    ("QSTEST", "Question Name", "Char", MAX_TEST),
    ("QSCAT", "Category of Question", "Char", 200),
    ("QSSCAT", "Subcategory for Question", "Char", 200),
    ("QSORRES", "Finding in Original Units", "Char", 200),
    ("QSSTRESC", "Character Result/Finding in Std Format", "Char", 24),
    ("QSSTRESN", "Numeric Finding in Standard Format", "Num", 8),
    ("QSSTAT", "Completion Status", "Char", 8),
    ("QSREASND", "Reason Not Performed", "Char", 12),
    ("QSDRVFL", "Derived Flag", "Char", 1),
    ("QSEVLINT", "Evaluation Interval", "Char", 20),
    ("VISITNUM", "Visit Number", "Num", 8),
    ("VISIT", "Visit Name", "Char", 100),
    ("QSDTC", "Date/Time of Finding", "Char", 19),
    ("QSDY", "Study Day of Finding", "Num", 8),
)
COLUMNS = tuple(v[0] for v in QS_VARIABLES)
NUMBER_TEXT = 24
SUBJECT_ID = 40  # Participant.subject_id
MAX_TEXT = 200
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


def collection_dtc(record: SubmissionRecord) -> str:
    """QSDTC: when the participant answered, on their clock, without offset.

    Online: the moment of completion. Paper or interview: the day answered
    only (``YYYY-MM-DD``): the time of day is not known, and the time the
    form was typed in is not the time of collection.
    """
    if not record.time_known:
        return record.collected_on().isoformat()
    return record.answered_local().strftime("%Y-%m-%dT%H:%M:%S")


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

    def variables(self) -> list[tuple[str, str, str, int]]:
        """``QS_VARIABLES`` narrowed to what this export can hold: STUDYID and
        USUBJID to the study code, QSCAT, QSSCAT and QSORRES to the longest
        category, subcategory and answer label in scope (or a number's text)."""
        labels = [NUMBER_TEXT]
        for instrument in self.plan.instruments:
            text = instrument.text(instrument.text_locale_for("en"))
            labels += [
                len(label.encode())
                for item in instrument.items
                for _code, label in text.options(item.id)
            ]
        maps = self.maps.values()
        study = len(self.plan.study.encode())
        longest = {
            "STUDYID": study,
            "USUBJID": study + 1 + SUBJECT_ID,
            "QSCAT": max((len(m.qscat.encode()) for m in maps), default=1),
            "QSSCAT": max(
                (len(s.encode()) for m in maps for s in m.subcategory.values()),
                default=1,
            ),
            "QSORRES": max(labels),
        }
        for name, length in longest.items():
            if length > MAX_TEXT:
                raise MappingError(f"{name} values of {length} bytes exceed 200")
        return [
            (name, label, kind, max(1, longest.get(name, length)))
            for name, label, kind, length in QS_VARIABLES
        ]

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
        context = {
            "usubjid": f"{self.plan.study}-{record.subject}",
            "visit": (record.visit_num, record.visit or record.timepoint),
            "dtc": collection_dtc(record),
            "dy": study_day(record.collected_on(), record.day0),
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
    """``<study>_qs.xpt``: SAS XPORT v5, streamed at the declared lengths."""
    # Widths are fixed before the first record; a broken mapping fails here.
    variables = [Variable(*v) for v in QsRows(plan).variables()]

    def rows(out: ExportFile) -> Iterator[list[object]]:
        for batch in _records(plan, source):
            out.rows += len(batch)
            yield from batch

    def produce(out: ExportFile) -> Iterator[bytes]:
        return xport_chunks(
            "QS", "Questionnaires", variables, rows(out), plan.generated_at
        )

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
        for name, label, kind, length in QsRows(plan).variables():
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
