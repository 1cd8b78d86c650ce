"""The instruments shipped in instruments/: load, structure, codes and wording."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pro_app.catalog import load_catalog

REPO = Path(__file__).parents[3]
# A transcription of the instruments' wording (its own "about" key names the
# public copies it was taken from), kept with the tests so a clone stands alone.
REFERENCE = Path(__file__).parent / "data" / "reference_wording.json"
REFERENCE_KEYS = {
    ("rand36", "1.0"): "rand36_1.0",
    ("promis29", "2.1"): "promis29_2.1",
    ("promis_global", "1.2"): "promis_global_1.2",
}

# Where the shipped files deliberately differ from the reference transcription after
# checking an official source: (instrument, item, code) -> (transcribed, shipped).
DEVIATIONS = {
    # PROMIS's own instrument notes (nihpromis.org, "Instrument Details") give the
    # Global Health pain item as "0=No pain and 10=Worst imaginable pain", the same
    # anchor as PROMIS-29 Global07; the transcription had "Worst pain imaginable".
    ("promis_global", "Global07r", 10): (
        "Worst pain imaginable",
        "Worst imaginable pain",
    ),
}

PROMIS29_ORDER = [
    "PFA11", "PFA21", "PFA23", "PFA53",
    "EDANX01", "EDANX40", "EDANX41", "EDANX53",
    "EDDEP04", "EDDEP06", "EDDEP29", "EDDEP41",
    "HI7", "AN3", "FATEXP41", "FATEXP40",
    "Sleep109", "Sleep116", "Sleep20", "Sleep44",
    "SRPPER11_CaPS", "SRPPER18_CaPS", "SRPPER23_CaPS", "SRPPER46_CaPS",
    "PAININ9", "PAININ22", "PAININ31", "PAININ34",
    "Global07",
]  # fmt: skip
GLOBAL_ORDER = [
    "Global01", "Global02", "Global03", "Global04", "Global05",
    "Global09r", "Global06", "Global10r", "Global08r", "Global07r",
]  # fmt: skip
NRS = tuple((code, str(code)) for code in range(1, 10))
# Every RAND-36 item but item 2 (health transition) feeds PCS and MCS.
RAND_SCORED = [str(n) for n in range(1, 37) if n != 2]


@pytest.fixture(scope="module")
def catalog():
    return load_catalog(REPO / "instruments")


@pytest.fixture(scope="module")
def reference():
    assert REFERENCE.is_file(), f"{REFERENCE} is missing: it ships beside the repo"
    return json.loads(REFERENCE.read_text(encoding="utf-8"))


def reference_items(reference, key):
    entry = reference[key]
    if "items" in entry:
        return entry["items"]
    return [item for domain in entry["domains"].values() for item in domain["items"]]


def test_shipped_catalogue(catalog):
    assert [(i.id, i.version) for i in catalog.instruments] == [
        ("promis29", "2.1"), ("promis_global", "1.2"), ("rand36", "1.0"),
    ]  # fmt: skip
    for inst in catalog.instruments:
        assert inst.languages == ("en",)
        assert inst.default_language == "en"
        assert (REPO / "instruments" / inst.id / inst.version / "LICENSE.md").is_file()
    assert catalog.get("rand36").recall_period == "P4W"
    assert catalog.get("promis29").recall_period == "P7D"
    # Global Health mixes "in general" and "in the past 7 days": no single period.
    assert catalog.get("promis_global").recall_period is None


@pytest.mark.parametrize(
    ("instrument_id", "ids"),
    [
        ("rand36", [str(n) for n in range(1, 37)]),
        ("promis29", PROMIS29_ORDER),
        ("promis_global", GLOBAL_ORDER),
    ],
)
def test_items_in_official_form_order(catalog, instrument_id, ids):
    inst = catalog.get(instrument_id)
    assert [item.id for item in inst.items] == ids
    assert [item.position for item in inst.items] == list(range(1, len(ids) + 1))


@pytest.mark.parametrize(
    ("instrument_id", "item_id", "options"),
    [
        ("rand36", "1", ((1, "Excellent"), (2, "Very good"), (3, "Good"),
                         (4, "Fair"), (5, "Poor"))),
        ("rand36", "21", ((1, "None"), (2, "Very mild"), (3, "Mild"),
                          (4, "Moderate"), (5, "Severe"), (6, "Very severe"))),
        ("rand36", "32", ((1, "All of the time"), (2, "Most of the time"),
                          (3, "Some of the time"), (4, "A little of the time"),
                          (5, "None of the time"))),
        ("rand36", "13", ((1, "Yes"), (2, "No"))),
        ("promis29", "PFA11", ((5, "Without any difficulty"),
                               (4, "With a little difficulty"),
                               (3, "With some difficulty"),
                               (2, "With much difficulty"), (1, "Unable to do"))),
        ("promis29", "Sleep109", ((5, "Very poor"), (4, "Poor"), (3, "Fair"),
                                  (2, "Good"), (1, "Very good"))),
        ("promis29", "Global07", ((0, "No pain"), *NRS,
                                  (10, "Worst imaginable pain"))),
        ("promis_global", "Global01", ((5, "Excellent"), (4, "Very good"),
                                       (3, "Good"), (2, "Fair"), (1, "Poor"))),
        ("promis_global", "Global07r", ((0, "No pain"), *NRS,
                                        (10, "Worst imaginable pain"))),
        ("promis_global", "Global10r", ((5, "Never"), (4, "Rarely"),
                                        (3, "Sometimes"), (2, "Often"),
                                        (1, "Always"))),
    ],
)  # fmt: skip
def test_codes_as_printed_on_the_form(catalog, instrument_id, item_id, options):
    inst = catalog.get(instrument_id)
    assert inst.text("en").options(item_id) == options
    assert inst.item(item_id).codes == tuple(code for code, _ in options)


def test_only_the_pain_intensity_items_are_numeric_rating_scales(catalog):
    nrs = {(i.id, item.id) for i in catalog.instruments for item in i.items
           if item.kind == "nrs"}  # fmt: skip
    assert nrs == {("promis29", "Global07"), ("promis_global", "Global07r")}


@pytest.mark.parametrize(("instrument_id", "version"), list(REFERENCE_KEYS))
def test_wording_matches_the_reference(catalog, reference, instrument_id, version):
    inst = catalog.get(instrument_id, version)
    text = inst.text("en")
    expected = reference_items(reference, REFERENCE_KEYS[instrument_id, version])
    assert [item["id"] for item in expected] == [item.id for item in inst.items]
    for ref in expected:
        item_id = ref["id"]
        assert text.item_text(item_id) == ref["text"], item_id
        # A context in the transcription is the text of the item's section.
        assert text.section_text_for_item(item_id) == (ref["context"] or None), item_id
        want = tuple(
            (o["code"], DEVIATIONS.get((instrument_id, item_id, o["code"]),
                                       (None, o["label"]))[1])
            for o in ref["options"]
        )  # fmt: skip
        assert text.options(item_id) == want, item_id


@pytest.mark.parametrize(("key", "values"), list(DEVIATIONS.items()))
def test_deviations_from_the_reference_are_deliberate(catalog, reference, key, values):
    instrument_id, item_id, code = key
    transcribed, shipped = values
    ref_key = next(k for (i, _), k in REFERENCE_KEYS.items() if i == instrument_id)
    ref_item = next(
        i for i in reference_items(reference, ref_key) if i["id"] == item_id
    )
    # If the transcription is corrected, this entry should go.
    assert {o["code"]: o["label"] for o in ref_item["options"]}[code] == transcribed
    assert catalog.get(instrument_id).text("en").option_label(item_id, code) == shipped


@pytest.mark.parametrize(
    ("instrument_id", "scales"),
    [
        ("rand36", {
            "pf": ("recode_average", [str(n) for n in range(3, 13)]),
            "rp": ("recode_average", ["13", "14", "15", "16"]),
            "re": ("recode_average", ["17", "18", "19"]),
            "vt": ("recode_average", ["23", "27", "29", "31"]),
            "mh": ("recode_average", ["24", "25", "26", "28", "30"]),
            "sf": ("recode_average", ["20", "32"]),
            "bp": ("recode_average", ["21", "22"]),
            "gh": ("recode_average", ["1", "33", "34", "35", "36"]),
            # SF-36 v1 (Ware/MOS) scales feeding the PCS/MCS norms.
            "sf36v1_pf": ("recode_average", [str(n) for n in range(3, 13)]),
            "sf36v1_rp": ("recode_average", ["13", "14", "15", "16"]),
            "sf36v1_bp": ("recode_average", ["21", "22"]),
            "sf36v1_gh": ("recode_average", ["1", "33", "34", "35", "36"]),
            "sf36v1_vt": ("recode_average", ["23", "27", "29", "31"]),
            "sf36v1_sf": ("recode_average", ["20", "32"]),
            "sf36v1_re": ("recode_average", ["17", "18", "19"]),
            "sf36v1_mh": ("recode_average", ["24", "25", "26", "28", "30"]),
            "pcs": ("norm_composite", RAND_SCORED),
            "mcs": ("norm_composite", RAND_SCORED),
        }),
        ("promis29", {
            "physical_function": ("sum_to_t", PROMIS29_ORDER[0:4]),
            "anxiety": ("sum_to_t", PROMIS29_ORDER[4:8]),
            "depression": ("sum_to_t", PROMIS29_ORDER[8:12]),
            "fatigue": ("sum_to_t", PROMIS29_ORDER[12:16]),
            "sleep_disturbance": ("sum_to_t", PROMIS29_ORDER[16:20]),
            "social_roles": ("sum_to_t", PROMIS29_ORDER[20:24]),
            "pain_interference": ("sum_to_t", PROMIS29_ORDER[24:28]),
            "pain_intensity": ("single_item", ["Global07"]),
        }),
        ("promis_global", {
            "global_physical_health": (
                "sum_to_t", ["Global03", "Global06", "Global07r", "Global08r"]),
            "global_mental_health": (
                "sum_to_t", ["Global02", "Global04", "Global05", "Global10r"]),
            "global01": ("single_item", ["Global01"]),
            "global09r": ("single_item", ["Global09r"]),
        }),
    ],
)  # fmt: skip
def test_scales(catalog, instrument_id, scales):
    inst = catalog.get(instrument_id)
    got = {s.id: (s.method, list(s.items)) for s in inst.scales}
    assert got == scales
    # Scoring parameters arrive, cited, with the scorer: the PROMIS tables are checked
    # in tests/unit/scoring/test_promis_tables.py; the others have none yet.
    # RAND-36's are checked in tests/unit/scoring/test_rand36.py.
    if instrument_id not in ("promis29", "promis_global", "rand36"):
        assert all(dict(s.params) == {} for s in inst.scales)


def test_rand_item_2_is_in_no_scale(catalog):
    assert all("2" not in scale.items for scale in catalog.get("rand36").scales)
