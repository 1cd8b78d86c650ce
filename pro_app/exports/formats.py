"""The export formats, by the name the CLI and the staff page use.

A format is a writer over the one record stream (``services.iter_records``):
it takes the plan and a record source and returns its files. To add one
(SDTM QS, ODM, FHIR...), write the function and ``register`` it here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from pro_app.exports import codebook, fhir, odm, sdtm, stats, writers
from pro_app.exports.layout import ExportFile, ExportPlan, RecordSource

Build = Callable[[ExportPlan, RecordSource], list[ExportFile]]


@dataclass(frozen=True)
class Format:
    """One export format: its name, a one-line description and its writer."""

    name: str
    description: str
    build: Build


FORMATS: dict[str, Format] = {}


def register(fmt: Format) -> Format:
    """Add a format (a second one with the same name is refused)."""
    if fmt.name in FORMATS:
        raise ValueError(f"export format {fmt.name!r} is already registered")
    FORMATS[fmt.name] = fmt
    return fmt


def get_format(name: str) -> Format:
    """Return a format by name; ``UnknownFormat`` lists the known ones."""
    try:
        return FORMATS[name]
    except KeyError:
        raise UnknownFormat(name) from None


class UnknownFormat(LookupError):
    """No export format of that name."""

    def __str__(self) -> str:
        known = ", ".join(FORMATS)
        return f"unknown export format {self.args[0]!r} (known: {known})"


for _format in (
    Format("csv-long", "CSV, one row per answer", writers.long_csv),
    Format("csv-wide", "CSV, one row per subject and visit", writers.wide_csv),
    Format(
        "csv-questionnaire", "CSV, one row per questionnaire", writers.questionnaire_csv
    ),
    Format("scores", "CSV, one row per score", writers.scores_csv),
    Format("codebook", "Codebook (CSV and HTML)", codebook.codebook_csv),
    Format("spss", "SPSS .sav per instrument, labelled", stats.spss),
    Format("stata", "Stata .dta per instrument, labelled", stats.stata),
    Format(
        "sdtm", "CDISC SDTM QS, SUPPQS, DM, SV (CSV, XPORT v5), define.xml", sdtm.sdtm
    ),
    Format("odm", "CDISC ODM 1.3.2 XML with audit records", odm.odm),
    Format("fhir", "HL7 FHIR R4 Bundle (JSON)", fhir.bundle),
    Format(
        "fhir-ndjson", "HL7 FHIR R4 NDJSON, one file per resource type", fhir.ndjson
    ),
):
    register(_format)
