"""The LOINC data files beside the instruments (``loinc.toml``) and their loader:
every code is well formed, names an item or scale that exists, and a bad file
is refused rather than exported."""

from __future__ import annotations

import shutil
import tomllib
from pathlib import Path

import pytest

from pro_app.catalog import load_catalog
from pro_app.config import DEFAULTS
from pro_app.exports.loinc import (
    LOINC_FILE,
    LOINC_SYSTEM,
    LoincError,
    check_digit_ok,
    load_loinc,
)

ROOT = Path(DEFAULTS["INSTRUMENTS_DIR"])
CATALOG = load_catalog(ROOT)


def _files() -> list[Path]:
    return sorted(ROOT.glob(f"*/*/{LOINC_FILE}"))


def _codes(doc: dict) -> list[str]:
    entries = [doc["panel"]] if "panel" in doc else []
    entries += [*doc.get("items", {}).values(), *doc.get("scores", {}).values()]
    return [entry["code"] for entry in entries]


@pytest.mark.parametrize(
    ("code", "ok"),
    [
        ("2160-0", True),  # creatinine, the LOINC users' guide example
        ("8867-4", True),  # heart rate
        ("71971-6", True),
        ("71971-5", False),  # wrong check digit
        ("71968-5", False),  # a typo found in a public IG (71968-2 is right)
        ("7197-16", False),
        ("071971-6", False),
        ("71971", False),
        ("LA6568-5", False),  # answer codes are not accepted here
    ],
)
def test_check_digit(code, ok):
    assert check_digit_ok(code) is ok


def test_every_instrument_has_a_loinc_file():
    """Each version ships the file, even when it lists no code (RAND-36)."""
    have = {(p.parent.parent.name, p.parent.name) for p in _files()}
    assert have == {(i.id, i.version) for i in CATALOG.instruments}


@pytest.mark.parametrize("path", _files(), ids=lambda p: p.parent.parent.name)
def test_every_code_passes_the_check_digit(path):
    with open(path, "rb") as handle:
        codes = _codes(tomllib.load(handle))
    assert all(check_digit_ok(code) for code in codes), codes


def test_every_file_loads_against_its_instrument():
    """The loader checks that each item and scale id exists in the instrument."""
    loaded = {i.id: load_loinc(i, ROOT) for i in CATALOG.instruments}
    assert loaded["rand36"].panel is None
    assert not loaded["rand36"].items
    assert not loaded["rand36"].scores
    assert loaded["promis_global"].panel.code == "85524-7"
    assert loaded["promis_global"].scores["global_physical_health"].code == "71971-6"
    assert loaded["promis_global"].scores["global_mental_health"].code == "71969-0"
    assert loaded["promis29"].panel is None
    assert loaded["promis29"].scores["physical_function"].code == "91721-1"
    assert loaded["promis29"].items["EDANX01"].coding() == {
        "system": LOINC_SYSTEM,
        "code": "61923-9",
        "display": "In the past 7 days - I felt fearful",
    }
    for instrument in CATALOG.instruments:
        terms = loaded[instrument.id]
        assert set(terms.items) <= {item.id for item in instrument.items}
        assert set(terms.scores) <= {scale.id for scale in instrument.scales}
        for code in [*terms.items.values(), *terms.scores.values()]:
            assert code.display.strip()
            assert code.source.strip()


def test_no_two_items_of_an_instrument_share_a_code():
    for instrument in CATALOG.instruments:
        codes = [c.code for c in load_loinc(instrument, ROOT).items.values()]
        assert len(codes) == len(set(codes)), instrument.id


def _copy(tmp_path: Path, instrument_id: str, text: str | None) -> tuple:
    instrument = CATALOG.get(instrument_id)
    folder = tmp_path / instrument.id / instrument.version
    shutil.copytree(ROOT / instrument.id / instrument.version, folder)
    (folder / LOINC_FILE).unlink()
    if text is not None:
        (folder / LOINC_FILE).write_text(text, encoding="utf-8")
    return instrument, tmp_path


def test_a_missing_file_gives_no_codes(tmp_path):
    instrument, root = _copy(tmp_path, "promis_global", None)
    terms = load_loinc(instrument, root)
    assert terms.panel is None
    assert terms.items == {}
    assert terms.scores == {}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            '[items.Global99]\ncode = "61577-3"\ndisplay = "x"\nsource = "y"\n',
            "Global99 not in the instrument",
        ),
        (
            '[scores.nope]\ncode = "71971-6"\ndisplay = "x"\nsource = "y"\n',
            "nope not in the instrument",
        ),
        (
            '[items.Global01]\ncode = "61577-4"\ndisplay = "x"\nsource = "y"\n',
            "fails the check digit",
        ),
        (
            '[panel]\ncode = "85524-7"\ndisplay = "x"\n',
            "needs exactly code, display and source",
        ),
        (
            '[items.Global01]\ncode = "61577-3"\ndisplay = " "\nsource = "y"\n',
            "must not be empty",
        ),
    ],
)
def test_a_bad_file_is_refused(tmp_path, text, message):
    instrument, root = _copy(tmp_path, "promis_global", text)
    with pytest.raises(LoincError, match=message):
        load_loinc(instrument, root)
