"""The shipped interface catalogues are complete and match the template."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog, Message
from babel.messages.plurals import get_plural
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[2]
TRANSLATIONS = ROOT / "translations"
PLACEHOLDER = re.compile(r"%\(\w+\)[sd]")

# Plural forms each catalogue's header must declare, as Babel writes it
# (babel.messages.plurals; Hebrew is the gettext two-form rule, n != 1).
PLURAL_FORMS = {"es": 2, "he": 2, "ar": 6, "ru": 3}
LOCALES = sorted(PLURAL_FORMS)


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
    locale = str(catalogue.locale)
    assert locale in PLURAL_FORMS
    assert catalogue.language_team
    assert "LANGUAGE" not in catalogue.language_team
    assert not catalogue.fuzzy
    header = dict(catalogue.mime_headers)
    assert header["Language"] == locale
    assert catalogue.num_plurals == PLURAL_FORMS[locale]
    plural = get_plural(locale)
    assert catalogue.num_plurals == plural.num_plurals
    assert catalogue.plural_expr == plural.plural_expr


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
