"""A small valid instrument in tmp_path, for tests that break one rule at a time."""

from __future__ import annotations

from pathlib import Path

import pytest

from pro_app.catalog import Catalog, CatalogError, load_catalog

INSTRUMENT = """\
id = "demo"
version = "1.0"
name = "Demo Questionnaire"
short_name = "Demo"
languages = ["en"]
default_language = "en"
recall_period = "P7D"
source = "Written for the catalogue tests."
licence = "Test fixture, no licence."

[response_sets.agree]
kind = "single_choice"
codes = [2, 1]

[response_sets.pain]
kind = "nrs"
codes = [0, 1, 2, 3]

[sections.recent]

[[items]]
id = "q1"
response_set = "agree"
section = "recent"

[[items]]
id = "q2"
response_set = "agree"
section = "recent"

[[items]]
id = "q3"
response_set = "pain"

[[scales]]
id = "total"
name = "Total"
method = "recode_average"
items = ["q1", "q2"]
recode = { 1 = 0, 2 = 100 }

[[scales]]
id = "pain"
name = "Pain"
method = "single_item"
items = ["q3"]
"""

TEXT_EN = """\
locale = "en"
title = "Demo Questionnaire"

[sections.recent]
text = "In the past 7 days"

[items.q1]
text = "I felt calm"

[items.q2]
text = "I slept well"

[items.q3]
text = "How would you rate your pain?"

[response_sets.agree.labels]
"2" = "Yes"
"1" = "No"

[response_sets.pain.labels]
"0" = "No pain"
"1" = "1"
"2" = "2"
"3" = "Worst pain"
"""


class DemoInstrument:
    """Writes the demo instrument under ``root/<id>/<version>/`` and edits it."""

    INSTRUMENT = INSTRUMENT
    TEXT_EN = TEXT_EN

    def __init__(self, root: Path, instrument_id: str = "demo", version: str = "1.0"):
        self.root = root
        self.dir = root / instrument_id / version
        self.dir.mkdir(parents=True)
        self.write("instrument.toml", INSTRUMENT)
        self.write("text.en.toml", TEXT_EN)
        self.write("LICENSE.md", "Test fixture.\n")

    def write(self, name: str, content: str) -> Path:
        """Write one file of the instrument folder."""
        path = self.dir / name
        path.write_text(content, encoding="utf-8")
        return path

    def edit(self, name: str, old: str, new: str) -> None:
        """Replace text in a file, failing loudly if the text is not there."""
        path = self.dir / name
        content = path.read_text(encoding="utf-8")
        assert content.count(old) == 1, f"{old!r} must occur once in {name}"
        path.write_text(content.replace(old, new), encoding="utf-8")

    def load(self) -> Catalog:
        """Load the whole catalogue root."""
        return load_catalog(self.root)

    def error(self) -> CatalogError:
        """Load the catalogue and return the CatalogError it must raise."""
        with pytest.raises(CatalogError) as info:
            self.load()
        return info.value


@pytest.fixture
def make_demo(tmp_path: Path):
    """Write the demo files under ``tmp_path/instruments/<id>/<version>``."""

    def make(instrument_id: str = "demo", version: str = "1.0") -> DemoInstrument:
        return DemoInstrument(tmp_path / "instruments", instrument_id, version)

    return make


@pytest.fixture
def demo(make_demo) -> DemoInstrument:
    """A valid demo instrument at ``tmp_path/instruments/demo/1.0``."""
    return make_demo()
