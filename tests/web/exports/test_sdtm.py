"""The SDTM QS export read back (pandas for CSV, pyreadstat for XPORT v5) and
compared value by value with the database; the dataset passes the QS rules."""

from __future__ import annotations

import hashlib
import math
from pathlib import Path

import odmlib
import pandas as pd
import pyreadstat
from lxml import etree
from sqlalchemy import select

from pro_app.audit.models import AuditEvent
from pro_app.exports.sdtm_map import instruments_dir, load_mapping
from pro_app.exports.sdtm_rules import (
    check_dm,
    check_qs_dataset,
    check_supp,
    check_sv,
)
from pro_app.studies.models import Timepoint
from pro_app.surveys.models import Submission
from tests.factories import make_participant, make_staff
from tests.web.exports.conftest import (
    DAY0,
    expected_answers,
    expected_scores,
    study_day,
)


def _export(app, tmp_path, *extra):
    out = tmp_path / "sdtm"
    result = app.test_cli_runner().invoke(
        args=["export", "--study", "TEST-1", "--format", "sdtm", "--out", str(out)]
        + list(extra)
    )
    assert result.exit_code == 0, result.output
    return out


def _csv(path) -> pd.DataFrame:
    """A CSV file as text, exactly as written (no apostrophe is removed: the
    SDTM values the project writes, such as QSEVLINT -P4W, must not get one)."""
    return pd.read_csv(path, dtype=str, keep_default_na=False)


def _mappings(app, world):
    with app.app_context():
        root = instruments_dir()
    return {i.id: load_mapping(i, root) for i in world.catalog.instruments}


def _by_testcd(mappings):
    """QSTESTCD -> (instrument, item or scale id, kind)."""
    out = {}
    for instrument_id, mapping in mappings.items():
        for item_id, term in mapping.items.items():
            out[term.testcd] = (instrument_id, item_id, "item")
        for scale_id, term in mapping.scores.items():
            out[term.testcd] = (instrument_id, scale_id, "value")
        for scale_id, term in mapping.score_se.items():
            out[term.testcd] = (instrument_id, scale_id, "se")
    return out


def _blank(value) -> bool:
    return (
        value is None or value == "" or (isinstance(value, float) and math.isnan(value))
    )


def _compare(frame: pd.DataFrame, app, world, session) -> None:
    answers = expected_answers(session, world.study)
    scores = expected_scores(session, world.study)
    mappings = _mappings(app, world)
    terms = _by_testcd(mappings)
    visits = {
        t.code: (t.position, t.label)
        for t in session.scalars(
            select(Timepoint).where(Timepoint.study_id == world.study.id)
        )
    }
    by_label = {label: code for code, (_pos, label) in visits.items()}
    seen_items, seen_scores = set(), set()
    for row in frame.to_dict("records"):
        assert row["STUDYID"] == "TEST-1"
        assert row["DOMAIN"] == "QS"
        subject = row["USUBJID"].removeprefix("TEST-1-")
        tp = by_label[row["VISIT"]]
        assert float(row["VISITNUM"]) == visits[tp][0]
        instrument_id, local_id, kind = terms[row["QSTESTCD"]]
        mapping = mappings[instrument_id]
        assert row["QSCAT"] == mapping.qscat
        if kind == "item":
            fact = answers[(subject, tp, instrument_id, local_id)]
            seen_items.add((subject, tp, instrument_id, local_id))
            assert row["QSTEST"] == mapping.items[local_id].test
            assert row["QSEVLINT"] == mapping.items[local_id].evlint
            assert _blank(row["QSDRVFL"])
            if fact["code"] is None:
                assert (row["QSSTAT"], row["QSREASND"]) == ("NOT DONE", "NOT ANSWERED")
                assert _blank(row["QSORRES"])
                assert _blank(row["QSSTRESN"])
            else:
                text = world.catalog.get(instrument_id).text("en")
                assert row["QSORRES"] == text.option_label(local_id, fact["code"])
                assert float(row["QSSTRESN"]) == fact["code"]
                assert row["QSSTRESC"] == str(fact["code"])
                assert _blank(row["QSSTAT"])
            assert row["QSDTC"] == fact["qsdtc"]
            assert float(row["QSDY"]) == study_day(fact["collected_on"])
        else:
            score = scores[(subject, tp, instrument_id, local_id)]
            seen_scores.add((subject, tp, instrument_id, local_id, kind))
            assert row["QSDRVFL"] == "Y"
            want = score.value if kind == "value" else score.se
            if score.status != "ok" or want is None:
                assert row["QSSTAT"] == "NOT DONE"
                assert _blank(row["QSSTRESN"])
            else:
                assert float(row["QSSTRESN"]) == want
                assert float(row["QSORRES"]) == want
    assert seen_items == set(answers)
    want_scores = {(*k, "value") for k in scores} | {
        (*k, "se") for k, s in scores.items() if k[3] in mappings[k[2]].score_se
    }
    assert seen_scores == want_scores


def test_qs_csv_and_xpt_match_the_database(app, world, session, tmp_path):
    out = _export(app, tmp_path)
    assert sorted(p.name for p in out.iterdir()) == [
        "TEST-1_define.xml",
        "TEST-1_dm.csv",
        "TEST-1_dm.xpt",
        "TEST-1_qs.csv",
        "TEST-1_qs.xpt",
        "TEST-1_qs_define.csv",
        "TEST-1_suppqs.csv",
        "TEST-1_suppqs.xpt",
        "TEST-1_sv.csv",
        "TEST-1_sv.xpt",
    ]
    csv = _csv(out / "TEST-1_qs.csv")
    xpt, meta = pyreadstat.read_xport(str(out / "TEST-1_qs.xpt"))
    assert meta.table_name == "QS"
    assert list(xpt.columns) == list(csv.columns)
    assert all(len(name) <= 8 for name in meta.column_names)
    assert all(len(label) <= 40 for label in meta.column_labels)
    assert len(csv) == len(xpt) > 0
    _compare(csv, app, world, session)
    _compare(xpt, app, world, session)
    # The two files hold the same records.
    for a, b in zip(csv.to_dict("records"), xpt.to_dict("records"), strict=True):
        assert a["QSTESTCD"] == b["QSTESTCD"]
        assert a["USUBJID"] == b["USUBJID"]
        assert a["QSORRES"] == b["QSORRES"]


def test_qs_passes_the_qs_rules(app, world, tmp_path):
    out = _export(app, tmp_path)
    csv = _csv(out / "TEST-1_qs.csv")
    xpt, _meta = pyreadstat.read_xport(str(out / "TEST-1_qs.xpt"))
    assert check_qs_dataset(csv.to_dict("records")) == []
    assert check_qs_dataset(xpt.to_dict("records")) == []
    assert (csv["QSSTAT"] == "NOT DONE").any()  # skipped items are in the data
    assert set(csv["QSEVLINT"]) >= {"-P4W", "-P7D"}


def test_define_lists_variables_and_every_term(app, world, tmp_path):
    out = _export(app, tmp_path)
    define = _csv(out / "TEST-1_qs_define.csv")
    variables = define[(define["kind"] == "variable") & (define["dataset"] == "QS")]
    assert list(variables["name"])[:4] == ["STUDYID", "DOMAIN", "USUBJID", "QSSEQ"]
    codes = set(define[define["kind"] == "QSTESTCD"]["name"])
    csv = _csv(out / "TEST-1_qs.csv")
    assert set(csv["QSTESTCD"]) <= codes
    assert set(define[define["kind"] == "QSCAT"]["source"].str.split("; ").str[1]) == {
        "sponsor-defined"
    }


def test_export_is_audited_with_file_hashes(app, world, session, tmp_path):
    out = _export(app, tmp_path, "--instrument", "promis29")
    event = session.scalars(
        select(AuditEvent).where(AuditEvent.action == "export")
    ).all()[-1]
    assert event.new_value["format"] == "sdtm"
    for name, digest in event.new_value["files"].items():
        assert hashlib.sha256((out / name).read_bytes()).hexdigest() == digest
    csv = _csv(out / "TEST-1_qs.csv")
    assert set(csv["QSCAT"]) == {"PROMIS-29 PROFILE V2.1"}
    assert event.new_value["file_rows"]["TEST-1_qs.csv"] == len(csv)


def test_a_value_xport_v5_cannot_hold_stops_the_export_cleanly(
    app, session, world, tmp_path
):
    # SAS XPORT v5 is ASCII: an accented visit label cannot be written.
    timepoint = session.scalar(
        select(Timepoint).where(Timepoint.study_id == world.study.id)
    )
    timepoint.label = "Día 1"
    session.commit()
    out = tmp_path / "sdtm"
    result = app.test_cli_runner().invoke(
        args=["export", "--study", "TEST-1", "--format", "sdtm", "--out", str(out)]
    )
    assert result.exit_code == 1
    assert "not ASCII" in result.output
    assert "nothing was exported" in result.output
    assert "Traceback" not in result.output
    assert not (out / "TEST-1_qs.xpt").exists()
    assert (
        session.scalar(select(AuditEvent).where(AuditEvent.action == "export")) is None
    )


# RAND-36 1.0 as worded (text.en.toml): items 1-2 ask about now ("In general",
# "Compared to one year ago ... now"), 3-12 "Does your health now limit you",
# 33-36 "How TRUE or FALSE": no recall period; 13-32 "during the past 4 weeks".
RAND36_QSEVLINT = {
    **{f"R36{n:02d}": "" for n in (*range(1, 13), *range(33, 37))},
    **{f"R36{n:02d}": "-P4W" for n in range(13, 33)},
}


def test_qsevlint_of_every_rand36_item_is_its_sections_recall(app, world, tmp_path):
    out = _export(app, tmp_path, "--instrument", "rand36")
    csv = _csv(out / "TEST-1_qs.csv")
    xpt, _meta = pyreadstat.read_xport(str(out / "TEST-1_qs.xpt"))
    for frame in (csv, xpt):
        items = frame[frame["QSDRVFL"] != "Y"]
        found = dict(zip(items["QSTESTCD"], items["QSEVLINT"], strict=True))
        assert found == RAND36_QSEVLINT
        # Every record of a test carries the same interval; scores none.
        pairs = set(zip(items["QSTESTCD"], items["QSEVLINT"], strict=True))
        assert len(pairs) == 36
        assert set(frame[frame["QSDRVFL"] == "Y"]["QSEVLINT"]) == {""}


def test_qsevlint_follows_the_recall_period_of_each_promis_item(app, world, tmp_path):
    out = _export(app, tmp_path, "--instrument", "promis29")
    csv = _csv(out / "TEST-1_qs.csv")
    items = csv[csv["QSDRVFL"] != "Y"]
    found = dict(zip(items["QSTESTCD"], items["QSEVLINT"], strict=True))
    mapping = _mappings(app, world)["promis29"]
    # Physical function and social roles are printed without "In the past 7 days".
    expected = {
        term.testcd: "" if item_id.startswith(("PFA", "SRPPER")) else "-P7D"
        for item_id, term in mapping.items.items()
    }
    assert found == expected
    assert list(expected.values()).count("") == 8


def _xpt(out, name):
    frame, meta = pyreadstat.read_xport(str(out / f"TEST-1_{name}.xpt"))
    assert meta.table_name == name.upper()
    assert list(frame.columns) == list(_csv(out / f"TEST-1_{name}.csv").columns)
    return frame


def test_submission_package_as_a_user_lives_it(app, world, session, tmp_path):
    """Baseline and week-4 forms, a paper form typed in by a named coordinator,
    a participant with nothing answered yet and one whose Day 0 is still to
    come: DM, SV, SUPPQS and QSBLFL read back from the .xpt files."""
    baseline = session.scalar(
        select(Timepoint).where(
            Timepoint.study_id == world.study.id, Timepoint.code == "BL"
        )
    )
    baseline.is_baseline = True
    staff = make_staff(session, "coordinator", world.study)
    paper = session.get(Submission, world.paper_submission)
    paper.entered_by = f"staff:{staff.id}"
    make_participant(
        session, world.study, subject_id="LK-004", day0=DAY0, site=world.study.sites[1]
    )
    make_participant(session, world.study, subject_id="LK-005")  # Day 0 tomorrow
    session.commit()
    out = _export(app, tmp_path)

    qs = _xpt(out, "qs")
    dm = _xpt(out, "dm")
    sv = _xpt(out, "sv")
    supp = _xpt(out, "suppqs")

    # DM: every participant of the study once, answered or not; no stranger.
    assert list(dm["USUBJID"]) == [f"TEST-1-LK-00{n}" for n in range(1, 6)]
    rows = dm.set_index("SUBJID").to_dict("index")
    assert rows["LK-004"]["SITEID"] == "02"
    assert rows["LK-004"]["RFSTDTC"] == DAY0.isoformat()
    assert rows["LK-004"]["ACTARMCD"] == rows["LK-004"]["ARMCD"] == "OPEN"
    assert rows["LK-005"]["RFSTDTC"] == ""
    assert rows["LK-005"]["ACTARM"] == ""
    assert rows["LK-005"]["ARMNRS"] == "ASSIGNED, NOT TREATED"
    assert set(dm["SEX"]) == {""}
    assert dm["AGE"].isna().all()
    assert check_dm(dm.to_dict("records"), not_collected=("SEX", "COUNTRY")) == []
    assert any("SEX" in p for p in check_dm(dm.to_dict("records")))

    # SV: a record per subject and visit with a completed form: none for
    # LK-004, none for LK-003's week 4 (its forms are still in progress).
    visits = {(r["USUBJID"][7:], r["VISIT"]): r for r in sv.to_dict("records")}
    assert set(visits) == {
        (s, v) for s in ("LK-001", "LK-002", "LK-003") for v in ("Baseline", "Week 4")
    } - {("LK-003", "Week 4")}
    paper_day = paper.administered_on.isoformat()
    assert visits[("LK-002", "Baseline")]["SVSTDTC"] == paper_day  # typed in later
    assert visits[("LK-001", "Week 4")]["SVSTDY"] == 29
    assert check_sv(sv.to_dict("records"), set(dm["USUBJID"])) == []

    # SUPPQS: each form's mode; the paper form also who typed it in, by name.
    by_form = {}
    for row in supp.to_dict("records"):
        by_form.setdefault(row["IDVARVAL"], {})[row["QNAM"]] = row["QVAL"]
    assert set(supp["IDVAR"]) == {"QSGRPID"}
    assert by_form[str(paper.id)] == {
        "QSMODE": "PAPER",
        "QSENTBY": f"staff:{staff.id}",
        "QSENTBYN": staff.name,
    }
    online = [f for k, f in by_form.items() if k != str(paper.id)]
    assert online
    assert all(f == {"QSMODE": "SELF-ADMINISTERED ONLINE"} for f in online)
    assert set(by_form) == set(qs["QSGRPID"])
    assert check_supp(supp.to_dict("records"), qs.to_dict("records"), "QS") == []

    # QSBLFL: "Y" on exactly the baseline records that hold a result.
    has_result = qs["QSORRES"] != ""
    at_baseline = qs["VISIT"] == "Baseline"
    assert (qs["QSBLFL"] == "Y").equals(has_result & at_baseline)
    assert (at_baseline & ~has_result).any()  # a skipped item stays unflagged
    assert check_qs_dataset(qs.to_dict("records")) == []

    # The define listing names each site and says why DM's SEX is empty.
    define = _csv(out / "TEST-1_qs_define.csv")
    sites = define[define["kind"] == "SITEID"]
    assert dict(zip(sites["name"], sites["label"], strict=True)) == {
        "01": "Site one",
        "02": "Site two",
    }
    sex = define[(define["dataset"] == "DM") & (define["name"] == "SEX")]
    assert "not collected" in sex["comment"].iloc[0]


# The Define-XML 2.1 schema as CDISC publishes it, bundled with odmlib.
DEFINE_XSD = Path(odmlib.__file__).parent / "schemas/define/2.1/define2-1-0.xsd"
NS = {
    "odm": "http://www.cdisc.org/ns/odm/v1.3",
    "def": "http://www.cdisc.org/ns/def/v2.1",
    "xlink": "http://www.w3.org/1999/xlink",
}


def test_define_xml_is_valid_define_2_1_and_describes_the_data(app, world, tmp_path):
    out = _export(app, tmp_path)
    doc = etree.parse(str(out / "TEST-1_define.xml"))
    schema = etree.XMLSchema(etree.parse(str(DEFINE_XSD)))
    assert schema.validate(doc), schema.error_log
    mdv = doc.find(".//odm:MetaDataVersion", NS)
    assert mdv.get(f"{{{NS['def']}}}DefineVersion") == "2.1.0"
    standard = mdv.find("def:Standards/def:Standard", NS)
    assert (standard.get("Name"), standard.get("Version")) == ("SDTMIG", "3.3")
    # Every reference points at a definition (the schema does not check it).
    defined = {e.get("OID") for e in mdv.iter() if e.get("OID")}
    for attribute in ("ItemOID", "MethodOID", "CodeListOID", "WhereClauseOID"):
        for element in mdv.iter():
            if element.get(attribute):
                assert element.get(attribute) in defined, (attribute, element.attrib)
    for element in mdv.iter():
        oid = element.get(f"{{{NS['def']}}}CommentOID")
        assert oid is None or oid in defined
    # One dataset per .xpt file of the export, each file present.
    leaves = mdv.findall(".//def:leaf", NS)
    hrefs = {leaf.get(f"{{{NS['xlink']}}}href") for leaf in leaves}
    assert hrefs == {f"TEST-1_{d}.xpt" for d in ("qs", "suppqs", "dm", "sv")}
    assert all((out / href).exists() for href in hrefs)
    # Each variable of each dataset, in file order.
    for name in ("qs", "suppqs", "dm", "sv"):
        _frame, meta = pyreadstat.read_xport(str(out / f"TEST-1_{name}.xpt"))
        group = mdv.find(f"odm:ItemGroupDef[@Name='{name.upper()}']", NS)
        refs = [r.get("ItemOID") for r in group.findall("odm:ItemRef", NS)]
        assert refs == [f"IT.{name.upper()}.{c}" for c in meta.column_names]
    # Value-level metadata: every QSTESTCD in QS, items collected, scores derived.
    qs = _csv(out / "TEST-1_qs.csv")
    where = {
        w.get("OID"): w.findtext("odm:RangeCheck/odm:CheckValue", namespaces=NS)
        for w in mdv.findall("def:WhereClauseDef", NS)
    }
    values = mdv.findall("def:ValueListDef/odm:ItemRef", NS)
    by_code = {
        where[r.find("def:WhereClauseRef", NS).get("WhereClauseOID")]: r for r in values
    }
    assert set(qs["QSTESTCD"]) <= set(by_code)
    items = {}
    for item in mdv.findall("odm:ItemDef", NS):
        items[item.get("OID")] = item
    for code, derived in zip(qs["QSTESTCD"], qs["QSDRVFL"], strict=True):
        ref = by_code[code]
        origin = items[ref.get("ItemOID")].find("def:Origin", NS).get("Type")
        assert origin == ("Derived" if derived == "Y" else "Collected")
        assert (ref.get("MethodOID") is not None) == (derived == "Y")
    # Why SEX is empty, and the site names behind SITEID.
    sex = items["IT.DM.SEX"]
    comment_oid = sex.get(f"{{{NS['def']}}}CommentOID")
    comment = mdv.find(f"def:CommentDef[@OID='{comment_oid}']", NS)
    assert "not collected" in "".join(comment.itertext())
    sites = mdv.find("odm:CodeList[@OID='CL.SITEID']", NS)
    decoded = {
        i.get("CodedValue"): "".join(i.itertext()).strip()
        for i in sites.findall("odm:CodeListItem", NS)
    }
    assert decoded == {"01": "Site one", "02": "Site two"}
