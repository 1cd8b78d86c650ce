"""The catalogue API on a small instrument written into tmp_path."""

from __future__ import annotations

import dataclasses
import pickle
import subprocess
import sys
from pathlib import Path

import pytest

from pro_app.catalog import KNOWN_METHODS, CatalogError, load_catalog

REPO = Path(__file__).parents[3]


def test_instrument_fields(demo):
    inst = demo.load().get("demo", "1.0")
    assert (inst.id, inst.version, inst.name, inst.short_name) == (
        "demo", "1.0", "Demo Questionnaire", "Demo",
    )  # fmt: skip
    assert inst.source == "Written for the catalogue tests."
    assert inst.licence == "Test fixture, no licence."
    assert inst.languages == ("en",)
    assert inst.default_language == "en"
    assert inst.recall_period == "P7D"
    assert inst.sections == ("recent",)


def test_recall_period_is_optional(demo):
    demo.edit("instrument.toml", 'recall_period = "P7D"\n', "")
    assert demo.load().get("demo").recall_period is None


@pytest.mark.parametrize("period", ["P4W", "P7D", "PT24H", "P1Y2M3DT4H5M6S", "P0D"])
def test_iso_8601_recall_periods_accepted(demo, period):
    demo.edit("instrument.toml", 'recall_period = "P7D"', f'recall_period = "{period}"')
    assert demo.load().get("demo").recall_period == period


def test_items_in_form_order(demo):
    inst = demo.load().get("demo")
    assert [(i.id, i.position) for i in inst.items] == [("q1", 1), ("q2", 2), ("q3", 3)]
    q1, q3 = inst.item("q1"), inst.item("q3")
    assert (q1.codes, q1.kind, q1.section) == ((2, 1), "single_choice", "recent")
    assert (q3.codes, q3.kind, q3.section) == ((0, 1, 2, 3), "nrs", None)
    assert q1.response_set is inst.response_sets["agree"]
    with pytest.raises(KeyError):
        inst.item("q9")


def test_text_lookups(demo):
    text = demo.load().get("demo").text("en")
    assert (text.locale, text.title) == ("en", "Demo Questionnaire")
    assert text.item_text("q2") == "I slept well"
    assert text.section_text("recent") == "In the past 7 days"
    assert text.section_text(None) is None
    assert text.section_text_for_item("q1") == "In the past 7 days"
    assert text.section_text_for_item("q3") is None
    assert text.option_label("q1", 2) == "Yes"
    # Options keep the order printed on the form, not numeric order.
    assert text.options("q1") == ((2, "Yes"), (1, "No"))
    assert text.options("q3")[-1] == (3, "Worst pain")
    with pytest.raises(KeyError):
        text.item_text("q9")
    with pytest.raises(KeyError):
        text.option_label("q1", 3)


def test_text_locale_falls_back_to_default(demo):
    demo.edit("instrument.toml", 'languages = ["en"]', 'languages = ["en", "he"]')
    hebrew = demo.TEXT_EN.replace('locale = "en"', 'locale = "he"')
    demo.write("text.he.toml", hebrew.replace("I felt calm", "הרגשתי רגוע"))
    inst = demo.load().get("demo")
    assert inst.languages == ("en", "he")
    assert inst.text_locale_for("he") == "he"
    assert inst.text_locale_for("fr") == "en"
    assert inst.text("he").item_text("q1") == "הרגשתי רגוע"
    with pytest.raises(KeyError):
        inst.text("fr")


def test_scales(demo):
    inst = demo.load().get("demo")
    total, pain = inst.scales
    assert (total.id, total.name, total.method, total.items) == (
        "total", "Total", "recode_average", ("q1", "q2"),
    )  # fmt: skip
    assert total.method in KNOWN_METHODS
    # Extra keys of a [[scales]] table are its method's parameters, read-only.
    assert dict(total.params["recode"]) == {"1": 0, "2": 100}
    with pytest.raises(TypeError):
        total.params["recode"] = {}  # type: ignore[index]
    assert dict(pain.params) == {}
    assert inst.scale("pain") is pain


def test_everything_is_frozen(demo):
    inst = demo.load().get("demo")
    with pytest.raises(dataclasses.FrozenInstanceError):
        inst.name = "Changed"  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        inst.items[0].position = 9  # type: ignore[misc]
    with pytest.raises(TypeError):
        inst.response_sets["extra"] = inst.response_sets["agree"]  # type: ignore[index]
    assert isinstance(inst.items, tuple)
    assert isinstance(inst.text("en").options("q1"), tuple)


def test_get_compares_versions_numerically(make_demo):
    for version in ("1.9", "1.10"):
        make_demo(version=version).edit(
            "instrument.toml", 'version = "1.0"', f'version = "{version}"'
        )
    other = make_demo("another")
    other.edit("instrument.toml", 'id = "demo"', 'id = "another"')
    catalog = other.load()
    assert [(i.id, i.version) for i in catalog.instruments] == [
        ("another", "1.0"), ("demo", "1.9"), ("demo", "1.10"),
    ]  # fmt: skip
    assert catalog.get("demo").version == "1.10"
    assert catalog.get("demo", "1.9").version == "1.9"
    with pytest.raises(LookupError):
        catalog.get("missing")
    with pytest.raises(LookupError):
        catalog.get("demo", "2.0")


def test_hidden_folders_and_loose_files_are_ignored(demo):
    (demo.root / ".cache" / "x").mkdir(parents=True)
    (demo.root / "README.md").write_text("notes")
    (demo.root / "demo" / "NOTES.md").write_text("notes")
    assert [i.id for i in demo.load().instruments] == ["demo"]


def test_load_catalog_accepts_a_string_path(demo):
    assert load_catalog(str(demo.root)).get("demo").id == "demo"


def test_catalog_error_names_file_key_and_reason():
    error = CatalogError(
        Path("instruments/rand36/1.0/text.en.toml"), "items.3.text", "missing"
    )
    assert str(error) == "instruments/rand36/1.0/text.en.toml: items.3.text: missing"
    assert (error.path, error.key, error.reason) == (
        Path("instruments/rand36/1.0/text.en.toml"), "items.3.text", "missing",
    )  # fmt: skip
    whole_file = CatalogError("a/b/LICENSE.md", "", "file missing")
    assert str(whole_file) == "a/b/LICENSE.md: file missing"
    copy = pickle.loads(pickle.dumps(error))  # noqa: S301 (our own object)
    assert str(copy) == str(error)


def test_catalog_is_pure():
    # A fresh interpreter: this test process may already have imported Flask.
    code = (
        "import sys, pro_app.catalog\n"
        "loaded = {'flask', 'sqlalchemy', 'wtforms'} & set(sys.modules)\n"
        "assert not loaded, loaded\n"
    )
    subprocess.run([sys.executable, "-c", code], cwd=REPO, check=True)
