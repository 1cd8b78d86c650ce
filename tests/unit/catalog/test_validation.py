"""Each load-time rule: break the demo instrument once, check file, key and reason."""

from __future__ import annotations

import pytest

from pro_app.catalog import CatalogError, load_catalog

Q3 = 'id = "q3"\nresponse_set = "pain"'

# (old, new, expected key, expected reason substring) for edits of instrument.toml
INSTRUMENT_CASES = {
    "syntax error": (
        'name = "Demo Questionnaire"', 'name = "Demo Questionnaire', "",
        "invalid TOML: Illegal character '\\n' (at line 3",
    ),
    "missing key": ('short_name = "Demo"\n', "", "short_name", "missing"),
    "misspelt key": (
        'short_name = "Demo"', 'shortname = "Demo"', "shortname",
        "unknown key (did you mean 'short_name'?)",
    ),
    "unknown item key": (Q3, Q3.replace("response_set", "respons_set"),
                         "items.q3.respons_set", "unknown key"),
    "unknown response set key": ('kind = "nrs"', 'kind = "nrs"\nlabels = ["a"]',
                                 "response_sets.pain.labels", "unknown key"),
    "wording in a section": ("[sections.recent]", '[sections.recent]\ntext = "x"',
                             "sections.recent.text", "unknown key"),
    "string expected": ('name = "Demo Questionnaire"', "name = 3", "name",
                        "must be a string, not an integer"),
    "array expected": ('languages = ["en"]', 'languages = "en"', "languages",
                       "must be an array, not a string"),
    "integer codes": ("codes = [2, 1]", 'codes = [2, "1"]',
                      "response_sets.agree.codes", "must hold only integers"),
    "booleans are not codes": ("codes = [2, 1]", "codes = [true, false]",
                               "response_sets.agree.codes", "must hold only integers"),
    "item id not a string": ('id = "q3"', "id = 3", "items[2].id", "must be a string"),
    "invalid item id": ('id = "q3"', 'id = "q 3"', "items[2].id",
                        "not a valid item id"),
    "empty string": ('short_name = "Demo"', 'short_name = " "', "short_name",
                     "must not be empty"),
    "invalid version": ('version = "1.0"', 'version = "v1"', "version",
                        "'v1' is not a valid version"),
    "invalid locale": ('languages = ["en"]', 'languages = ["English"]', "languages",
                       "'English' is not a valid locale"),
    "default not declared": ('default_language = "en"', 'default_language = "fr"',
                             "default_language", "'fr' is not in languages"),
    "recall period not ISO 8601": ('recall_period = "P7D"', 'recall_period = "7 days"',
                                   "recall_period", "not a valid ISO 8601 duration"),
    "recall period without amount": ('recall_period = "P7D"', 'recall_period = "PT"',
                                     "recall_period", "ISO 8601"),
    "duplicate item id": ('id = "q2"', 'id = "q1"', "items.q1", "duplicate item id"),
    "duplicate code": ("codes = [2, 1]", "codes = [2, 2]",
                       "response_sets.agree.codes", "duplicate entry 2"),
    "unknown response set": (Q3, 'id = "q3"\nresponse_set = "pains"',
                             "items.q3.response_set", "unknown response set 'pains'"),
    "unknown section": ('id = "q2"\nresponse_set = "agree"\nsection = "recent"',
                        'id = "q2"\nresponse_set = "agree"\nsection = "past"',
                        "items.q2.section", "unknown section 'past'"),
    "unknown kind": ('kind = "single_choice"', 'kind = "multiple_choice"',
                     "response_sets.agree.kind", "unknown kind 'multiple_choice'"),
    "nrs with a gap": ("codes = [0, 1, 2, 3]", "codes = [0, 1, 3, 4]",
                       "response_sets.pain.codes", "contiguous"),
    "nrs out of order": ("codes = [0, 1, 2, 3]", "codes = [0, 2, 1, 3]",
                         "response_sets.pain.codes", "contiguous"),
    "nrs of one code": ("codes = [0, 1, 2, 3]", "codes = [0]",
                        "response_sets.pain.codes", "contiguous"),
    "unused response set": ("[sections.recent]",
                            '[response_sets.spare]\nkind = "nrs"\ncodes = [0, 1]\n\n'
                            "[sections.recent]",
                            "response_sets.spare", "not used by any item"),
    "unused section": ("[sections.recent]", "[sections.recent]\n[sections.later]",
                       "sections.later", "not used by any item"),
    "unknown method": ('method = "recode_average"', 'method = "mean"',
                       "scales.total.method", "unknown method 'mean'"),
    "scale with unknown item": ('items = ["q1", "q2"]', 'items = ["q1", "q9"]',
                                "scales.total.items", "unknown item 'q9'"),
    "scale with duplicate item": ('items = ["q1", "q2"]', 'items = ["q1", "q1"]',
                                  "scales.total.items", "duplicate entry 'q1'"),
    "empty scale": ('items = ["q1", "q2"]', "items = []", "scales.total.items",
                    "must not be empty"),
    "duplicate scale id": ('id = "pain"\nname = "Pain"', 'id = "total"\nname = "Pain"',
                           "scales.total", "duplicate scale id"),
    "single item scale of two": ('items = ["q3"]', 'items = ["q3", "q1"]',
                                 "scales.pain.items", "exactly one item"),
    "scale without method": ('method = "single_item"\n', "", "scales.pain.method",
                             "missing"),
    "unknown direction": ('method = "single_item"',
                          'method = "single_item"\nhigher_is = "good"',
                          "scales.pain.higher_is", "not a valid direction"),
    "unknown chart": ('method = "single_item"',
                      'method = "single_item"\nhigher_is = "worse"\nchart = "bar"',
                      "scales.pain.chart", "not a valid chart"),
    "chart without direction": ('method = "single_item"',
                                'method = "single_item"\nchart = "nrs"',
                                "scales.pain.chart", "needs higher_is"),
}  # fmt: skip

# The same for edits of text.en.toml
TEXT_CASES = {
    "syntax error": ('title = "Demo Questionnaire"', "title = Demo", "",
                     "invalid TOML: Invalid value (at line 2"),
    "locale not the file's": ('locale = "en"', 'locale = "fr"', "locale",
                              "does not match the file name"),
    "missing title": ('title = "Demo Questionnaire"\n', "", "title", "missing"),
    "misspelt key": ("title =", "titel =", "titel",
                     "unknown key (did you mean 'title'?)"),
    "missing item text": ('[items.q2]\ntext = "I slept well"\n', "", "items.q2.text",
                          "missing"),
    "empty item text": ('text = "I slept well"', 'text = ""', "items.q2.text",
                        "must not be empty"),
    "item text not a string": ('text = "I slept well"', 'text = ["I slept well"]',
                               "items.q2.text", "must be a string, not an array"),
    "extra key on an item": ('text = "I felt calm"', 'text = "I felt calm"\nhelp = "x"',
                             "items.q1.help", "unknown key"),
    "text for an unknown item": ("[items.q1]", '[items.q9]\ntext = "x"\n\n[items.q1]',
                                 "items.q9", "not declared in instrument.toml"),
    "missing section text": ('[sections.recent]\ntext = "In the past 7 days"\n', "",
                             "sections.recent.text", "missing"),
    "empty section text": ('text = "In the past 7 days"', 'text = "  "',
                           "sections.recent.text", "must not be empty"),
    "text for an unknown section": (
        "[sections.recent]", '[sections.other]\ntext = "x"\n\n[sections.recent]',
        "sections.other", "not declared in instrument.toml",
    ),
    "missing label": ('"1" = "No"\n', "", "response_sets.agree.labels.1", "missing"),
    "empty label": ('"1" = "No"', '"1" = ""', "response_sets.agree.labels.1",
                    "must not be empty"),
    "label not a string": ('"1" = "No"', '"1" = 1', "response_sets.agree.labels.1",
                           "must be a string"),
    "label for a code not in the set": ('"1" = "No"', '"1" = "No"\n"3" = "Maybe"',
                                        "response_sets.agree.labels.3",
                                        "not a code of the set [2, 1]"),
    "label key not a code": ('"1" = "No"', 'one = "No"',
                             "response_sets.agree.labels.one",
                             "label keys must be integer codes"),
    "missing labels of a set": ('[response_sets.pain.labels]\n"0" = "No pain"\n'
                                '"1" = "1"\n"2" = "2"\n"3" = "Worst pain"\n', "",
                                "response_sets.pain.labels", "missing"),
    "labels for an unknown set": ("[response_sets.agree.labels]",
                                  '[response_sets.other.labels]\n"1" = "x"\n\n'
                                  "[response_sets.agree.labels]",
                                  "response_sets.other",
                                  "not declared in instrument.toml"),
}  # fmt: skip


@pytest.mark.parametrize(
    ("old", "new", "key", "reason"),
    list(INSTRUMENT_CASES.values()),
    ids=list(INSTRUMENT_CASES),
)
def test_instrument_rule(demo, old, new, key, reason):
    demo.edit("instrument.toml", old, new)
    error = demo.error()
    assert (error.path, error.key) == (demo.dir / "instrument.toml", key)
    assert reason in error.reason


@pytest.mark.parametrize(
    ("old", "new", "key", "reason"), list(TEXT_CASES.values()), ids=list(TEXT_CASES)
)
def test_text_rule(demo, old, new, key, reason):
    demo.edit("text.en.toml", old, new)
    error = demo.error()
    assert (error.path, error.key) == (demo.dir / "text.en.toml", key)
    assert reason in error.reason


def test_every_declared_language_needs_complete_text(demo):
    demo.edit("instrument.toml", 'languages = ["en"]', 'languages = ["en", "fr"]')
    french = demo.TEXT_EN.replace('locale = "en"', 'locale = "fr"')
    demo.write("text.fr.toml", french.replace('"3" = "Worst pain"', ""))
    error = demo.error()
    assert (error.path, error.key) == (
        demo.dir / "text.fr.toml",
        "response_sets.pain.labels.3",
    )
    assert error.reason == "missing"


def test_text_file_missing_for_declared_language(demo):
    demo.edit("instrument.toml", 'languages = ["en"]', 'languages = ["en", "he"]')
    error = demo.error()
    assert (error.path, error.key) == (demo.dir / "text.he.toml", "")
    assert error.reason == "file missing for a declared language"


def test_text_file_for_undeclared_language(demo):
    demo.write("text.fr.toml", demo.TEXT_EN.replace('locale = "en"', 'locale = "fr"'))
    error = demo.error()
    assert (error.path, error.key) == (demo.dir / "text.fr.toml", "")
    assert "locale 'fr' is not in instrument.toml languages" in error.reason


def test_text_file_name_must_be_text_locale_toml(demo):
    demo.write("text.en.US.toml", demo.TEXT_EN)
    error = demo.error()
    assert error.path == demo.dir / "text.en.US.toml"
    assert "text.<locale>.toml" in error.reason


@pytest.mark.parametrize(
    ("field", "folder"), [("id", "other/1.0"), ("version", "demo/2.0")]
)
def test_folder_must_match_id_and_version(make_demo, field, folder):
    misplaced = make_demo(*folder.split("/"))  # files say id "demo", version "1.0"
    error = misplaced.error()
    assert (error.path, error.key) == (misplaced.dir / "instrument.toml", field)
    assert "does not match the directory name" in error.reason


def test_licence_file_is_required(demo):
    (demo.dir / "LICENSE.md").unlink()
    error = demo.error()
    assert (error.path, error.key, error.reason) == (
        demo.dir / "LICENSE.md",
        "",
        "file missing",
    )


def test_version_folder_without_instrument_file(demo):
    (demo.root / "demo" / "2.0").mkdir()
    error = demo.error()
    assert error.path == demo.root / "demo" / "2.0" / "instrument.toml"
    assert error.reason == "file missing"


def test_no_two_instruments_with_the_same_id_and_version(demo, make_demo):
    # 1.0 and 1.0.0 are different folders but the same version to a reader.
    twin = make_demo(version="1.0.0")
    twin.edit("instrument.toml", 'version = "1.0"', 'version = "1.0.0"')
    error = demo.error()
    assert (error.path, error.key) == (twin.dir / "instrument.toml", "version")
    assert error.reason == f"same instrument version as {demo.dir}"


def test_missing_and_empty_roots(tmp_path):
    with pytest.raises(CatalogError, match="instrument directory not found"):
        load_catalog(tmp_path / "nowhere")
    with pytest.raises(CatalogError, match="no instruments found"):
        load_catalog(tmp_path)
