"""Load and validate a study protocol from ``studies/<code>.toml``.

Pure: tomllib and dataclasses only, no Flask or SQLAlchemy, so the file can be
checked on its own. Every problem raises ``ProtocolError`` naming the file,
the dotted key and the reason, like the instrument catalogue's ``CatalogError``.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, NoReturn
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pro_app.catalog.schema import Catalog
from pro_app.studies.site_contact import (
    MAX_NAME,
    SiteContact,
    email_problem,
    phone_problem,
)
from pro_app.studies.subject_ids import ascii_pattern_problem

LINK_POLICIES = ("long_lived", "per_message")
MIN_ANSWERED_RULES = ("any", "half")  # pro_app.scoring.params.NAMED_RULES
_CODE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]*")
_CLOCK = re.compile(r"([01][0-9]|2[0-3]):[0-5][0-9]")
_INSTRUMENT = re.compile(r"(?P<id>[a-z][a-z0-9_]*)@(?P<version>[0-9]+(\.[0-9]+)*)")
_TOP = ("study", "settings", "sites", "timepoints", "reminders")
_STUDY = ("code", "title", "protocol_version", "timezone")
_STUDY_OPTIONAL = ("registry_id", "demonstration_schedule", "note")


class ProtocolError(Exception):
    """A protocol file is invalid; ``str()`` reads ``<file>: <key>: <reason>``."""

    def __init__(self, path: Path | str, key: str, reason: str) -> None:
        """Record the offending file, the dotted key path in it and the reason."""
        super().__init__(Path(path), key, reason)
        self.path = Path(path)
        self.key = key
        self.reason = reason

    def __str__(self) -> str:
        return f"{self.path}: {self.key}: {self.reason}"


@dataclass(frozen=True)
class ReminderPlan:
    """Which messages to queue for each assignment window."""

    invitation: bool = True
    reminder_days_after_open: tuple[int, ...] = ()
    last_call_days_before_close: int | None = None


@dataclass(frozen=True)
class StudySettings:
    """Study-level options, stored in ``Study.settings``."""

    quiet_hours: tuple[str, str] | None = None
    window_opens_at: str = "00:00"
    rand36_min_answered: str | None = None
    show_scores_to_participants: bool = False
    link_policy: str = "long_lived"
    # Checked at import: ASCII ids only (``subject_ids``), for SAS XPORT.
    subject_id_pattern: str | None = None


@dataclass(frozen=True)
class SiteDef:
    """A site as declared in the protocol."""

    code: str
    name: str
    timezone: str
    contact: SiteContact | None = None


@dataclass(frozen=True)
class TimepointDef:
    """A timepoint: target day from Day 0, window and ordered instruments."""

    code: str
    label: str
    day_offset: int
    window_before: int
    window_after: int
    instruments: tuple[tuple[str, str], ...]
    reminders: ReminderPlan | None = None
    # The protocol's baseline visit (at most one): SDTM QSBLFL and the
    # change-from-baseline columns of the exports refer to it.
    baseline: bool = False


@dataclass(frozen=True)
class Protocol:
    """A validated protocol file."""

    path: Path
    code: str
    title: str
    protocol_version: str
    timezone: str
    registry_id: str | None
    settings: StudySettings
    sites: tuple[SiteDef, ...]
    timepoints: tuple[TimepointDef, ...]
    reminders: ReminderPlan = field(default_factory=ReminderPlan)
    demonstration_schedule: bool = False
    note: str | None = None

    def settings_dict(self) -> dict[str, Any]:
        """Return what goes into ``Study.settings`` (JSON-ready)."""
        out: dict[str, Any] = {
            k: v for k, v in asdict(self.settings).items() if v is not None
        }
        if self.settings.quiet_hours is not None:
            out["quiet_hours"] = list(self.settings.quiet_hours)
        out["reminders"] = _plan_dict(self.reminders)
        overrides = {
            tp.code: _plan_dict(tp.reminders) for tp in self.timepoints if tp.reminders
        }
        if overrides:
            out["timepoint_reminders"] = overrides
        return out


def _plan_dict(plan: ReminderPlan) -> dict[str, Any]:
    # The stored shape is what pro_app.notify.rules.plan_from_settings reads.
    return {
        "invitation": plan.invitation,
        "reminder_days": list(plan.reminder_days_after_open),
        "last_call_days": plan.last_call_days_before_close,
    }


class _Table:
    """A TOML table plus where it sits in the file, for error messages."""

    def __init__(self, path: Path, data: dict[str, Any], prefix: str = "") -> None:
        self.path, self.data, self.prefix = path, data, prefix

    def where(self, key: str) -> str:
        return f"{self.prefix}.{key}" if self.prefix else key

    def fail(self, key: str, reason: str) -> NoReturn:
        raise ProtocolError(self.path, self.where(key), reason)

    def keys(self, required: tuple[str, ...], optional: tuple[str, ...] = ()) -> None:
        for key in required:
            if key not in self.data:
                self.fail(key, "is required")
        for key in self.data:
            if key not in required and key not in optional:
                self.fail(key, "is not a known key")

    def get(self, key: str, kind: type | tuple[type, ...], default: Any = None) -> Any:
        if key not in self.data:
            return default
        value = self.data[key]
        # bool is an int in Python; a day count of `true` is a mistake.
        wrong_bool = isinstance(value, bool) and kind is int
        if wrong_bool or not isinstance(value, kind):
            names = kind if isinstance(kind, tuple) else (kind,)
            wanted = " or ".join(_NAMES[k] for k in names)
            self.fail(key, f"must be {wanted}, not {type(value).__name__}")
        return value

    def text(self, key: str, pattern: re.Pattern[str] | None = None) -> str:
        value = self.get(key, str)
        if value is None or not value.strip():
            self.fail(key, "must be a non-empty string")
        if pattern is not None and not pattern.fullmatch(value):
            self.fail(key, f"{value!r} is not of the form {pattern.pattern}")
        return value

    def days(self, key: str, *, minimum: int | None = 0, default: int = 0) -> int:
        value = self.get(key, int, default)
        if minimum is not None and value < minimum:
            self.fail(key, f"must be at least {minimum}, not {value}")
        return value

    def zone(self, key: str) -> str:
        value = self.text(key)
        if not _valid_zone(value):
            self.fail(key, f"{value!r} is not an IANA time zone")
        return value

    def child(self, key: str) -> _Table:
        return _Table(self.path, self.get(key, dict, {}), self.where(key))


_NAMES = {str: "a string", int: "an integer", bool: "true or false",
          list: "an array", dict: "a table"}  # fmt: skip


def _valid_zone(name: str) -> bool:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True


def _settings(t: _Table) -> StudySettings:
    t.keys((), tuple(StudySettings.__dataclass_fields__))
    quiet = t.get("quiet_hours", list)
    if quiet is not None:
        if len(quiet) != 2 or not all(
            isinstance(v, str) and _CLOCK.fullmatch(v) for v in quiet
        ):
            t.fail("quiet_hours", 'must be two "HH:MM" times, e.g. ["21:00", "08:00"]')
        quiet = (quiet[0], quiet[1])
    opens = t.get("window_opens_at", str, "00:00")
    if not _CLOCK.fullmatch(opens):
        t.fail("window_opens_at", f'{opens!r} is not a "HH:MM" time')
    rule = t.get("rand36_min_answered", str)
    if rule is not None and rule not in MIN_ANSWERED_RULES:
        t.fail("rand36_min_answered", f"must be one of {MIN_ANSWERED_RULES}")
    policy = t.get("link_policy", str, "long_lived")
    if policy not in LINK_POLICIES:
        t.fail("link_policy", f"{policy!r} is not one of {LINK_POLICIES}")
    return StudySettings(
        quiet_hours=quiet,
        window_opens_at=opens,
        rand36_min_answered=rule,
        show_scores_to_participants=t.get("show_scores_to_participants", bool, False),
        link_policy=policy,
        subject_id_pattern=_subject_id_pattern(t),
    )


def _subject_id_pattern(t: _Table) -> str | None:
    pattern = t.get("subject_id_pattern", str)
    if pattern is not None:
        problem = ascii_pattern_problem(pattern)
        if problem is not None:
            t.fail("subject_id_pattern", f"{pattern!r} {problem}")
    return pattern


def _reminders(t: _Table) -> ReminderPlan:
    t.keys((), tuple(ReminderPlan.__dataclass_fields__))
    days = t.get("reminder_days_after_open", list, [])
    if not all(isinstance(d, int) and not isinstance(d, bool) and d > 0 for d in days):
        t.fail("reminder_days_after_open", "must be an array of positive integers")
    if len(set(days)) != len(days):
        t.fail("reminder_days_after_open", "repeats a day")
    last = t.get("last_call_days_before_close", int)
    if last is not None and last < 0:
        t.fail("last_call_days_before_close", "must be at least 0")
    return ReminderPlan(
        invitation=t.get("invitation", bool, True),
        reminder_days_after_open=tuple(sorted(days)),
        last_call_days_before_close=last,
    )


def _sites(doc: _Table, default_zone: str) -> tuple[SiteDef, ...]:
    raw = doc.get("sites", list)
    if not raw:
        doc.fail("sites", "must list at least one site")
    sites: list[SiteDef] = []
    for index, entry in enumerate(raw):
        if not isinstance(entry, dict):
            doc.fail(f"sites[{index}]", "must be a table")
        t = _Table(doc.path, entry, f"sites[{index}]")
        t.keys(("code", "name"), ("timezone", "contact"))
        code = t.text("code", _CODE)
        if any(s.code == code for s in sites):
            t.fail("code", f"site {code!r} is declared twice")
        zone = t.zone("timezone") if "timezone" in entry else default_zone
        contact = _contact(t.child("contact")) if "contact" in entry else None
        sites.append(SiteDef(code, t.text("name"), zone, contact))
    return tuple(sites)


def _contact(t: _Table) -> SiteContact:
    """``[sites.contact]``: the study team participants call or write to."""
    t.keys(("name",), ("phone", "email"))
    name = t.text("name").strip()
    if len(name) > MAX_NAME:
        t.fail("name", f"is longer than {MAX_NAME} characters")
    found: dict[str, str] = {}
    for key, problem in (("phone", phone_problem), ("email", email_problem)):
        if key in t.data:
            value = t.text(key).strip()
            reason = problem(value)
            if reason is not None:
                t.fail(key, reason)
            found[key] = value
    if not found:
        raise ProtocolError(
            t.path, t.prefix, "needs a phone number or an email address (or both)"
        )
    return SiteContact(name, found.get("phone"), found.get("email"))


def _instruments(t: _Table, catalog: Catalog | None) -> tuple[tuple[str, str], ...]:
    raw = t.get("instruments", list)
    if not raw:
        t.fail("instruments", "must list at least one instrument")
    out: list[tuple[str, str]] = []
    for index, ref in enumerate(raw):
        key = f"instruments[{index}]"
        match = _INSTRUMENT.fullmatch(ref) if isinstance(ref, str) else None
        if match is None:
            t.fail(key, f'{ref!r} is not of the form "<id>@<version>"')
        pair = (match["id"], match["version"])
        if any(pair[0] == seen for seen, _ in out):
            t.fail(key, f"{pair[0]!r} is listed twice")
        if catalog is not None:
            try:
                catalog.get(*pair)
            except LookupError:
                t.fail(key, f"{ref!r} is not in the instrument catalogue")
        out.append(pair)
    return tuple(out)


def _timepoints(doc: _Table, catalog: Catalog | None) -> tuple[TimepointDef, ...]:
    raw = doc.get("timepoints", list)
    if not raw:
        doc.fail("timepoints", "must list at least one timepoint")
    out: list[TimepointDef] = []
    for index, entry in enumerate(raw):
        if not isinstance(entry, dict):
            doc.fail(f"timepoints[{index}]", "must be a table")
        t = _Table(doc.path, entry, f"timepoints[{index}]")
        t.keys(
            ("code", "label", "day_offset", "instruments"),
            ("window_before", "window_after", "reminders", "baseline"),
        )
        code = t.text("code", _CODE)
        if any(tp.code == code for tp in out):
            t.fail("code", f"timepoint {code!r} is declared twice")
        plan = _reminders(t.child("reminders")) if "reminders" in entry else None
        baseline = t.get("baseline", bool, False)
        if baseline and any(tp.baseline for tp in out):
            t.fail("baseline", "only one timepoint can be the baseline")
        out.append(
            TimepointDef(
                code=code,
                label=t.text("label"),
                day_offset=t.days("day_offset", minimum=None),
                window_before=t.days("window_before"),
                window_after=t.days("window_after"),
                instruments=_instruments(t, catalog),
                reminders=plan,
                baseline=baseline,
            )
        )
    return tuple(out)


def parse_protocol(
    path: Path | str, data: dict[str, Any], catalog: Catalog | None
) -> Protocol:
    """Validate already-parsed TOML ``data`` read from ``path``."""
    doc = _Table(Path(path), data)
    doc.keys(("study", "sites", "timepoints"), _TOP)
    study = doc.child("study")
    study.keys(_STUDY, _STUDY_OPTIONAL)
    zone = study.zone("timezone")
    version = study.get("protocol_version", (str, int))
    return Protocol(
        path=Path(path),
        code=study.text("code", _CODE),
        title=study.text("title"),
        protocol_version=str(version),
        timezone=zone,
        registry_id=study.get("registry_id", str),
        settings=_settings(doc.child("settings")),
        sites=_sites(doc, zone),
        timepoints=_timepoints(doc, catalog),
        reminders=_reminders(doc.child("reminders")),
        demonstration_schedule=study.get("demonstration_schedule", bool, False),
        note=study.get("note", str),
    )


def load_protocol(path: Path | str, catalog: Catalog | None) -> Protocol:
    """Read and validate a protocol file.

    Args:
        catalog: instruments the timepoints may name; ``None`` skips that check.
    """
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ProtocolError(path, "(file)", "does not exist") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ProtocolError(path, "(file)", f"is not valid TOML: {exc}") from None
    return parse_protocol(path, data, catalog)
