"""The protocol's baseline timepoint: declared once, carried to the database."""

from __future__ import annotations

import tomllib

import pytest

from pro_app.config import REPO_ROOT
from pro_app.studies.protocol import ProtocolError, parse_protocol

SHIPPED = REPO_ROOT / "studies" / "nct06737380.toml"


def _shipped() -> dict:
    return tomllib.loads(SHIPPED.read_text(encoding="utf-8"))


def test_the_shipped_protocol_names_its_screening_visit_as_baseline() -> None:
    protocol = parse_protocol(SHIPPED, _shipped(), None)
    assert [t.code for t in protocol.timepoints if t.baseline] == ["BL"]


def test_a_timepoint_is_not_the_baseline_unless_it_says_so() -> None:
    data = _shipped()
    for timepoint in data["timepoints"]:
        timepoint.pop("baseline", None)
    protocol = parse_protocol(SHIPPED, data, None)
    assert not any(t.baseline for t in protocol.timepoints)


def test_two_baselines_are_refused_with_the_key_named() -> None:
    data = _shipped()
    data["timepoints"][1]["baseline"] = True
    with pytest.raises(ProtocolError, match=r"timepoints\[1\].*baseline.*only one"):
        parse_protocol(SHIPPED, data, None)


def test_baseline_must_be_true_or_false() -> None:
    data = _shipped()
    data["timepoints"][0]["baseline"] = "yes"
    with pytest.raises(ProtocolError, match="baseline"):
        parse_protocol(SHIPPED, data, None)
