"""The shipped interface catalogues are complete and match the template."""

from __future__ import annotations

import re
from gettext import c2py
from importlib.metadata import version
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog, Message
from babel.messages.plurals import get_plural
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[2]
TRANSLATIONS = ROOT / "translations"
PLACEHOLDER = re.compile(r"%\(\w+\)[sd]")

# Plural forms each catalogue's header must declare, and the form each count
# must pick: CLDR's rules as the Babel pinned in requirements-test.txt has them
# (the headers are regenerated from it). Spanish: 1 one, whole millions many,
# else other; Hebrew: 1 one, 2 two, else other; Russian by n % 10 and n % 100;
# Arabic: 0 zero, 1 one, 2 two, 3-10 few, 11-99 many, 100-102 other, by n % 100.
# The rules are kept here as well, so a header cannot change meaning unseen
# (a new Babel with other rules fails here and names itself).
PLURAL_FORMS = {"es": 3, "he": 3, "ar": 6, "ru": 3}
PLURAL_RULES = {
    "es": lambda n: 0 if n == 1 else 1 if n != 0 and n % 1_000_000 == 0 else 2,
    "he": lambda n: 0 if n == 1 else 1 if n == 2 else 2,
    "ru": lambda n: (
        0
        if n % 10 == 1 and n % 100 != 11
        else 1
        if 2 <= n % 10 <= 4 and not 12 <= n % 100 <= 14
        else 2
    ),
    "ar": lambda n: (
        n if n <= 2 else 3 if 3 <= n % 100 <= 10 else 4 if 11 <= n % 100 <= 99 else 5
    ),
}
LOCALES = sorted(PLURAL_FORMS)
LOCK = ROOT / "requirements-test.txt"


def _pinned_babel() -> str:
    pin = re.search(r"^babel==(\S+)", LOCK.read_text(), re.MULTILINE)
    assert pin, f"{LOCK.name} pins no babel"
    return pin.group(1)


def _read(path: Path, locale: str | None = None) -> Catalog:
    with path.open("rb") as f:
        return read_po(f, locale=locale)


def _key(message: Message) -> str:
    return message.id if isinstance(message.id, str) else message.id[0]


def _ids(message: Message) -> tuple[str, ...]:
    return (message.id,) if isinstance(message.id, str) else tuple(message.id)


def _strings(message: Message) -> tuple[str, ...]:
    if isinstance(message.string, str):
        return (message.string,)
    return tuple(message.string)


def _placeholders(text: str) -> set[str]:
    return set(PLACEHOLDER.findall(text))


@pytest.fixture(scope="module")
def template() -> Catalog:
    return _read(TRANSLATIONS / "messages.pot")


@pytest.fixture(scope="module", params=LOCALES)
def catalogue(request: pytest.FixtureRequest) -> Catalog:
    return _read(TRANSLATIONS / request.param / "LC_MESSAGES" / "messages.po")


def _messages(catalog: Catalog) -> dict[str, Message]:
    return {_key(m): m for m in catalog if m.id}


def test_template_is_not_empty(template: Catalog) -> None:
    assert len(_messages(template)) > 0


def test_headers(catalogue: Catalog) -> None:
    pinned, installed = _pinned_babel(), version("babel")
    assert installed == pinned, (
        f"the catalogue headers are checked against Babel {pinned} (pinned in "
        f"{LOCK.name}), but Babel {installed} is installed; install the lock: "
        f".venv/bin/pip install --require-hashes -r {LOCK.name}"
    )
    locale = str(catalogue.locale)
    assert locale in PLURAL_FORMS
    assert catalogue.language_team
    assert "LANGUAGE" not in catalogue.language_team
    assert not catalogue.fuzzy
    header = dict(catalogue.mime_headers)
    assert header["Language"] == locale
    assert catalogue.num_plurals == PLURAL_FORMS[locale]
    # Compared by what the expression chooses, not how it is spelled.
    counts = [*range(1001), 1_000_000, 2_000_000, 1_000_001]
    ours = _plural_function(catalogue.plural_expr)
    rule = PLURAL_RULES[locale]
    assert [ours(n) for n in counts] == [rule(n) for n in counts]
    cldr = get_plural(locale)
    theirs = _plural_function(cldr.plural_expr)
    assert (catalogue.num_plurals, [ours(n) for n in counts]) == (
        cldr.num_plurals,
        [theirs(n) for n in counts],
    ), f"{locale}: the header differs from Babel {pinned}: {cldr.plural_forms}"


def _plural_function(expr: str):
    # A C plural expression as Python, the way gettext's own c2py reads it.
    return c2py(expr)


def test_arabic_counts_pick_the_cldr_form() -> None:
    catalogue = _read(TRANSLATIONS / "ar" / "LC_MESSAGES" / "messages.po")
    choose = _plural_function(catalogue.plural_expr)
    message = next(m for m in catalogue if m.id and "event checked" in _key(m))
    # 11 events: the accusative singular (tamyiz); 100 events: the genitive.
    assert "حدثًا" in message.string[choose(11)]
    assert "حدثًا" not in message.string[choose(100)]
    assert "حدثين" in message.string[choose(2)]


def test_every_template_message_is_translated(
    template: Catalog, catalogue: Catalog
) -> None:
    translated = _messages(catalogue)
    for key, source in _messages(template).items():
        assert key in translated, f"{catalogue.locale}: missing {key!r}"
        message = translated[key]
        assert _ids(message) == _ids(source), f"{catalogue.locale}: {key!r}"
        assert not message.fuzzy, f"{catalogue.locale}: fuzzy {key!r}"
        strings = _strings(message)
        if message.pluralizable:
            assert len(strings) == catalogue.num_plurals, key
        else:
            assert len(strings) == 1, key
        assert all(s.strip() for s in strings), f"{catalogue.locale}: {key!r}"


def test_placeholders_match(template: Catalog, catalogue: Catalog) -> None:
    translated = _messages(catalogue)
    for key, source in _messages(template).items():
        wanted = set().union(*(_placeholders(i) for i in _ids(source)))
        for string in _strings(translated[key]):
            assert _placeholders(string) == wanted, (
                f"{catalogue.locale}: {key!r} -> {string!r}"
            )
            if source.python_format:
                # A stray "%" would break %-formatting at render time.
                assert "%" not in PLACEHOLDER.sub("", string), string


def test_babel_checkers_pass(catalogue: Catalog) -> None:
    problems = [(m.id, errors) for m, errors in catalogue.check()]
    assert problems == []


def test_no_extra_or_obsolete_ids(template: Catalog, catalogue: Catalog) -> None:
    extra = set(_messages(catalogue)) - set(_messages(template))
    assert extra == set()
    assert not catalogue.obsolete
