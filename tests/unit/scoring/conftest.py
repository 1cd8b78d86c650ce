"""Tiny instruments in tmp_path, to test each scoring method on its own."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from pro_app.catalog import Catalog, load_catalog

Items = dict[str, list[int]]


def instrument_files(
    instrument_id: str, version: str, items: Items, scales: str
) -> tuple[str, str]:
    """Return (instrument.toml, text.en.toml) for items with the given codes."""
    sets = {tuple(codes) for codes in items.values()}
    set_ids = {codes: f"set{n}" for n, codes in enumerate(sorted(sets))}
    lines = [
        f'id = "{instrument_id}"', f'version = "{version}"', 'name = "Test instrument"',
        'short_name = "Test"', 'languages = ["en"]', 'default_language = "en"',
        'source = "Written for the scoring tests."', 'licence = "Test fixture."', "",
    ]  # fmt: skip
    for codes, set_id in set_ids.items():
        kind = "nrs" if len(codes) > 6 else "single_choice"
        lines += [
            f"[response_sets.{set_id}]",
            f'kind = "{kind}"',
            f"codes = {list(codes)}",
            "",
        ]
    for item_id, codes in items.items():
        lines += ["[[items]]", f'id = "{item_id}"',
                  f'response_set = "{set_ids[tuple(codes)]}"', ""]  # fmt: skip
    text = ['locale = "en"', 'title = "Test instrument"', ""]
    for item_id in items:
        text += [f'[items."{item_id}"]', f'text = "Item {item_id}"', ""]
    for codes, set_id in set_ids.items():
        text.append(f"[response_sets.{set_id}.labels]")
        text += [f'"{code}" = "Code {code}"' for code in codes]
        text.append("")
    return "\n".join(lines) + "\n" + scales, "\n".join(text)


@pytest.fixture
def make_catalog(tmp_path: Path) -> Callable[..., Catalog]:
    """Write a small instrument (``test 1.0`` by default) under tmp_path; load all."""

    def make(
        items: Items, scales: str, instrument_id: str = "test", version: str = "1.0"
    ) -> Catalog:
        directory = tmp_path / "instruments" / instrument_id / version
        directory.mkdir(parents=True, exist_ok=True)
        instrument, text = instrument_files(instrument_id, version, items, scales)
        (directory / "instrument.toml").write_text(instrument, encoding="utf-8")
        (directory / "text.en.toml").write_text(text, encoding="utf-8")
        (directory / "LICENSE.md").write_text("Test fixture.\n", encoding="utf-8")
        return load_catalog(tmp_path / "instruments")

    return make
