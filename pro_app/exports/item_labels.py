"""Item labels that can be told apart within a dataset, at a format's limit.

Pure. Some items repeat their wording under different stems: RAND-36 13-16
and 17-19 both ask "Cut down the amount of time you spent on work...", the
first "as a result of your physical health", the second "as a result of any
emotional problems". A label of the item text alone differs only by the
item number. So every item of a section whose items share wording with
another section's gets the part of its stem that tells the sections apart,
taken from the instrument's own text (the words where the stems differ, with
a few words of the common stem before them for sense).

The qualifier follows the text in square brackets, in the longest form
that leaves every item of the instrument some room (shorter forms drop the
parentheses, then the shared words). A label over the limit (SPSS 256
bytes, Stata 80 characters) keeps its prefix and qualifier whole and
shortens the item text at a word, marked with "…"; when two shortened
texts would then read the same, both keep their beginning and end instead.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Callable

from pro_app.catalog import Instrument
from pro_app.exports.layout import LABEL_LANGUAGE

#: Words of the shared stem kept before the part that differs.
CONTEXT_WORDS = 4
#: Least room left for the item text when choosing a qualifier's length.
MIN_TEXT = 30
ELLIPSIS = "…"
_PARENTHESES = re.compile(r"\s*\([^)]*\)")

Measure = Callable[[str], int]


def _norm(text: str) -> str:
    return " ".join(text.casefold().split())


def _words_tail(text: str) -> str:
    return text.strip().rstrip("?:.,;").strip()


def stem_qualifiers(stems: dict[str, str]) -> dict[str, list[str]]:
    """Section id -> its distinguishing qualifier, longest to shortest form.

    The part of each stem after the words all stems share at the start and
    before those they share at the end, with up to ``CONTEXT_WORDS`` shared
    words before it; shorter forms drop the parentheses, then the context.
    """
    words = {key: stem.split() for key, stem in stems.items()}
    lists = list(words.values())
    prefix = 0
    while all(len(w) > prefix for w in lists) and len({w[prefix] for w in lists}) == 1:
        prefix += 1
    shortest = min(len(w) for w in lists) - prefix
    suffix = 0
    while suffix < shortest and len({w[-1 - suffix] for w in lists}) == 1:
        suffix += 1
    out = {}
    for key, w in words.items():
        own = " ".join(w[prefix : len(w) - suffix])
        context = " ".join(w[max(0, prefix - CONTEXT_WORDS) : prefix])
        forms = [_words_tail(f"{context} {own}")]
        forms.append(_words_tail(_PARENTHESES.sub("", forms[0])))
        forms.append(_words_tail(_PARENTHESES.sub("", own)))
        out[key] = [f for f in dict.fromkeys(forms) if f]
    return out


def item_qualifiers(instrument: Instrument) -> dict[str, list[str]]:
    """Item id -> qualifier forms, for the items of sections whose wording
    repeats in another section (empty for every other item)."""
    text = instrument.text(instrument.text_locale_for(LABEL_LANGUAGE))
    by_wording: dict[str, set[str]] = defaultdict(set)
    for item in instrument.items:
        if item.section is not None:
            by_wording[_norm(text.item_text(item.id))].add(item.section)
    clashing: set[str] = set()
    for sections in by_wording.values():
        if len(sections) > 1:
            clashing |= sections
    if not clashing:
        return {}
    stems = {s: text.section_text(s) or "" for s in sorted(clashing)}
    forms = stem_qualifiers(stems)
    return {
        item.id: forms[item.section]
        for item in instrument.items
        if item.section in clashing
    }


def _shorten(text: str, room: int, measure: Measure, keep_end: bool) -> str:
    """``text`` within ``room``: cut at a word and marked, or, with
    ``keep_end``, its beginning and end around the mark."""
    if measure(text) <= room:
        return text
    if keep_end:
        head, tail = text, text
        while head or tail:
            shown = f"{head.rstrip()}{ELLIPSIS}{tail.lstrip()}"
            if measure(shown) <= room:
                return shown
            if len(head) >= len(tail):
                head = head[:-1]
            else:
                tail = tail[1:]
        return ELLIPSIS
    cut = text
    while cut and measure(cut.rstrip() + ELLIPSIS) > room:
        cut = cut[: cut.rstrip().rfind(" ")] if " " in cut.rstrip() else cut[:-1]
    return cut.rstrip(" ,;:") + ELLIPSIS


def _level(parts: dict[str, tuple[str, str, list[str]]], limit: int, m: Measure) -> int:
    """The longest qualifier form every item's label has room for (one form
    for the whole instrument, so a section reads the same on each item)."""
    depth = max((len(forms) for _p, _b, forms in parts.values()), default=0)
    for level in range(depth):
        if all(
            m(prefix + _bracket(forms, level)) + MIN_TEXT <= limit
            for prefix, _body, forms in parts.values()
        ):
            return level
    return max(depth - 1, 0)


def _bracket(forms: list[str], level: int) -> str:
    return f" [{forms[min(level, len(forms) - 1)]}]" if forms else ""


def item_labels(
    instrument: Instrument, limit: int, measure: Measure = len
) -> dict[str, str]:
    """Item id -> ``"<short name> <id>: <text> [<qualifier>]"`` within
    ``limit`` (as ``measure`` counts), distinct apart from the number."""
    text = instrument.text(instrument.text_locale_for(LABEL_LANGUAGE))
    qualifiers = item_qualifiers(instrument)
    parts = {
        item.id: (
            f"{instrument.short_name} {item.id}: ",
            " ".join(text.item_text(item.id).split()),
            qualifiers.get(item.id, []),
        )
        for item in instrument.items
    }
    level = _level(parts, limit, measure)

    def compose(item_id: str, keep_end: bool) -> str:
        prefix, body, forms = parts[item_id]
        qualifier = _bracket(forms, level)
        room = limit - measure(prefix) - measure(qualifier)
        return prefix + _shorten(body, room, measure, keep_end) + qualifier

    labels = {item_id: compose(item_id, keep_end=False) for item_id in parts}
    seen: dict[str, list[str]] = defaultdict(list)
    for item_id, label in labels.items():
        seen[label[len(parts[item_id][0]) :]].append(item_id)
    for item_ids in seen.values():
        if len(item_ids) > 1:  # the cut made them alike: keep both ends
            for item_id in item_ids:
                labels[item_id] = compose(item_id, keep_end=True)
    return labels
