"""A failed ``flask export`` leaves nothing behind: no file, no folder, no
audit event; a staff download that fails part-way is recorded as incomplete."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from pro_app.audit.models import AuditEvent
from pro_app.exports.xport import XportError
from pro_app.studies.models import Timepoint
from tests.conftest import csrf_from, login_staff
from tests.factories import make_staff


def _refuse_xport(session, world) -> None:
    # SAS XPORT v5 is ASCII (tests/unit/test_xport.py): an accented visit
    # label is refused, after the finished qs.csv has been written.
    timepoint = session.scalar(
        select(Timepoint).where(Timepoint.study_id == world.study.id)
    )
    timepoint.label = "Día 1"
    session.commit()


def _export(app, out):
    return app.test_cli_runner().invoke(
        args=["export", "--study", "TEST-1", "--format", "sdtm", "--out", str(out)]
    )


def _events(session):
    session.expire_all()
    return session.scalars(
        select(AuditEvent).where(AuditEvent.action.like("export%"))
    ).all()


def _read_all(response) -> bytes:
    return b"".join(response.response)


def test_a_refused_xport_leaves_no_file_and_no_folder(app, session, world, tmp_path):
    _refuse_xport(session, world)
    out = tmp_path / "sdtm"
    result = _export(app, out)
    assert result.exit_code == 1
    assert "TEST-1_qs.xpt" in result.output
    assert "nothing was exported" in result.output
    assert not out.exists()  # the folder the command made is gone too
    assert list(tmp_path.iterdir()) == []  # and no hidden staging folder
    assert _events(session) == []


def test_a_refused_xport_leaves_an_existing_folder_as_it_was(
    app, session, world, tmp_path
):
    _refuse_xport(session, world)
    out = tmp_path / "sdtm"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    result = _export(app, out)
    assert result.exit_code == 1
    assert [p.name for p in out.iterdir()] == ["notes.txt"]
    assert _events(session) == []


def test_a_refused_xport_keeps_an_earlier_export_untouched(
    app, session, world, tmp_path
):
    out = tmp_path / "sdtm"
    assert _export(app, out).exit_code == 0
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    assert "TEST-1_qs.csv" in before
    _refuse_xport(session, world)
    assert _export(app, out).exit_code == 1
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    assert [e.action for e in _events(session)] == ["export"]


def test_a_successful_export_leaves_no_staging_folder(app, session, world, tmp_path):
    out = tmp_path / "sdtm"
    result = _export(app, out)
    assert result.exit_code == 0, result.output
    assert not [p for p in out.iterdir() if p.name.startswith(".")]
    assert [p for p in tmp_path.iterdir()] == [out]


def test_a_zip_that_fails_part_way_is_recorded_as_incomplete(
    app, client, session, world
):
    _refuse_xport(session, world)
    user = make_staff(session, "data_manager", world.study)
    login_staff(client, user.email)
    page = client.get("/staff/s/TEST-1/export")
    # The zip is sent as it is built: the refusal comes after the response
    # has started (here, with a small study, before its first chunk).
    data = {
        "csrf_token": csrf_from(page.get_data(as_text=True)),
        "formats": ["csv-long", "sdtm"],
    }
    with pytest.raises(XportError, match="not ASCII"):
        _read_all(client.post("/staff/s/TEST-1/export", data=data, buffered=False))
    (event,) = _events(session)
    assert event.action == "export.incomplete"
    assert event.new_value["archive"]["sha256"] is None
    # The files that did go out are named with their digests; the refused
    # one is not.
    assert "TEST-1_long.csv" in event.new_value["files"]
    assert "TEST-1_qs.xpt" not in event.new_value["files"]
