"""Frozen, framework-free data classes for the instrument catalogue.

Everything here is immutable (tuples and ``MappingProxyType``) so a loaded
catalogue can be shared by every request and cached without defensive copies.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

#: Scoring methods a ``[[scales]]`` table may name; ``pro_app.scoring`` implements
#: them, and the loader rejects any other name so a typo fails at start-up.
KNOWN_METHODS = frozenset(
    {"recode_average", "sum_to_t", "norm_composite", "single_item"}
)

#: Response-set kinds: radio buttons with labelled codes, or a 0-10 style scale.
KNOWN_KINDS = frozenset({"single_choice", "nrs"})


def _empty_mapping() -> Mapping[str, Any]:
    return MappingProxyType({})


def version_key(version: str) -> tuple[int, ...]:
    """Return a numerically comparable key for a dotted version ("1.10" > "1.9")."""
    return tuple(int(part) for part in version.split("."))


class CatalogError(Exception):
    """An instrument file is invalid.

    ``str()`` always reads ``<file>: <key path>: <reason>`` so the message alone
    says what to fix and where.
    """

    def __init__(self, path: Path | str, key: str, reason: str) -> None:
        """Record the offending file, the dotted key path in it and the reason."""
        # Passing all three to Exception keeps the error picklable.
        super().__init__(Path(path), key, reason)
        self.path = Path(path)
        self.key = key
        self.reason = reason

    def __str__(self) -> str:
        """Return ``<file>: <key>: <reason>`` (no key part for whole-file errors)."""
        where = f"{self.path}: {self.key}" if self.key else str(self.path)
        return f"{where}: {self.reason}"


@dataclass(frozen=True)
class ResponseSet:
    """The integer codes an item accepts, in the order printed on the form."""

    id: str
    kind: str
    codes: tuple[int, ...]


@dataclass(frozen=True)
class Item:
    """One question of an instrument; its wording lives in ``InstrumentText``."""

    id: str
    position: int
    response_set: ResponseSet
    section: str | None = None
    # The item's recall period as an ISO 8601 duration ("P7D", "P4W"), from the
    # item, else its section, else the instrument; None when its wording has none.
    recall_period: str | None = None

    @property
    def codes(self) -> tuple[int, ...]:
        """Return the valid response codes in form order."""
        return self.response_set.codes

    @property
    def kind(self) -> str:
        """Return the response kind ("single_choice" or "nrs")."""
        return self.response_set.kind


@dataclass(frozen=True)
class Scale:
    """A scoring scale: which items it uses and which method scores it."""

    id: str
    name: str
    method: str
    items: tuple[str, ...]
    # Method-specific settings (any extra keys of the [[scales]] table).
    params: Mapping[str, Any] = field(default_factory=_empty_mapping)
    # Which direction of the score is the better health state ("better": a
    # higher score is better, "worse": a higher score is worse); None when the
    # instrument file does not say. Used for change flags, never for scoring.
    higher_is: str | None = None
    # How the trial team's charts draw the scale ("t", "percent", "nrs");
    # None: not charted.
    chart: str | None = None


@dataclass(frozen=True)
class InstrumentText:
    """The validated wording of one instrument in one locale."""

    locale: str
    title: str
    item_texts: Mapping[str, str]
    section_texts: Mapping[str, str]
    # Labels by response-set id, then by code, in form order.
    labels: Mapping[str, Mapping[int, str]]
    items: Mapping[str, Item] = field(repr=False, compare=False)

    def item_text(self, item_id: str) -> str:
        """Return the wording of an item (KeyError if the item is unknown)."""
        return self.item_texts[item_id]

    def section_text(self, section_id: str | None) -> str | None:
        """Return a section's instruction or stem; None when section_id is None."""
        if section_id is None:
            return None
        return self.section_texts[section_id]

    def section_text_for_item(self, item_id: str) -> str | None:
        """Return the stem shown above an item, or None if it has no section."""
        return self.section_text(self.items[item_id].section)

    def option_label(self, item_id: str, code: int) -> str:
        """Return the label of one response code of an item."""
        return self.labels[self.items[item_id].response_set.id][code]

    def options(self, item_id: str) -> tuple[tuple[int, str], ...]:
        """Return ``(code, label)`` pairs for an item in form order."""
        return tuple(self.labels[self.items[item_id].response_set.id].items())


@dataclass(frozen=True)
class Instrument:
    """One version of one instrument: structure, scales and wording per locale."""

    id: str
    version: str
    name: str
    short_name: str
    source: str
    licence: str
    languages: tuple[str, ...]
    default_language: str
    recall_period: str | None
    items: tuple[Item, ...]
    scales: tuple[Scale, ...] = ()
    response_sets: Mapping[str, ResponseSet] = field(default_factory=_empty_mapping)
    sections: tuple[str, ...] = ()
    texts: Mapping[str, InstrumentText] = field(default_factory=_empty_mapping)
    # About how long the form takes, in whole minutes, told to the participant
    # before they start; None when the instrument file gives no estimate.
    estimated_minutes: int | None = None
    _item_index: Mapping[str, Item] = field(
        init=False, repr=False, compare=False, default_factory=_empty_mapping
    )

    def __post_init__(self) -> None:
        """Index items by id once, for ``item()``."""
        index = MappingProxyType({item.id: item for item in self.items})
        object.__setattr__(self, "_item_index", index)

    def item(self, item_id: str) -> Item:
        """Return the item with this id (KeyError if unknown)."""
        return self._item_index[item_id]

    def scale(self, scale_id: str) -> Scale:
        """Return the scale with this id (KeyError if unknown)."""
        for scale in self.scales:
            if scale.id == scale_id:
                return scale
        raise KeyError(scale_id)

    def text_locale_for(self, locale: str) -> str:
        """Return ``locale`` if validated wording exists for it, else the default."""
        return locale if locale in self.languages else self.default_language

    def text(self, locale: str) -> InstrumentText:
        """Return the wording for a locale on file (KeyError otherwise)."""
        return self.texts[locale]


@dataclass(frozen=True)
class Catalog:
    """Every instrument version on file, sorted by (id, version)."""

    instruments: tuple[Instrument, ...] = ()

    def get(self, instrument_id: str, version: str | None = None) -> Instrument:
        """Return one instrument version; the highest version when none is given.

        Raises LookupError for an unknown id or version.
        """
        matches = [i for i in self.instruments if i.id == instrument_id]
        if version is not None:
            matches = [i for i in matches if i.version == version]
        if not matches:
            wanted = instrument_id if version is None else f"{instrument_id} {version}"
            raise LookupError(f"no instrument {wanted} in the catalogue")
        return max(matches, key=lambda i: version_key(i.version))
