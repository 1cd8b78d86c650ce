"""Load and validate the instrument catalogue from ``<root>/<id>/<version>/``.

Each version directory holds ``instrument.toml`` (structure), one
``text.<locale>.toml`` per validated translation (wording) and ``LICENSE.md``.
Everything is checked at load, so a bad file stops start-up with a
``CatalogError`` naming the file, the key and the reason, rather than
surfacing later as a broken form in front of a participant.
"""

from __future__ import annotations

import dataclasses
import difflib
import itertools
import re
import tomllib
from collections.abc import Mapping
from pathlib import Path
from types import MappingProxyType
from typing import Any, NoReturn

from pro_app.catalog.schema import (
    KNOWN_KINDS,
    KNOWN_METHODS,
    Catalog,
    CatalogError,
    Instrument,
    InstrumentText,
    Item,
    ResponseSet,
    Scale,
    version_key,
)

INSTRUMENT_FILE = "instrument.toml"
LICENSE_FILE = "LICENSE.md"

_ID = re.compile(r"[a-z][a-z0-9_]*")
# Item, section, response-set and scale ids become form field names and TOML keys.
_NAME = re.compile(r"[A-Za-z0-9_]+")
_VERSION = re.compile(r"(0|[1-9][0-9]*)(\.(0|[1-9][0-9]*))*")
_LOCALE = re.compile(r"[a-z]{2,3}(_[A-Za-z0-9]{2,8})*")
_CODE = re.compile(r"-?(0|[1-9][0-9]*)")
# ISO 8601 durations: PnW, or PnYnMnD with an optional TnHnMnS part.
_DURATION = re.compile(
    r"P(\d+W|(?=\d|T\d)(\d+Y)?(\d+M)?(\d+D)?(T(?=\d)(\d+H)?(\d+M)?(\d+S)?)?)"
)
# A section's or item's own recall period: a duration, or "none" for no recall
# period where the instrument's would otherwise apply.
_RECALL = re.compile(rf"none|{_DURATION.pattern}")
_RECALL_WHAT = 'recall period (ISO 8601 duration, or "none")'
_TEXT_FILE = re.compile(r"text\.(?P<locale>[^.]+)\.toml")

_PLAIN = ("name", "short_name", "source", "licence")
_REQUIRED = ("id", "version", "languages", "default_language", *_PLAIN)
_REQUIRED += ("response_sets", "items")
_OPTIONAL = ("recall_period", "estimated_minutes", "sections", "scales")
# Longer than any questionnaire given in one sitting: a bigger number is a typo.
_MAX_MINUTES = 120
_SCALE_KEYS = ("id", "name", "method", "items", "higher_is", "chart")
_DIRECTIONS = re.compile("better|worse")
_CHARTS = re.compile("t|percent|nrs")
_TYPE_NAMES = {str: "a string", int: "an integer", list: "an array", dict: "a table"}
_PLURALS = {int: "integers", str: "strings", dict: "tables"}

Table = Mapping[str, Any]
Pattern = re.Pattern[str] | None


def _type_name(value: object) -> str:
    return _TYPE_NAMES.get(type(value), type(value).__name__)


class _Node:
    """A TOML table under validation, with its file and dotted key path."""

    def __init__(self, path: Path, table: Table, prefix: str = "") -> None:
        self.path, self.table, self.prefix = path, table, prefix

    def where(self, key: str) -> str:
        return ".".join(part for part in (self.prefix, key) if part)

    def fail(self, key: str, reason: str) -> NoReturn:
        raise CatalogError(self.path, self.where(key), reason)

    def keys(self, required: tuple[str, ...], optional: tuple[str, ...] = ()) -> None:
        # Unknown keys first: a misspelt key would otherwise be reported as missing.
        allowed = sorted({*required, *optional})
        for key in self.table:
            if key not in allowed:
                hint = difflib.get_close_matches(key, allowed, n=1)
                extra = f" (did you mean {hint[0]!r}?)" if hint else ""
                self.fail(key, "unknown key" + extra)
        for key in required:
            if key not in self.table:
                self.fail(key, "missing")

    def value(self, key: str, kind: type) -> Any:
        if key not in self.table:
            self.fail(key, "missing")
        value = self.table[key]
        # bool is an int subclass in Python; TOML keeps them apart and so do we.
        if not isinstance(value, kind) or isinstance(value, bool):
            self.fail(key, f"must be {_TYPE_NAMES[kind]}, not {_type_name(value)}")
        return value

    def string(self, key: str, pattern: Pattern = None, what: str = "") -> str:
        value = self.value(key, str)
        if not value.strip():
            self.fail(key, "must not be empty")
        if pattern is not None and not pattern.fullmatch(value):
            self.fail(key, f"{value!r} is not a valid {what}")
        return value

    def optional(self, key: str, pattern: Pattern = None, what: str = "") -> str | None:
        return self.string(key, pattern, what) if key in self.table else None

    def array(self, key: str, kind: type) -> list[Any]:
        values = self.value(key, list)
        if not values:
            self.fail(key, "must not be empty")
        for index, value in enumerate(values):
            if not isinstance(value, kind) or isinstance(value, bool):
                self.fail(key, f"must hold only {_PLURALS[kind]}")
            if kind is not dict and value in values[:index]:
                self.fail(key, f"duplicate entry {value!r}")
        return values

    def children(self, key: str, what: str) -> list[tuple[str, _Node]]:
        """Return the sub-tables of ``[key.<id>]`` (none when key is absent)."""
        table = self.value(key, dict) if key in self.table else {}
        parent = _Node(self.path, table, self.where(key))
        for child_id in table:
            if not _NAME.fullmatch(child_id):
                parent.fail(child_id, f"not a valid {what} (use A-Z a-z 0-9 _)")
        return [(k, parent.child(k)) for k in table]

    def child(self, key: str) -> _Node:
        return _Node(self.path, self.value(key, dict), self.where(key))


def _load(path: Path) -> _Node:
    if not path.is_file():
        raise CatalogError(path, "", "file missing")
    try:
        with path.open("rb") as fh:
            return _Node(path, tomllib.load(fh))
    except tomllib.TOMLDecodeError as exc:  # its message carries line and column
        raise CatalogError(path, "", f"invalid TOML: {exc}") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise CatalogError(path, "", f"cannot read: {exc}") from exc


def _freeze(value: Any) -> Any:
    if isinstance(value, dict):
        return MappingProxyType({k: _freeze(v) for k, v in value.items()})
    if isinstance(value, list):
        return tuple(_freeze(v) for v in value)
    return value


def _minutes(doc: _Node) -> int | None:
    if "estimated_minutes" not in doc.table:
        return None
    minutes = doc.value("estimated_minutes", int)
    if not 1 <= minutes <= _MAX_MINUTES:
        doc.fail("estimated_minutes", f"must be from 1 to {_MAX_MINUTES} minutes")
    return minutes


def _response_sets(doc: _Node) -> dict[str, ResponseSet]:
    sets = {}
    for set_id, node in doc.children("response_sets", "response set id"):
        node.keys(("kind", "codes"))
        kind = node.string("kind")
        if kind not in KNOWN_KINDS:
            node.fail(
                "kind", f"unknown kind {kind!r}, not one of {sorted(KNOWN_KINDS)}"
            )
        codes = node.array("codes", int)
        steps = {b - a for a, b in itertools.pairwise(codes)}
        # An NRS is drawn as a row of numbers, so a gap or a shuffle is a typo.
        if kind == "nrs" and steps not in ({1}, {-1}):
            node.fail("codes", "'nrs' codes must be contiguous integers in order")
        sets[set_id] = ResponseSet(set_id, kind, tuple(codes))
    if not sets:
        doc.fail("response_sets", "must not be empty")
    return sets


def _items(
    doc: _Node,
    sets: Mapping[str, ResponseSet],
    recalls: Mapping[str | None, str | None],
) -> tuple[Item, ...]:
    """The items; ``recalls`` maps each section id (None: the instrument) to its
    recall period ("none" for none)."""
    sections = tuple(s for s in recalls if s is not None)
    items: dict[str, Item] = {}
    for index, body in enumerate(doc.array("items", dict)):
        item_id = _Node(doc.path, body, f"items[{index}]").string(
            "id", _NAME, "item id"
        )
        node = _Node(doc.path, body, f"items.{item_id}")
        if item_id in items:
            node.fail("", "duplicate item id")
        node.keys(("id", "response_set"), ("section", "recall_period"))
        set_id = node.string("response_set")
        if set_id not in sets:
            node.fail("response_set", f"unknown response set {set_id!r}")
        section = node.optional("section")
        if section is not None and section not in sections:
            node.fail("section", f"unknown section {section!r}")
        recall = node.optional("recall_period", _RECALL, _RECALL_WHAT)
        recall = recall or recalls.get(section) or recalls[None]
        period = None if recall == "none" else recall
        items[item_id] = Item(item_id, index + 1, sets[set_id], section, period)
    # An unused declaration is almost always a typo in an item's reference.
    for group, ids, used in (
        ("response_sets", sets, {i.response_set.id for i in items.values()}),
        ("sections", sections, {i.section for i in items.values()}),
    ):
        for unused in (i for i in ids if i not in used):
            doc.fail(f"{group}.{unused}", "not used by any item")
    return tuple(items.values())


def _scales(doc: _Node, items: tuple[Item, ...]) -> tuple[Scale, ...]:
    known = {item.id for item in items}
    scales: dict[str, Scale] = {}
    bodies = doc.array("scales", dict) if "scales" in doc.table else []
    for index, body in enumerate(bodies):
        scale_id = _Node(doc.path, body, f"scales[{index}]").string(
            "id", _NAME, "scale id"
        )
        node = _Node(doc.path, body, f"scales.{scale_id}")
        if scale_id in scales:
            node.fail("", "duplicate scale id")
        name, method = node.string("name"), node.string("method")
        if method not in KNOWN_METHODS:
            known_methods = sorted(KNOWN_METHODS)
            node.fail(
                "method", f"unknown method {method!r}, not one of {known_methods}"
            )
        members = node.array("items", str)
        for member in members:
            if member not in known:
                node.fail("items", f"unknown item {member!r}")
        if method == "single_item" and len(members) != 1:
            node.fail("items", "method 'single_item' takes exactly one item")
        # Extra keys are the method's parameters; pro_app.scoring checks them.
        params = _freeze({k: v for k, v in body.items() if k not in _SCALE_KEYS})
        higher_is = node.optional("higher_is", _DIRECTIONS, "direction (better, worse)")
        chart = node.optional("chart", _CHARTS, "chart (t, percent, nrs)")
        if chart is not None and higher_is is None:
            node.fail("chart", "a charted scale needs higher_is")
        scales[scale_id] = Scale(
            scale_id, name, method, tuple(members), params, higher_is, chart
        )
    return tuple(scales.values())


def _wording(doc: _Node, group: str, ids: tuple[str, ...]) -> Mapping[str, str]:
    nodes = dict(doc.children(group, f"{group[:-1]} id"))
    for unknown in (k for k in nodes if k not in ids):
        doc.fail(f"{group}.{unknown}", "not declared in instrument.toml")
    texts = {}
    for id_ in ids:
        if id_ not in nodes:
            doc.fail(f"{group}.{id_}.text", "missing")
        nodes[id_].keys(("text",))
        texts[id_] = nodes[id_].string("text")
    return MappingProxyType(texts)


def _labels(doc: _Node, sets: Mapping[str, ResponseSet]) -> Mapping[str, Table]:
    nodes = dict(doc.children("response_sets", "response set id"))
    for unknown in (k for k in nodes if k not in sets):
        doc.fail(f"response_sets.{unknown}", "not declared in instrument.toml")
    result = {}
    for set_id, response_set in sets.items():
        if set_id not in nodes:
            doc.fail(f"response_sets.{set_id}.labels", "missing")
        nodes[set_id].keys(("labels",))
        labels = nodes[set_id].child("labels")
        parsed = {}
        for key in labels.table:
            if not _CODE.fullmatch(key):
                labels.fail(key, "label keys must be integer codes")
            if int(key) not in response_set.codes:
                labels.fail(key, f"not a code of the set {list(response_set.codes)}")
            parsed[int(key)] = labels.string(key)
        for code in response_set.codes:
            if code not in parsed:
                labels.fail(str(code), "missing")
        result[set_id] = MappingProxyType({c: parsed[c] for c in response_set.codes})
    return MappingProxyType(result)


def _load_text(path: Path, locale: str, inst: Instrument) -> InstrumentText:
    doc = _load(path)
    # Missing wording is reported per item, section or code, where it is fixed.
    doc.keys(("locale", "title"), ("items", "sections", "response_sets"))
    if doc.string("locale") != locale:
        doc.fail("locale", f"{doc.table['locale']!r} does not match the file name")
    return InstrumentText(
        locale=locale,
        title=doc.string("title"),
        item_texts=_wording(doc, "items", tuple(i.id for i in inst.items)),
        section_texts=_wording(doc, "sections", inst.sections),
        labels=_labels(doc, inst.response_sets),
        items=MappingProxyType({item.id: item for item in inst.items}),
    )


def _texts(directory: Path, inst: Instrument) -> Mapping[str, InstrumentText]:
    found = {}
    for path in sorted(directory.glob("text.*.toml")):
        match = _TEXT_FILE.fullmatch(path.name)
        if not match:
            raise CatalogError(path, "", "text file names must be text.<locale>.toml")
        if match["locale"] not in inst.languages:
            reason = f"locale {match['locale']!r} is not in instrument.toml languages"
            raise CatalogError(path, "", reason)
        found[match["locale"]] = path
    for locale in inst.languages:
        if locale not in found:
            path = directory / f"text.{locale}.toml"
            raise CatalogError(path, "", "file missing for a declared language")
    return MappingProxyType({x: _load_text(found[x], x, inst) for x in inst.languages})


def load_instrument(directory: Path) -> Instrument:
    """Load and validate one ``<root>/<id>/<version>/`` directory."""
    doc = _load(directory / INSTRUMENT_FILE)
    doc.keys(_REQUIRED, _OPTIONAL)
    inst_id = doc.string("id", _ID, "instrument id (a-z 0-9 _)")
    version = doc.string("version", _VERSION, "version (e.g. 1.2)")
    for key, value, expected in (
        ("id", inst_id, directory.parent.name),
        ("version", version, directory.name),
    ):
        if value != expected:
            doc.fail(key, f"{value!r} does not match the directory name {expected!r}")
    languages = doc.array("languages", str)
    for locale in languages:
        if not _LOCALE.fullmatch(locale):
            doc.fail("languages", f"{locale!r} is not a valid locale (e.g. en, pt_BR)")
    default_language = doc.string("default_language")
    if default_language not in languages:
        doc.fail("default_language", f"{default_language!r} is not in languages")
    sets = _response_sets(doc)
    section_nodes = doc.children("sections", "section id")
    recall_period = doc.optional("recall_period", _DURATION, "ISO 8601 duration")
    recalls: dict[str | None, str | None] = {None: recall_period or "none"}
    for section_id, node in section_nodes:
        node.keys((), ("recall_period",))  # wording lives in text.<locale>.toml
        recalls[section_id] = node.optional("recall_period", _RECALL, _RECALL_WHAT)
    sections = tuple(section_id for section_id, _ in section_nodes)
    items = _items(doc, sets, recalls)
    inst = Instrument(
        id=inst_id,
        version=version,
        **{key: doc.string(key) for key in _PLAIN},
        languages=tuple(languages),
        default_language=default_language,
        recall_period=recall_period,
        items=items,
        scales=_scales(doc, items),
        response_sets=MappingProxyType(sets),
        sections=sections,
        estimated_minutes=_minutes(doc),
    )
    # The owner's terms must travel with the wording they cover.
    if not (directory / LICENSE_FILE).is_file():
        raise CatalogError(directory / LICENSE_FILE, "", "file missing")
    return dataclasses.replace(inst, texts=_texts(directory, inst))


def _subdirs(directory: Path) -> list[Path]:
    return sorted(p for p in directory.iterdir() if p.is_dir() and p.name[0] != ".")


def load_catalog(root: Path | str) -> Catalog:
    """Load and validate every ``<root>/<id>/<version>/``; raise CatalogError."""
    root = Path(root)
    if not root.is_dir():
        raise CatalogError(root, "", "instrument directory not found")
    seen: dict[tuple[str, tuple[int, ...]], Path] = {}
    instruments = []
    for directory in (v for d in _subdirs(root) for v in _subdirs(d)):
        inst = load_instrument(directory)
        # "1.0" and "1.0.0" are different directories but the same version.
        key = (inst.id, version_key(re.sub(r"(\.0)+$", "", inst.version)))
        if key in seen:
            reason = f"same instrument version as {seen[key]}"
            raise CatalogError(directory / INSTRUMENT_FILE, "version", reason)
        seen[key] = directory
        instruments.append(inst)
    if not instruments:
        raise CatalogError(root, "", "no instruments found (expected <id>/<version>/)")
    instruments.sort(key=lambda i: (i.id, version_key(i.version)))
    return Catalog(tuple(instruments))
