"""``sdtm``: SDTM QS, SUPPQS, DM and SV (CSV and SAS XPORT v5), a define listing.

Target: SDTM v1.7 / SDTMIG v3.3 (baseline as ``QSBLFL``; IG 3.4 would use
``QSLOBXFL``). QS has one record per item response and one per derived score
(``QSDRVFL = "Y"``; a T-score's SE is a derived record of its own); ``QSGRPID``
groups the records of one completed form, and SUPPQS (SDTMIG 3.3 section 8.4)
says per form how it was administered and who entered it. DM (section 5.2)
has one record per enrolled participant, answered or not; SV (section 5.4)
one per participant and visit with a completed form. Terms come from each
instrument's ``sdtm.toml`` (``sdtm_map``). Both files are streamed; the
``.xpt`` (``xport``) has fixed widths, so every character variable has a
declared length below, and a longer value stops the export.
"""

from __future__ import annotations

import io
import unicodedata
from collections.abc import Callable, Iterator, Sequence
from datetime import date

from pro_app.exports.csvfile import SafeWriter
from pro_app.exports.define_xml import (
    Dataset,
    DefineSpec,
    Origin,
    Term,
    define_file,
)
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
    # One completed form (the submission id), for SUPPQS's IDVAR (IG 3.3 8.4.1).
    ("QSGRPID", "Group ID", "Char", 20),
    ("QSTESTCD", "Question Short Name", "Char", MAX_TESTCD),
    ("QSTEST", "Question Name", "Char", MAX_TEST),
    ("QSCAT", "Category of Question", "Char", 200),
    ("QSSCAT", "Subcategory for Question", "Char", 200),
    ("QSORRES", "Finding in Original Units", "Char", 200),
    ("QSSTRESC", "Character Result/Finding in Std Format", "Char", 24),
    ("QSSTRESN", "Numeric Finding in Standard Format", "Num", 8),
    ("QSSTAT", "Completion Status", "Char", 8),
    ("QSREASND", "Reason Not Performed", "Char", 12),
    # SDTMIG 3.3 QS: QSBLFL "Y" or null (Expected); see ``baseline_flag``.
    ("QSBLFL", "Baseline Flag", "Char", 1),
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


def baseline_flag(record: SubmissionRecord, result: object | None) -> str:
    """QSBLFL: "Y" on the records of the protocol's baseline visit that hold a
    result; null otherwise. SDTMIG 3.3's QS specification: QSBLFL marks the
    baseline value ("Y" or null), so a record without a result (QSSTAT
    "NOT DONE") is never flagged. Only one visit is the baseline
    (``baseline = true`` in the protocol), so a test is flagged at most once
    per subject."""
    return "Y" if record.baseline and result is not None else ""


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
            "grpid": str(record.submission_id),
            "record": record,
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
            context["grpid"],
            term.testcd,
            term.test,
            mapping.qscat,
            scat,
            orres,
            stresc,
            stresn,
            stat,
            reason,
            baseline_flag(context["record"], result),
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


DEFINE_COLUMNS = (
    "kind",
    "name",
    "label",
    "type",
    "length",
    "codelist",
    "source",
    "dataset",
    "comment",
)


def define_csv(plan: ExportPlan) -> ExportFile:
    """``<study>_qs_define.csv``: every dataset's variables (QS first), the
    QSTESTCD code lists and the SITEID code list (site code -> site name)."""

    def produce(out: ExportFile) -> Iterator[bytes]:
        root = instruments_dir()
        buffer = io.StringIO()
        writer = SafeWriter(buffer)
        writer.writerow(DEFINE_COLUMNS)
        datasets = (
            ("QS", QsRows(plan).variables(), {}),
            ("SUPPQS", _narrowed(SUPP_VARIABLES, _id_lengths(plan)), {}),
            ("DM", _narrowed(DM_VARIABLES, _id_lengths(plan)), DM_NOT_COLLECTED),
            ("SV", _narrowed(SV_VARIABLES, _id_lengths(plan)), {}),
        )
        for dataset, variables, comments in datasets:
            for name, label, kind, length in variables:
                codelist = {
                    "QSTESTCD": "QSTESTCD",
                    "QSTEST": "QSTEST",
                    "SITEID": "SITEID",
                    "QNAM": "QNAM",
                }.get(name, "")
                comment = comments.get(name, "")
                row = ["variable", name, label, kind, length, codelist, ""]
                writer.writerow([*row, dataset, comment])
                out.rows += 1
        for qnam, qlabel in SUPPQS_QUALIFIERS.items():
            writer.writerow(
                ["QNAM", qnam, qlabel, "Char", "", "", "ASSIGNED", "SUPPQS", ""]
            )
            out.rows += 1
        for site, name in sorted({(s.site, s.site_name) for s in plan.subjects}):
            writer.writerow(["SITEID", site, name, "", "", "", "", "DM", ""])
            out.rows += 1
        for instrument in plan.instruments:
            mapping = load_mapping(instrument, root)
            tag = f"{instrument.id} {instrument.version}; {mapping.source}"
            writer.writerow(
                ["QSCAT", mapping.qscat, instrument.name, "", "", "", tag, "QS", ""]
            )
            out.rows += 1
            terms = [
                *mapping.items.values(),
                *(t for s in mapping.scores for t in _score_terms(mapping, s)),
            ]
            for term in terms:
                writer.writerow(
                    [
                        "QSTESTCD",
                        term.testcd,
                        term.test,
                        "",
                        "",
                        mapping.qscat,
                        tag,
                        "QS",
                        "",
                    ]
                )
                out.rows += 1
        yield buffer.getvalue().encode()

    return ExportFile(plan.file_name("qs_define", "csv"), produce)


def _score_terms(mapping: QsMapping, scale_id: str) -> list[Test]:
    se = mapping.score_se.get(scale_id)
    return [mapping.scores[scale_id], *([se] if se else [])]


Rows = Callable[[], Iterator[list[list[object]]]]


def _dataset_files(
    plan: ExportPlan,
    domain: str,
    label: str,
    variables: Sequence[tuple[str, str, str, int]],
    batches: Rows,
) -> list[ExportFile]:
    """A dataset as ``<study>_<domain>.csv`` and ``.xpt`` (one dataset a file)."""
    stem = domain.lower()

    def produce_csv(out: ExportFile) -> Iterator[bytes]:
        return csv_chunks([v[0] for v in variables], batches(), out)

    def rows(out: ExportFile) -> Iterator[list[object]]:
        for batch in batches():
            out.rows += len(batch)
            yield from batch

    def produce_xpt(out: ExportFile) -> Iterator[bytes]:
        fixed = [Variable(*v) for v in variables]
        return xport_chunks(domain, label, fixed, rows(out), plan.generated_at)

    return [
        ExportFile(plan.file_name(stem, "csv"), produce_csv),
        ExportFile(plan.file_name(stem, "xpt"), produce_xpt),
    ]


def _narrowed(
    variables: Sequence[tuple[str, str, str, int]], longest: dict[str, int]
) -> list[tuple[str, str, str, int]]:
    return [
        (name, label, kind, max(1, longest.get(name, length)))
        for name, label, kind, length in variables
    ]


def _id_lengths(plan: ExportPlan) -> dict[str, int]:
    study = len(plan.study.encode())
    return {"STUDYID": study, "USUBJID": study + 1 + SUBJECT_ID}


# SUPPQS (SDTMIG 3.3 section 8.4.1, Supplemental Qualifiers). Each qualifier
# is about a whole completed form, so it points at the form's QS records
# through IDVAR = "QSGRPID" (section 8.4.1: IDVAR may be --GRPID to relate a
# qualifier to a group of records) rather than repeating it per QSSEQ.
SUPP_VARIABLES = (
    ("STUDYID", "Study Identifier", "Char", 40),
    ("RDOMAIN", "Related Domain Abbreviation", "Char", 2),
    ("USUBJID", "Unique Subject Identifier", "Char", 81),
    ("IDVAR", "Identifying Variable", "Char", 8),
    ("IDVARVAL", "Identifying Variable Value", "Char", 20),
    ("QNAM", "Qualifier Variable Name", "Char", 8),
    ("QLABEL", "Qualifier Variable Label", "Char", 40),
    ("QVAL", "Data Value", "Char", 200),
    ("QORIG", "Origin", "Char", 8),
    ("QEVAL", "Evaluator", "Char", 40),
)
#: Sponsor-defined qualifiers (QNAM at most 8 characters, QLABEL at most 40).
SUPPQS_QUALIFIERS = {
    "QSMODE": "Mode of Administration",
    "QSENTBY": "Form Entered By (Staff Account)",
    "QSENTBYN": "Form Entered By (Staff Name)",
}
#: ``Submission.mode`` -> QVAL of QSMODE.
MODE_VALUES = {
    "self": "SELF-ADMINISTERED ONLINE",
    "paper": "PAPER",
    "interview": "INTERVIEW",
}


def ascii_name(name: str | None) -> str:
    """A staff name as XPORT v5 can hold it (ASCII): accents dropped
    ("José" -> "Jose"); a name in another script gives "" (left out: the
    account, QSENTBY, still says who entered the form)."""
    folded = "".join(
        c
        for c in unicodedata.normalize("NFKD", name or "")
        if not unicodedata.combining(c)
    )
    return folded if folded.isascii() else ""


def supp_rows(plan: ExportPlan, record: SubmissionRecord) -> list[list[object]]:
    """SUPPQS of one form: its mode; for paper and interview who entered it."""
    values = {"QSMODE": MODE_VALUES.get(record.mode, record.mode.upper())}
    if record.entered_by:
        values["QSENTBY"] = record.entered_by
        values["QSENTBYN"] = ascii_name(record.entered_by_name)
    usubjid = f"{plan.study}-{record.subject}"
    return [
        [
            plan.study,
            "QS",
            usubjid,
            "QSGRPID",
            str(record.submission_id),
            qnam,
            SUPPQS_QUALIFIERS[qnam],
            value,
            "ASSIGNED",  # recorded by the application, not a CRF question
            "",
        ]
        for qnam, value in values.items()
        if value
    ]


def supp_batches(
    plan: ExportPlan, source: RecordSource
) -> Iterator[list[list[object]]]:
    """SUPPQS rows, one form at a time (answers and scores are not read)."""
    for record in source(None, answers=False, scores=False):
        yield supp_rows(plan, record)


# DM (SDTMIG 3.3 section 5.2). The app collects no demographics: SEX, AGE,
# RACE, ETHNIC stay null (the define listing says why), and so does COUNTRY
# (a site has no country in the protocol file) and RFICDTC (no consent date is
# recorded). The protocol names no arms: every participant is in the study's
# single open-label group (``ARM``); ACTARM is that group once Day 0 has come.
DM_VARIABLES = (
    ("STUDYID", "Study Identifier", "Char", 40),
    ("DOMAIN", "Domain Abbreviation", "Char", 2),
    ("USUBJID", "Unique Subject Identifier", "Char", 81),
    ("SUBJID", "Subject Identifier for the Study", "Char", SUBJECT_ID),
    ("RFSTDTC", "Subject Reference Start Date/Time", "Char", 10),
    ("RFICDTC", "Date/Time of Informed Consent", "Char", 10),
    ("DTHFL", "Subject Death Flag", "Char", 1),
    ("SITEID", "Study Site Identifier", "Char", 40),
    ("AGE", "Age", "Num", 8),
    ("AGEU", "Age Units", "Char", 1),
    ("SEX", "Sex", "Char", 1),
    ("RACE", "Race", "Char", 1),
    ("ETHNIC", "Ethnicity", "Char", 1),
    ("ARMCD", "Planned Arm Code", "Char", 8),
    ("ARM", "Description of Planned Arm", "Char", 40),
    ("ACTARMCD", "Actual Arm Code", "Char", 8),
    ("ACTARM", "Description of Actual Arm", "Char", 40),
    ("ARMNRS", "Reason Arm and/or Actual Arm is Null", "Char", 21),
    ("COUNTRY", "Country", "Char", 3),
)
ARMCD = "OPEN"
ARM = "Open-label, single group"
#: SDTMIG 3.3 DM: ARMNRS when ACTARM is null (CDISC CT codelist ARMNULRS).
NOT_TREATED = "ASSIGNED, NOT TREATED"
#: Why a DM variable is null, for the define listing.
DM_NOT_COLLECTED = {
    "RFICDTC": "The date of informed consent is not recorded in pro-app.",
    "DTHFL": "Deaths are not recorded in pro-app.",
    "AGE": "Demographics are not collected by pro-app.",
    "AGEU": "Demographics are not collected by pro-app.",
    "SEX": "Demographics are not collected by pro-app.",
    "RACE": "Demographics are not collected by pro-app.",
    "ETHNIC": "Demographics are not collected by pro-app.",
    "COUNTRY": "The protocol file gives no country for a site.",
}


def dm_rows(plan: ExportPlan) -> list[list[object]]:
    """One DM record per enrolled participant in scope, answered or not."""
    today = plan.generated_at.date()
    out = []
    for subject in plan.subjects:
        started = subject.day0 <= today
        out.append(
            [
                plan.study,
                "DM",
                f"{plan.study}-{subject.subject}",
                subject.subject,
                subject.day0.isoformat() if started else "",
                "",
                "",
                subject.site,
                None,
                "",
                "",
                "",
                "",
                ARMCD,
                ARM,
                ARMCD if started else "",
                ARM if started else "",
                "" if started else NOT_TREATED,
                "",
            ]
        )
    return out


# SV (SDTMIG 3.3 section 5.4): one record per subject and visit with at least
# one completed form; start and end are the first and last day a form of the
# visit was answered (the day, as QSDTC for paper; see ``collection_dtc``).
SV_VARIABLES = (
    ("STUDYID", "Study Identifier", "Char", 40),
    ("DOMAIN", "Domain Abbreviation", "Char", 2),
    ("USUBJID", "Unique Subject Identifier", "Char", 81),
    ("VISITNUM", "Visit Number", "Num", 8),
    ("VISIT", "Visit Name", "Char", 100),
    ("SVSTDTC", "Start Date/Time of Visit", "Char", 10),
    ("SVENDTC", "End Date/Time of Visit", "Char", 10),
    ("SVSTDY", "Study Day of Start of Visit", "Num", 8),
    ("SVENDY", "Study Day of End of Visit", "Num", 8),
)


def sv_batches(plan: ExportPlan, source: RecordSource) -> Iterator[list[list[object]]]:
    """SV rows, one subject at a time (records come by subject, then visit)."""
    visits: dict[tuple[int | None, str], list[date]] = {}
    subject, day0 = "", None
    for record in source(None, answers=False, scores=False):
        if record.subject != subject:
            if visits:
                yield _sv_rows(plan, subject, day0, visits)
            subject, day0, visits = record.subject, record.day0, {}
        key = (record.visit_num, record.visit or record.timepoint)
        visits.setdefault(key, []).append(record.collected_on())
    if visits:
        yield _sv_rows(plan, subject, day0, visits)


def _sv_rows(
    plan: ExportPlan,
    subject: str,
    day0: date | None,
    visits: dict[tuple[int | None, str], list[date]],
) -> list[list[object]]:
    out = []
    for (num, name), days in sorted(visits.items(), key=lambda kv: kv[0][0] or 0):
        first, last = min(days), max(days)
        out.append(
            [
                plan.study,
                "SV",
                f"{plan.study}-{subject}",
                num,
                name,
                first.isoformat(),
                last.isoformat(),
                study_day(first, day0),
                study_day(last, day0),
            ]
        )
    return out


COLLECTED = Origin("Collected", "Subject")
DERIVED = Origin("Derived")
ASSIGNED = Origin("Assigned")
PROTOCOL = Origin("Protocol")
#: Where each variable's values come from (Define-XML 2.1 def:Origin).
ORIGINS = {
    "USUBJID": DERIVED,
    "QSSEQ": DERIVED,
    "QSORRES": COLLECTED,
    "QSSTRESC": DERIVED,
    "QSSTRESN": DERIVED,
    "QSSTAT": DERIVED,
    "QSREASND": DERIVED,
    "QSBLFL": DERIVED,
    "QSDRVFL": DERIVED,
    "QSEVLINT": PROTOCOL,
    "VISITNUM": PROTOCOL,
    "VISIT": PROTOCOL,
    "QSDTC": COLLECTED,
    "QSDY": DERIVED,
    "RFSTDTC": PROTOCOL,
    "ACTARMCD": DERIVED,
    "ACTARM": DERIVED,
    "ARMNRS": DERIVED,
    "SVSTDTC": DERIVED,
    "SVENDTC": DERIVED,
    "SVSTDY": DERIVED,
    "SVENDY": DERIVED,
}
DATA_TYPES = {
    "QSSTRESN": "float",
    "QSDTC": "partialDatetime",
    "RFSTDTC": "date",
    "RFICDTC": "date",
    "SVSTDTC": "date",
    "SVENDTC": "date",
}
QS_COMMENTS = {
    "QSBLFL": "Y on the records of the protocol's baseline visit that hold a result.",
    "QSDTC": "Online: when the participant submitted, on their clock. Paper or "
    "interview: the day answered, as entered by staff.",
    "QSGRPID": "One completed form; SUPPQS points at it (IDVAR QSGRPID).",
}
SV_COMMENTS = {
    "SVSTDTC": "The first day a form of the visit was answered.",
    "SVENDTC": "The last day a form of the visit was answered.",
}


def define_spec(plan: ExportPlan) -> DefineSpec:
    """What define.xml says about the datasets of ``sdtm``."""
    root = instruments_dir()
    terms, methods, testcds, qscats = [], {}, [], []
    for instrument in plan.instruments:
        mapping = load_mapping(instrument, root)
        qscats.append((mapping.qscat, instrument.name))
        for term in mapping.items.values():
            terms.append(Term(term.testcd, term.test, "text", COLLECTED))
            testcds.append((term.testcd, term.test))
        for scale in instrument.scales:
            oid = f"MT.{mapping.scores[scale.id].testcd}"
            methods[oid] = (
                f"{instrument.short_name} {scale.name}"[:200],
                f"{instrument.name} {instrument.version}: scale {scale.name} scored "
                f"by method {scale.method} as the instrument file defines it "
                "(instruments/<id>/<version>/instrument.toml); the SE record is "
                "the score's standard error from the same lookup.",
            )
            for term in _score_terms(mapping, scale.id):
                terms.append(
                    Term(term.testcd, term.test, "float", Origin("Derived", method=oid))
                )
                testcds.append((term.testcd, term.test))
    sites = sorted({(s.site, s.site_name) for s in plan.subjects})
    ids = _id_lengths(plan)
    common = {"STUDYID", "DOMAIN", "USUBJID"}
    datasets = [
        Dataset(
            "QS", "Questionnaires", "FINDINGS",
            "One record per questionnaire per question per visit per subject",
            QsRows(plan).variables(),
            ("STUDYID", "USUBJID", "QSCAT", "QSTESTCD", "VISITNUM"),
            (*common, "QSSEQ", "QSTESTCD", "QSTEST", "QSCAT"),
            ORIGINS, QS_COMMENTS,
            {"QSTESTCD": "CL.QSTESTCD", "QSCAT": "CL.QSCAT", "QSBLFL": "CL.NY",
             "QSDRVFL": "CL.NY"},
            DATA_TYPES,
        ),
        Dataset(
            "SUPPQS", "Supplemental Qualifiers for QS", "RELATIONSHIP",
            "One record per IDVAR, IDVARVAL, and QNAM value per subject",
            _narrowed(SUPP_VARIABLES, ids),
            ("STUDYID", "RDOMAIN", "USUBJID", "IDVAR", "IDVARVAL", "QNAM"),
            ("STUDYID", "RDOMAIN", "USUBJID", "QNAM", "QLABEL", "QVAL", "QORIG"),
            ORIGINS, {}, {"QNAM": "CL.QNAM"}, DATA_TYPES,
        ),
        Dataset(
            "DM", "Demographics", "SPECIAL PURPOSE", "One record per subject",
            _narrowed(DM_VARIABLES, ids), ("STUDYID", "USUBJID"),
            (*common, "SUBJID", "SITEID", "ARMCD", "ARM"),
            ORIGINS, DM_NOT_COLLECTED,
            {"SITEID": "CL.SITEID", "ARMCD": "CL.ARMCD", "ACTARMCD": "CL.ARMCD",
             "DTHFL": "CL.NY"},
            DATA_TYPES,
        ),
        Dataset(
            "SV", "Subject Visits", "SPECIAL PURPOSE",
            "One record per subject per actual visit",
            _narrowed(SV_VARIABLES, ids), ("STUDYID", "USUBJID", "VISITNUM"),
            (*common, "VISITNUM"), ORIGINS, SV_COMMENTS, {}, DATA_TYPES,
        ),
    ]  # fmt: skip
    codelists = {
        "CL.QSTESTCD": ("Question Short Name", testcds),
        "CL.QSCAT": ("Category of Question", qscats),
        "CL.QNAM": ("Supplemental Qualifier Name", list(SUPPQS_QUALIFIERS.items())),
        "CL.SITEID": ("Study Site Identifier", sites),
        "CL.ARMCD": ("Planned Arm Code", [(ARMCD, ARM)]),
        # CDISC CT No Yes Response (NY, C66742): the subset used.
        "CL.NY": ("No Yes Response", [("Y", "Yes")]),
    }
    return DefineSpec(datasets, terms, methods, codelists)


def sdtm(plan: ExportPlan, source: RecordSource) -> list[ExportFile]:
    """``sdtm``: QS, SUPPQS, DM and SV as CSV and XPORT v5, and the define listing."""
    datasets: list[tuple[str, str, Sequence[tuple[str, str, str, int]], Rows]] = [
        ("SUPPQS", "Supplemental Qualifiers for QS", SUPP_VARIABLES,
         lambda: supp_batches(plan, source)),
        ("DM", "Demographics", DM_VARIABLES, lambda: iter([dm_rows(plan)])),
        ("SV", "Subject Visits", SV_VARIABLES, lambda: sv_batches(plan, source)),
    ]  # fmt: skip
    files = [qs_csv(plan, source), qs_xpt(plan, source)]
    for domain, label, variables, batches in datasets:
        narrowed = _narrowed(variables, _id_lengths(plan))
        files += _dataset_files(plan, domain, label, narrowed, batches)
    return [*files, define_csv(plan), define_file(plan, define_spec(plan))]
