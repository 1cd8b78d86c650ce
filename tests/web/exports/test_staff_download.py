from __future__ import annotations

import hashlib
import io
import zipfile

import pandas as pd
import pytest
from sqlalchemy import select

from pro_app.audit.models import AuditEvent
from pro_app.audit.services import verify
from pro_app.auth.models import Role
from tests.conftest import csrf_from, login_staff
from tests.factories import make_staff
from tests.web.exports.conftest import expected_answers

ALL = [
    "csv-long",
    "csv-wide",
    "csv-questionnaire",
    "scores",
    "codebook",
    "spss",
    "stata",
]


def _url(code: str = "TEST-1") -> str:
    return f"/staff/s/{code}/export"


def _download(client, code: str = "TEST-1", **fields):
    page = client.get(_url(code))
    assert page.status_code == 200
    data = {"csrf_token": csrf_from(page.get_data(as_text=True))}
    data.update(fields)
    return client.post(_url(code), data=data)


def _exports(session) -> list[AuditEvent]:
    session.expire_all()
    return list(
        session.scalars(
            select(AuditEvent)
            .where(AuditEvent.action.like("export%"))
            .order_by(AuditEvent.id)
        )
    )


@pytest.mark.parametrize("role", [Role.DATA_MANAGER, Role.ADMIN])
def test_data_managers_and_admins_download_a_zip_of_every_format(
    client, session, world, role
):
    user = make_staff(session, role, world.study)
    login_staff(client, user.email)
    page = client.get(_url())
    html = page.get_data(as_text=True)
    assert 'aria-current="page">Export</a>' in html
    assert 'type="checkbox" value="stata"' in html
    assert "required" not in html[html.index("<h1>") :]

    response = _download(client, formats=ALL)
    assert response.status_code == 200
    assert response.mimetype == "application/zip"
    assert "attachment" in response.headers["Content-Disposition"]
    body = response.get_data()
    archive = zipfile.ZipFile(io.BytesIO(body))
    names = archive.namelist()
    assert names == [
        "TEST-1_long.csv",
        "TEST-1_wide.csv",
        "TEST-1_questionnaire.csv",
        "TEST-1_scores.csv",
        "TEST-1_codebook.csv",
        "TEST-1_codebook.html",
        "TEST-1_rand36.sav",
        "TEST-1_promis29.sav",
        "TEST-1_promis_global.sav",
        "TEST-1_rand36.dta",
        "TEST-1_promis29.dta",
        "TEST-1_promis_global.dta",
    ]
    assert archive.testzip() is None

    (event,) = _exports(session)
    assert event.action == "export"
    assert event.actor == f"staff:{user.id}"
    assert event.study_id == world.study.id
    new = event.new_value
    assert new["format"] == "zip"
    assert new["formats"] == ALL
    assert new["filters"] == {"sites": [], "timepoints": [], "instruments": []}
    # The hashes recorded are those of the bytes delivered.
    assert new["archive"]["sha256"] == hashlib.sha256(body).hexdigest()
    assert new["archive"]["bytes"] == len(body)
    assert new["archive"]["name"] in response.headers["Content-Disposition"]
    for name in names:
        digest = hashlib.sha256(archive.read(name)).hexdigest()
        assert new["files"][name] == digest, name
    answers = len(expected_answers(session, world.study))
    assert new["file_rows"]["TEST-1_long.csv"] == answers
    # One row per subject and visit: three at baseline, two at week 4.
    assert new["file_rows"]["TEST-1_wide.csv"] == 5
    assert new["file_rows"]["TEST-1_questionnaire.csv"] == len(world.submissions)
    assert new["rows"] == sum(new["file_rows"].values())
    long = pd.read_csv(archive.open("TEST-1_long.csv"), dtype=str)
    assert len(long) == answers
    assert verify(session) == []


@pytest.mark.parametrize("role", [Role.COORDINATOR, Role.INVESTIGATOR, Role.MONITOR])
def test_other_roles_cannot_export(client, session, world, role):
    user = make_staff(session, role, world.study)
    login_staff(client, user.email)
    assert client.get(_url()).status_code == 403
    token = csrf_from(client.get("/staff/account").get_data(as_text=True))
    refused = client.post(_url(), data={"csrf_token": token, "formats": ["csv-long"]})
    assert refused.status_code == 403
    dashboard = client.get("/staff/s/TEST-1/").get_data(as_text=True)
    assert "/export" not in dashboard
    assert _exports(session) == []


def test_staff_of_another_study_get_404(client, session, world):
    user = make_staff(session, Role.DATA_MANAGER, world.other)
    login_staff(client, user.email)
    assert client.get(_url()).status_code == 404
    token = csrf_from(client.get("/staff/account").get_data(as_text=True))
    assert (
        client.post(_url(), data={"csrf_token": token, "formats": ["csv-long"]})
    ).status_code == 404
    # Their own study exports only its own participant.
    body = _download(client, "OTHER-1", formats=["csv-wide"]).get_data()
    wide = pd.read_csv(
        zipfile.ZipFile(io.BytesIO(body)).open("OTHER-1_wide.csv"), dtype=str
    )
    assert list(wide["subject"]) == ["ZZ-900"]


def test_filters_narrow_the_export(client, session, world):
    user = make_staff(session, Role.DATA_MANAGER, world.study)
    login_staff(client, user.email)
    response = _download(
        client,
        sites=["02"],
        timepoints=["BL"],
        instruments=["rand36", "promis_global"],
        formats=["csv-wide", "scores"],
    )
    archive = zipfile.ZipFile(io.BytesIO(response.get_data()))
    wide = pd.read_csv(archive.open("TEST-1_wide.csv"), dtype=str)
    assert set(wide["site"]) == {"02"}
    assert set(wide["timepoint"]) == {"BL"}
    assert len(wide) == 1  # LK-002's baseline visit, both instruments in it
    assert wide[["rand36_version", "promis_global_version"]].notna().all(axis=None)
    assert not any(c.startswith("promis29_") for c in wide.columns)
    scores = pd.read_csv(archive.open("TEST-1_scores.csv"), dtype=str)
    assert set(scores["subject"]) == {"LK-002"}
    (event,) = _exports(session)
    assert event.new_value["filters"] == {
        "sites": ["02"],
        "timepoints": ["BL"],
        "instruments": ["rand36", "promis_global"],
    }


def test_a_site_limited_data_manager_exports_their_sites_only(client, session, world):
    user = make_staff(
        session, Role.DATA_MANAGER, world.study, site=world.study.sites[1]
    )
    login_staff(client, user.email)
    html = client.get(_url()).get_data(as_text=True)
    assert 'value="02"' in html
    assert 'value="01"' not in html
    body = _download(client, formats=["csv-long"]).get_data()
    long = pd.read_csv(
        zipfile.ZipFile(io.BytesIO(body)).open("TEST-1_long.csv"), dtype=str
    )
    assert set(long["site"]) == {"02"}
    # Asking for another site's data is refused, and nothing is exported.
    refused = _download(client, sites=["01"], formats=["csv-long"])
    assert refused.status_code == 400
    assert [e.new_value["filters"]["sites"] for e in _exports(session)] == [["02"]]


def test_no_format_chosen_is_a_page_error(client, session, world):
    user = make_staff(session, Role.DATA_MANAGER, world.study)
    login_staff(client, user.email)
    response = _download(client)
    assert response.status_code == 400
    assert "Choose at least one format." in response.get_data(as_text=True)
    assert _exports(session) == []


def test_a_download_cut_short_is_recorded_as_incomplete(app, client, session, world):
    user = make_staff(session, Role.DATA_MANAGER, world.study)
    login_staff(client, user.email)
    page = client.get(_url())
    response = client.post(
        _url(),
        data={
            "csrf_token": csrf_from(page.get_data(as_text=True)),
            "formats": ["csv-long", "csv-wide"],
        },
        buffered=False,
    )
    chunks = iter(response.response)
    assert next(chunks)
    response.close()
    (event,) = _exports(session)
    assert event.action == "export.incomplete"
    assert event.new_value["archive"]["sha256"] is None
    assert event.actor == f"staff:{user.id}"
