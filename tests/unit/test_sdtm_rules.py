"""The SDTM IG QS rules (``sdtm_rules.check_qs``) catch each kind of error,
and the rows the SDTM writer makes pass them."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from pro_app.catalog import load_catalog
from pro_app.config import DEFAULTS
from pro_app.exports.layout import ExportFilters, ExportPlan, SubmissionRecord
from pro_app.exports.sdtm import COLUMNS, QsRows, number_text, study_day, supp_rows
from pro_app.exports.sdtm_map import (
    MappingError,
    instruments_dir,
    load_mapping,
)
from pro_app.exports.sdtm_rules import (
    check_dm,
    check_qs,
    check_qs_dataset,
    check_supp,
    check_sv,
)

GOOD = {
    "STUDYID": "S-1",
    "DOMAIN": "QS",
    "USUBJID": "S-1-001",
    "QSSEQ": 1,
    "QSTESTCD": "R3601",
    "QSTEST": "R3601-In general, would you say",
    "QSCAT": "RAND-36 V1.0",
    "QSSCAT": "",
    "QSORRES": "Excellent",
    "QSSTRESC": "1",
    "QSSTRESN": 1.0,
    "QSSTAT": "",
    "QSREASND": "",
    "QSDRVFL": "",
    "QSEVLINT": "-P4W",
    "VISITNUM": 1,
    "VISIT": "Baseline",
    "QSDTC": "2025-03-10T10:07:00",
    "QSDY": 1,
}


def test_a_good_row_passes():
    assert check_qs([GOOD]) == []


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        ({"STUDYID": ""}, "required STUDYID"),
        ({"DOMAIN": "QX"}, "DOMAIN is not QS"),
        ({"QSTESTCD": "R36000001"}, "QSTESTCD longer than 8"),
        ({"QSTESTCD": "1BAD"}, "not a valid SAS name"),
        ({"QSTEST": "x" * 41}, "QSTEST longer than 40"),
        ({"QSORRES": "x" * 201, "QSSTRESC": "1"}, "longer than 200"),
        ({"QSSTAT": "NOT DONE"}, "NOT DONE with a result"),
        ({"QSREASND": "NOT ANSWERED"}, "QSREASND without QSSTAT"),
        ({"QSSTAT": "MISSING", "QSREASND": "x"}, "is not NOT DONE"),
        (
            {"QSSTAT": "NOT DONE", "QSORRES": "", "QSSTRESC": "", "QSSTRESN": None},
            "NOT DONE without QSREASND",
        ),
        ({"QSORRES": "", "QSSTRESC": "", "QSSTRESN": None}, "no result and no"),
        ({"QSSTRESN": 2.0}, "differs from QSSTRESC"),
        ({"QSDRVFL": "N"}, "QSDRVFL"),
        ({"QSDTC": "10/03/2025"}, "not ISO 8601"),
        ({"QSEVLINT": "4 weeks"}, "not an ISO 8601 duration"),
        ({"QSDY": 0}, "no day 0"),
    ],
)
def test_each_rule_catches_its_error(change, problem):
    problems = check_qs([{**GOOD, **change}])
    assert any(problem in p for p in problems), problems


def test_repeated_sequence_and_key_are_caught():
    again = {**GOOD, "QSTESTCD": "R3602"}
    assert any("QSSEQ 1 repeated" in p for p in check_qs([GOOD, again]))
    same_key = {**GOOD, "QSSEQ": 2}
    assert any("natural key" in p for p in check_qs([GOOD, same_key]))
    other_subject = {**GOOD, "USUBJID": "S-1-002"}
    assert check_qs([GOOD, other_subject]) == []


def test_study_day_has_no_day_zero():
    day0 = date(2025, 3, 10)
    assert study_day(day0, day0) == 1
    assert study_day(date(2025, 3, 9), day0) == -1
    assert study_day(date(2025, 4, 7), day0) == 29
    assert study_day(day0, None) is None


def test_number_text():
    assert number_text(50.0) == "50"
    assert number_text(47.35) == "47.35"


def test_every_instrument_is_mapped_within_the_limits():
    catalog = load_catalog(DEFAULTS["INSTRUMENTS_DIR"])
    for instrument in catalog.instruments:
        mapping = load_mapping(instrument, instruments_dir())
        assert set(mapping.items) == {i.id for i in instrument.items}
        assert set(mapping.scores) == {s.id for s in instrument.scales}
        assert mapping.source == "sponsor-defined"


def test_a_missing_mapping_is_refused(tmp_path):
    catalog = load_catalog(DEFAULTS["INSTRUMENTS_DIR"])
    with pytest.raises(MappingError, match="no SDTM mapping"):
        load_mapping(catalog.get("rand36"), tmp_path)


def test_writer_rows_pass_the_rules():
    catalog = load_catalog(DEFAULTS["INSTRUMENTS_DIR"])
    instrument = catalog.get("promis29")
    when = datetime(2025, 3, 10, 9, 0, tzinfo=UTC)
    plan = ExportPlan("S-1", 1, ExportFilters(), (instrument,), when)
    answers = {item.id: (item.codes[0], False) for item in instrument.items}
    answers[instrument.items[0].id] = (None, False)
    records = [
        SubmissionRecord(
            n, "01", "Europe/Berlin", subject, tp, "promis29", "2.1", "en",
            "self", when, answers, (), visit_num=visit, visit=tp,
            day0=date(2025, 3, 10),
        )
        for n, (subject, tp, visit) in enumerate(
            [("001", "BL", 1), ("001", "W4", 2), ("002", "BL", 1)]
        )
    ]  # fmt: skip
    maker = QsRows(plan)
    rows = [
        dict(zip(COLUMNS, r, strict=True)) for rec in records for r in maker.rows(rec)
    ]
    assert len(rows) == 3 * len(instrument.items)
    assert check_qs(rows) == []
    assert [r["QSSEQ"] for r in rows if r["USUBJID"] == "S-1-002"][0] == 1
    assert rows[0]["QSSTAT"] == "NOT DONE"


def test_qsevlint_comes_from_the_recall_period_not_the_mapping(tmp_path):
    catalog = load_catalog(DEFAULTS["INSTRUMENTS_DIR"])
    rand36 = catalog.get("rand36", "1.0")
    mapping = load_mapping(rand36, instruments_dir())
    assert mapping.items["3"].evlint == ""  # "Does your health now limit you"
    assert mapping.items["13"].evlint == "-P4W"  # "During the past 4 weeks"
    assert mapping.items["36"].evlint == ""  # "How TRUE or FALSE"
    assert {t.evlint for t in mapping.scores.values()} == {""}
    # A mapping that still sets its own interval is refused, saying where it lives.
    shipped = instruments_dir() / "rand36" / "1.0" / "sdtm.toml"
    copy = tmp_path / "rand36" / "1.0"
    copy.mkdir(parents=True)
    text = shipped.read_text().replace(
        'testcd = "R3603"\n', 'testcd = "R3603"\nevlint = "-P4W"\n'
    )
    (copy / "sdtm.toml").write_text(text)
    with pytest.raises(MappingError, match=r"3: unknown key 'evlint' \(QSEVLINT"):
        load_mapping(rand36, tmp_path)


def test_qstestcd_and_qstest_are_unique_over_the_whole_catalogue():
    # One QS dataset can hold every shipped instrument: each QSTESTCD once and
    # each QSTEST once, so a test's name tells it apart (RAND-36 13/17, 14/18
    # and 22/32 once shared theirs; PROMIS SEs kept "SE" within 40 characters).
    catalog = load_catalog(DEFAULTS["INSTRUMENTS_DIR"])
    codes, names = [], []
    for instrument in catalog.instruments:
        mapping = load_mapping(instrument, instruments_dir())
        for term in (
            *mapping.items.values(),
            *mapping.scores.values(),
            *mapping.score_se.values(),
        ):
            codes.append(term.testcd)
            names.append(term.test)
            assert len(term.test) <= 40
    assert len(set(codes)) == len(codes)
    assert len(set(names)) == len(names), sorted(n for n in names if names.count(n) > 1)
    for instrument in catalog.instruments:
        mapping = load_mapping(instrument, instruments_dir())
        for term in mapping.score_se.values():
            assert term.test.endswith(" SE"), term.test
    rand36 = load_mapping(catalog.get("rand36", "1.0"), instruments_dir())
    assert "Physical" in rand36.items["13"].test
    assert "Emotional" in rand36.items["17"].test


def test_a_mapping_naming_two_tests_alike_is_refused(tmp_path):
    catalog = load_catalog(DEFAULTS["INSTRUMENTS_DIR"])
    rand36 = catalog.get("rand36", "1.0")
    shipped = instruments_dir() / "rand36" / "1.0" / "sdtm.toml"
    copy = tmp_path / "rand36" / "1.0"
    copy.mkdir(parents=True)
    label = load_mapping(rand36, instruments_dir()).items["13"].test
    text = shipped.read_text().replace(
        load_mapping(rand36, instruments_dir()).items["17"].test, label
    )
    (copy / "sdtm.toml").write_text(text)
    with pytest.raises(MappingError, match="QSTEST used twice"):
        load_mapping(rand36, tmp_path)


def test_qsblfl_rules():
    flagged = {**GOOD, "QSBLFL": "Y"}
    assert check_qs_dataset([flagged]) == []
    empty = {**flagged, "QSORRES": "", "QSSTRESC": "", "QSSTRESN": None}
    empty |= {"QSSTAT": "NOT DONE", "QSREASND": "NOT ANSWERED"}
    assert any("without a result" in p for p in check_qs_dataset([empty]))
    twice = {**flagged, "QSSEQ": 2, "VISITNUM": 2}
    assert any("QSBLFL twice" in p for p in check_qs_dataset([flagged, twice]))
    assert any("neither Y" in p for p in check_qs_dataset([{**GOOD, "QSBLFL": "N"}]))
    renamed = {**GOOD, "QSSEQ": 2, "VISITNUM": 2, "QSTEST": "other"}
    assert any("has names" in p for p in check_qs_dataset([GOOD, renamed]))


DM = {
    "STUDYID": "S-1",
    "DOMAIN": "DM",
    "USUBJID": "S-1-001",
    "SUBJID": "001",
    "RFSTDTC": "2025-03-10",
    "SITEID": "01",
    "SEX": "",
    "ARMCD": "OPEN",
    "ARM": "Open-label",
    "ACTARMCD": "OPEN",
    "ACTARM": "Open-label",
    "ARMNRS": "",
    "COUNTRY": "",
    "DTHFL": "",
}


def test_dm_rules():
    assert check_dm([DM], not_collected=("SEX", "COUNTRY")) == []
    assert any("required SEX" in p for p in check_dm([DM]))
    assert any("USUBJID" in p for p in check_dm([DM, DM], ("SEX", "COUNTRY")))
    untreated = {**DM, "ACTARMCD": "", "ACTARM": ""}
    assert any("ARMNRS" in p for p in check_dm([untreated], ("SEX", "COUNTRY")))
    assert any("ISO" in p for p in check_dm([{**DM, "RFSTDTC": "10.3.25"}], ["SEX"]))


SV = {
    "STUDYID": "S-1",
    "DOMAIN": "SV",
    "USUBJID": "S-1-001",
    "VISITNUM": 1,
    "VISIT": "Baseline",
    "SVSTDTC": "2025-03-10",
    "SVENDTC": "2025-03-11",
    "SVSTDY": 1,
    "SVENDY": 2,
}


def test_sv_rules():
    assert check_sv([SV], ["S-1-001"]) == []
    assert any("repeated" in p for p in check_sv([SV, SV]))
    assert any("before" in p for p in check_sv([{**SV, "SVENDTC": "2025-03-01"}]))
    assert any("day 0" in p for p in check_sv([{**SV, "SVSTDY": 0}]))
    assert any("not in DM" in p for p in check_sv([SV], ["S-1-002"]))


def test_supp_rules():
    parent = [{**GOOD, "QSGRPID": "7"}]
    supp = {
        "STUDYID": "S-1",
        "RDOMAIN": "QS",
        "USUBJID": "S-1-001",
        "IDVAR": "QSGRPID",
        "IDVARVAL": "7",
        "QNAM": "QSMODE",
        "QLABEL": "Mode of Administration",
        "QVAL": "PAPER",
        "QORIG": "ASSIGNED",
    }
    assert check_supp([supp], parent, "QS") == []
    assert any(
        "no parent" in p for p in check_supp([{**supp, "IDVARVAL": "8"}], parent, "QS")
    )
    assert any(
        "SAS name" in p for p in check_supp([{**supp, "QNAM": "1X"}], parent, "QS")
    )
    assert any("repeated" in p for p in check_supp([supp, supp], parent, "QS"))


def test_suppqs_of_a_paper_form_names_who_entered_it_in_ascii():
    when = datetime(2025, 3, 10, 9, 0, tzinfo=UTC)
    plan = ExportPlan("S-1", 1, ExportFilters(), (), when)

    def rows(name):
        record = SubmissionRecord(
            7, "01", "UTC", "001", "BL", "rand36", "1.0", "en", "paper", when, {},
            (), entered_by="staff:3", entered_by_name=name,
        )  # fmt: skip
        return {r[5]: r[7] for r in supp_rows(plan, record)}

    assert rows("José Núñez") == {
        "QSMODE": "PAPER",
        "QSENTBY": "staff:3",
        "QSENTBYN": "Jose Nunez",
    }
    # A name in another script cannot go into XPORT v5; the account still can.
    assert rows("דנה לוי") == {"QSMODE": "PAPER", "QSENTBY": "staff:3"}
    assert all(r[3:5] == ["QSGRPID", "7"] for r in supp_rows(plan, _online(when)))


def _online(when):
    return SubmissionRecord(
        7, "01", "UTC", "001", "BL", "rand36", "1.0", "en", "self", when, {}, ()
    )
