"""What an export holds: the records the query yields and the variables' names.

Pure (the catalogue only): the service fills ``SubmissionRecord``s from the
database, and every writer turns them into rows using the names defined here,
so a variable is called the same in every file and in the codebook.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from functools import cache
from typing import NamedTuple, Protocol
from zoneinfo import ZoneInfo

from pro_app.catalog import Instrument

#: Stata allows 32 characters in a variable name (SPSS 64): every name fits both.
MAX_NAME = 32
#: Language of labels in data files and codebooks ("label in English").
LABEL_LANGUAGE = "en"
_UNSAFE = re.compile(r"[^a-z0-9_]+")


class ScoreRow(NamedTuple):
    """One current score of a submission, as stored."""

    scale_id: str
    method: str
    status: str
    raw: float | None
    value: float | None
    se: float | None
    n_answered: int
    n_items: int
    prorated: bool
    algorithm: str


@dataclass(frozen=True, slots=True)
class SubmissionRecord:
    """One completed submission with its current answers and current scores.

    ``answers`` maps item id to ``(code, corrected)``; a skipped item has
    code ``None``. ``completed_at`` is an aware UTC datetime: when the
    participant submitted online, or when staff entered a paper or interview
    form. ``administered_on`` is the day a paper or interview form was
    answered, as staff entered it (None for online forms).
    """

    submission_id: int
    site: str
    site_timezone: str
    subject: str
    timepoint: str
    instrument: str
    version: str
    language: str
    mode: str
    completed_at: datetime
    answers: Mapping[str, tuple[int | None, bool]]
    scores: tuple[ScoreRow, ...]
    # Visit context for the CDISC formats (SDTM VISITNUM/VISIT/QSDY, ODM).
    visit_num: int | None = None
    visit: str | None = None
    day0: date | None = None
    # Item id -> (actor, answered_at, reason) of the current answer; read only
    # for a writer that asks for it (``audit=True``: ODM).
    audit: Mapping[str, tuple[str, datetime, str | None]] = field(default_factory=dict)
    # The participant's own time zone (the site's when not given).
    participant_timezone: str | None = None
    administered_on: date | None = None
    # Who entered a paper or interview form (``staff:<id>``) and their name.
    entered_by: str | None = None
    entered_by_name: str | None = None
    # The visit is the protocol's baseline (``baseline = true``).
    baseline: bool = False
    # The site's name (``site`` is its code).
    site_name: str | None = None
    # Staff names of the ``staff:<id>`` actors in ``audit`` (read with it;
    # shared by the records of a batch, so it may name others' actors too).
    audit_names: Mapping[str, str] = field(default_factory=dict)

    @property
    def corrected(self) -> bool:
        """True if any current answer is a correction."""
        return any(corrected for _code, corrected in self.answers.values())

    def completed_utc(self) -> str:
        """Return completion time as ISO 8601 in UTC, to the second."""
        return self.completed_at.strftime("%Y-%m-%dT%H:%M:%SZ")

    def completed_local(self) -> str:
        """Return completion time as ISO 8601 in the site's zone, with offset."""
        local = self.completed_at.astimezone(zone_info(self.site_timezone))
        return local.isoformat(timespec="seconds")

    @property
    def time_known(self) -> bool:
        """True when the moment of answering is known (online), not only the day."""
        return self.administered_on is None

    def answered_local(self) -> datetime:
        """Return completion time on the participant's clock (their zone)."""
        zone = zone_info(self.participant_timezone or self.site_timezone)
        return self.completed_at.astimezone(zone)

    def collected_on(self) -> date:
        """Return the day the participant answered.

        Paper or interview: the day entered by staff. Online: the day of
        completion in the participant's time zone.
        """
        if self.administered_on is not None:
            return self.administered_on
        return self.answered_local().date()


@cache
def zone_info(name: str) -> ZoneInfo:
    """Return the (cached) time zone of a site."""
    return ZoneInfo(name)


@dataclass(frozen=True)
class ExportFilters:
    """Which part of a study to export; an empty tuple means all."""

    sites: tuple[str, ...] = ()
    timepoints: tuple[str, ...] = ()
    instruments: tuple[str, ...] = ()

    def as_dict(self) -> dict[str, list[str]]:
        """Return the filters as plain lists, for the audit trail."""
        return {
            "sites": list(self.sites),
            "timepoints": list(self.timepoints),
            "instruments": list(self.instruments),
        }


@dataclass(frozen=True)
class Variable:
    """One column: its name, English label, type and value labels."""

    name: str
    label: str
    type: str  # "string", "numeric", "datetime" or "date"
    value_labels: Mapping[int, str] = field(default_factory=dict)
    instrument: str = ""  # "rand36 1.0" for item and score columns
    source: str = ""  # the item or scale id it comes from


#: The columns that say whose answers a row holds, first in every dataset.
KEY_VARIABLES = (
    Variable("study", "Study code", "string"),
    Variable("site", "Site code", "string"),
    Variable("site_timezone", "Time zone of the site (IANA)", "string"),
    Variable("subject", "Subject identifier", "string"),
    Variable("timepoint", "Timepoint code", "string"),
    Variable("instrument", "Instrument id", "string"),
    Variable("instrument_version", "Instrument version", "string"),
    Variable("language", "Language the instrument was administered in", "string"),
    Variable("mode", "Mode of administration (self, paper, interview)", "string"),
    Variable(
        "completed_at_utc",
        "Completed online or entered by staff at (UTC, ISO 8601)",
        "datetime",
    ),
    Variable(
        "completed_at_local",
        "Completed online or entered by staff at (site time zone)",
        "datetime",
    ),
    Variable(
        "collected_on",
        "Date answered (paper: as entered; online: participant's local date)",
        "date",
    ),
)
YES_NO = {0: "no", 1: "yes"}
CORRECTED = Variable(
    "corrected", "Any answer corrected after completion", "numeric", YES_NO
)


def clean_name(instrument_id: str, local: str) -> str:
    """Return the stable column name of an item or scale of an instrument.

    ``rand36`` + ``pf`` -> ``rand36_pf``. A repeated word at the join is said
    once (``promis_global`` + ``global_mental_health`` ->
    ``promis_global_mental_health``); a name still too long for Stata keeps a
    short hash of the full name so it stays unique and stable.
    """
    local = _UNSAFE.sub("_", local.lower()).strip("_")
    last = instrument_id.rsplit("_", 1)[-1]
    if local.startswith(last + "_"):
        local = local[len(last) + 1 :]
    name = f"{instrument_id}_{local}"
    if len(name) > MAX_NAME:
        digest = hashlib.sha256(name.encode()).hexdigest()[:4]
        name = f"{name[: MAX_NAME - 5]}_{digest}"
    return name


def item_local_name(item_id: str) -> str:
    """Numbered items (RAND-36 "1".."36") become q01..q36; others lower-case."""
    return f"q{int(item_id):02d}" if item_id.isdigit() else item_id


def is_t_score(method: str) -> bool:
    """T-score scales report a T and an SE; the others one value."""
    return method == "sum_to_t"


class ItemColumn(NamedTuple):
    item_id: str
    variable: Variable


class ScaleColumns(NamedTuple):
    scale_id: str
    value: Variable
    se: Variable | None


@dataclass(frozen=True, eq=False)
class InstrumentLayout:
    """The item and score columns of one instrument version, in form order."""

    instrument: Instrument
    items: tuple[ItemColumn, ...]
    scales: tuple[ScaleColumns, ...]
    by_item: Mapping[str, ItemColumn] = field(default_factory=dict)

    @property
    def variables(self) -> tuple[Variable, ...]:
        """Every column: items, then each scale's value (and SE)."""
        out = [c.variable for c in self.items]
        for scale in self.scales:
            out.append(scale.value)
            if scale.se is not None:
                out.append(scale.se)
        return tuple(out)


# Layouts by the identity of the (immutable) instrument they describe; the
# instrument is kept alongside so its id cannot be reused while cached.
_LAYOUTS: dict[int, tuple[Instrument, InstrumentLayout]] = {}


def instrument_layout(instrument: Instrument) -> InstrumentLayout:
    """Name every item and scale column of an instrument version."""
    cached = _LAYOUTS.get(id(instrument))
    if cached is None or cached[0] is not instrument:
        cached = (instrument, _build_layout(instrument))
        _LAYOUTS[id(instrument)] = cached
    return cached[1]


def _build_layout(instrument: Instrument) -> InstrumentLayout:
    text = instrument.text(instrument.text_locale_for(LABEL_LANGUAGE))
    tag = f"{instrument.id} {instrument.version}"
    items = tuple(
        ItemColumn(
            item.id,
            Variable(
                clean_name(instrument.id, item_local_name(item.id)),
                f"{instrument.short_name} {item.id}: {text.item_text(item.id)}",
                "numeric",
                dict(text.options(item.id)),
                tag,
                item.id,
            ),
        )
        for item in instrument.items
    )
    taken = {c.variable.name for c in items}
    scales = []
    for scale in instrument.scales:
        label = f"{instrument.short_name} {scale.name}"
        name = clean_name(instrument.id, scale.id)
        se = None
        if is_t_score(scale.method):
            value = Variable(f"{name}_t", f"{label} (T-score)", "numeric", {}, tag)
            se = Variable(f"{name}_se", f"{label} (T-score SE)", "numeric", {}, tag)
            se = replace(se, source=scale.id)
        else:
            if name in taken:  # a single-item "scale" named like its item
                name = clean_name(instrument.id, f"{scale.id}_score")
            value = Variable(name, label, "numeric", {}, tag)
        scales.append(ScaleColumns(scale.id, replace(value, source=scale.id), se))
    by_item = {c.item_id: c for c in items}
    return InstrumentLayout(instrument, items, tuple(scales), by_item)


@dataclass(frozen=True, slots=True)
class SubjectRecord:
    """One enrolled participant, whether or not they answered anything."""

    subject: str
    site: str
    site_name: str
    day0: date
    status: str


@dataclass(frozen=True)
class ExportPlan:
    """Everything a writer needs besides the records: study, scope, instruments.

    ``instruments`` are the versions in scope, in the order the study
    administers them.
    """

    study: str
    study_id: int
    filters: ExportFilters
    instruments: tuple[Instrument, ...]
    generated_at: datetime
    # The code of the protocol's baseline timepoint, if the protocol names one.
    baseline_timepoint: str | None = None
    # Every participant of the study at the sites in scope, answered or not,
    # by subject id (for a per-subject dataset such as SDTM DM).
    subjects: tuple[SubjectRecord, ...] = ()

    def layout(self, instrument_id: str, version: str) -> InstrumentLayout | None:
        """Return the layout of an instrument version in scope, if any."""
        for instrument in self.instruments:
            if instrument.id == instrument_id and instrument.version == version:
                return instrument_layout(instrument)
        return None

    def instrument_ids(self) -> list[str]:
        """Distinct instrument ids in scope, in administration order."""
        return list(dict.fromkeys(i.id for i in self.instruments))

    def file_name(self, stem: str, suffix: str) -> str:
        """``<study>_<stem>.<suffix>``, safe as a file name anywhere."""
        safe = re.sub(r"[^A-Za-z0-9_.-]+", "_", self.study)
        return f"{safe}_{stem}.{suffix}"


def wide_variables(
    instruments: Iterable[Instrument], keys: tuple[Variable, ...] = KEY_VARIABLES
) -> tuple[Variable, ...]:
    """Key columns, then each instrument's items and scores, once per name."""
    seen: dict[str, Variable] = {v.name: v for v in (*keys, CORRECTED)}
    for instrument in instruments:
        for variable in instrument_layout(instrument).variables:
            seen.setdefault(variable.name, variable)
    return tuple(seen.values())


class RecordSource(Protocol):
    """Produces the records of a plan (``services.iter_records`` underneath).

    ``instrument`` narrows to one instrument id; a writer that needs no
    answers (or no scores) says so, and they are not read.
    """

    def __call__(
        self,
        instrument: str | None = None,
        *,
        answers: bool = True,
        scores: bool = True,
        audit: bool = False,
    ) -> Iterator[SubmissionRecord]: ...


class ExportFile:
    """One file of an export: a name, and its bytes produced on demand.

    The producer adds the data rows it writes to ``rows``.
    """

    def __init__(
        self, name: str, produce: Callable[[ExportFile], Iterable[bytes]]
    ) -> None:
        self.name = name
        self.rows = 0
        self._produce = produce

    def chunks(self) -> Iterator[bytes]:
        """Produce the file's bytes, in chunks."""
        yield from self._produce(self)
