import tomllib
from pathlib import Path

import pytest

from pro_app.catalog import load_catalog
from pro_app.studies.protocol import ProtocolError, load_protocol, parse_protocol

ROOT = Path(__file__).resolve().parents[3]
SHIPPED = ROOT / "studies" / "nct06737380.toml"


@pytest.fixture(scope="module")
def catalog():
    return load_catalog(ROOT / "instruments")


def test_the_shipped_demo_protocol_loads(catalog):
    p = load_protocol(SHIPPED, catalog)
    assert p.code == "NCT06737380"
    assert p.timezone == "Asia/Jerusalem"
    assert p.demonstration_schedule is True
    assert "demonstration" in SHIPPED.read_text().lower()
    assert [tp.code for tp in p.timepoints] == ["BL", "W4", "W12", "W24", "W52"]
    assert p.timepoints[0].day_offset < 0  # baseline before the Day 0 infusion
    for tp in p.timepoints:
        assert tp.instruments == (
            ("rand36", "1.0"),
            ("promis29", "2.1"),
            ("promis_global", "1.2"),
        )
    assert p.settings.quiet_hours == ("21:00", "08:00")
    assert p.settings.link_policy == "long_lived"
    assert p.reminders.reminder_days_after_open == (3,)
    assert p.reminders.last_call_days_before_close == 1
    settings = p.settings_dict()
    assert settings["reminders"]["invitation"] is True
    assert settings["window_opens_at"] == "00:00"


def _doc():
    return tomllib.loads(SHIPPED.read_text())


def _edit(doc, dotted, value):
    """Set (or with value None, delete) ``a.b[0].c`` in a parsed document."""
    parts = dotted.replace("[", ".").replace("]", "").split(".")
    node = doc
    for part in parts[:-1]:
        node = node[int(part)] if part.isdigit() else node[part]
    last = parts[-1]
    if value is None:
        del node[last]
    else:
        node[int(last) if last.isdigit() else last] = value
    return doc


@pytest.mark.parametrize(
    ("dotted", "value", "key", "reason"),
    [
        ("study.code", None, "study.code", "is required"),
        ("study.colour", "red", "study.colour", "is not a known key"),
        ("study.timezone", "Mars/Olympus", "study.timezone", "not an IANA time zone"),
        ("study.title", 3, "study.title", "must be a string"),
        ("settings.quiet_hours", ["21:00"], "settings.quiet_hours", "two"),
        ("settings.window_opens_at", "25:00", "settings.window_opens_at", "HH:MM"),
        ("settings.link_policy", "never", "settings.link_policy", "not one of"),
        ("settings.rand36_min_answered", "most", "settings.rand36_min_answered",
         "must be one of"),
        ("reminders.reminder_days_after_open", [0],
         "reminders.reminder_days_after_open", "positive"),
        ("sites", [], "sites", "at least one site"),
        ("sites[0].timezone", "Nowhere", "sites[0].timezone", "IANA"),
        ("sites[0].contact.email", "team.example.org", "sites[0].contact.email",
         "'team.example.org' is not an email address"),
        ("sites[0].contact.email", "team@example", "sites[0].contact.email",
         "not an email address"),
        ("sites[0].contact.phone", "03-555-0100", "sites[0].contact.phone",
         "'03-555-0100' is not a phone number with its country code"),
        ("sites[0].contact.phone", "+44 20 7946 0321 ext", "sites[0].contact.phone",
         "country code"),
        ("sites[0].contact.phone", "+1 2", "sites[0].contact.phone", "country code"),
        ("sites[0].contact.phone", 442079460321, "sites[0].contact.phone",
         "must be a string"),
        ("sites[0].contact.name", None, "sites[0].contact.name", "is required"),
        ("sites[0].contact.name", " ", "sites[0].contact.name", "non-empty"),
        ("sites[0].contact.fax", "+44 20 7946 0322", "sites[0].contact.fax",
         "is not a known key"),
        ("sites[0].contact", "Dr Cohen, 03-555-0100", "sites[0].contact",
         "must be a table"),
        ("timepoints[1].code", "BL", "timepoints[1].code", "declared twice"),
        ("timepoints[1].day_offset", "28", "timepoints[1].day_offset",
         "must be an integer"),
        ("timepoints[1].window_after", -1, "timepoints[1].window_after", "at least 0"),
        ("timepoints[2].instruments", ["rand36"], "timepoints[2].instruments[0]",
         "<id>@<version>"),
        ("timepoints[2].instruments", ["rand36@9.9"], "timepoints[2].instruments[0]",
         "not in the instrument catalogue"),
        ("timepoints[0].label", None, "timepoints[0].label", "is required"),
    ],
)  # fmt: skip
def test_each_error_names_file_key_and_reason(catalog, dotted, value, key, reason):
    doc = _edit(_doc(), dotted, value)
    with pytest.raises(ProtocolError) as err:
        parse_protocol(SHIPPED, doc, catalog)
    assert err.value.key == key
    assert reason in err.value.reason
    assert str(err.value).startswith(f"{SHIPPED}: {key}: ")


def test_a_site_contact_needs_a_phone_or_an_email(catalog):
    doc = _edit(_edit(_doc(), "sites[0].contact.phone", None),
                "sites[0].contact.email", None)  # fmt: skip
    with pytest.raises(ProtocolError) as err:
        parse_protocol(SHIPPED, doc, catalog)
    assert err.value.key == "sites[0].contact"
    assert "needs a phone number or an email address" in err.value.reason
    # Either one alone is enough; a site may have no contact at all.
    doc = _edit(_doc(), "sites[0].contact.phone", None)
    only_email = parse_protocol(SHIPPED, doc, catalog).sites[0].contact
    assert (only_email.phone, only_email.email) == (None, "study-team@example.org")
    assert parse_protocol(SHIPPED, _edit(_doc(), "sites[0].contact", None),
                          catalog).sites[0].contact is None  # fmt: skip


def test_the_shipped_contact_is_a_marked_demonstration(catalog):
    contact = load_protocol(SHIPPED, catalog).sites[0].contact
    assert contact.name == "Demo study team"
    # example.org is reserved for examples (RFC 2606); +44 20 7946 0000-0999
    # is reserved by Ofcom for drama: neither reaches anyone.
    assert contact.email.endswith("@example.org")
    digits = contact.tel_uri.removeprefix("tel:+")
    assert digits.startswith("44207946")
    assert len(digits) == 12
    assert contact.tel_uri == "tel:+442079460321"
    assert contact.mailto_uri == "mailto:study-team@example.org"
    assert "DEMONSTRATION CONTACT" in SHIPPED.read_text()


def test_invalid_toml_names_the_file(tmp_path, catalog):
    bad = tmp_path / "bad.toml"
    bad.write_text("[study\ncode = 1")
    with pytest.raises(ProtocolError, match=r"bad\.toml: \(file\): is not valid TOML"):
        load_protocol(bad, catalog)


def test_a_missing_file_is_named(tmp_path, catalog):
    with pytest.raises(ProtocolError, match="does not exist"):
        load_protocol(tmp_path / "none.toml", catalog)


def test_a_timepoint_may_override_the_reminder_plan(catalog):
    doc = _doc()
    doc["timepoints"][1]["reminders"] = {"invitation": False}
    p = parse_protocol(SHIPPED, doc, catalog)
    assert p.timepoints[1].reminders.invitation is False
    assert p.settings_dict()["timepoint_reminders"]["W4"]["invitation"] is False


def test_protocol_module_is_pure():
    import subprocess
    import sys

    code = (
        "import sys, pro_app.studies.protocol; "
        "print(sorted({'flask', 'sqlalchemy', 'wtforms'} & set(sys.modules)))"
    )
    out = subprocess.run(  # noqa: S603
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "[]"
