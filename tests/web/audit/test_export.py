"""CSV export of the audit trail: columns, values, its own audit event."""

from __future__ import annotations

import csv
import io
import json

from sqlalchemy import select

from pro_app.audit.chain import digest
from pro_app.audit.export import CSV_COLUMNS
from pro_app.audit.models import AuditEvent
from pro_app.audit.services import record
from pro_app.auth.services import actor_for
from tests.conftest import login_staff
from tests.factories import make_link, make_participant, make_staff, make_study

URL = "/staff/s/TEST-1/audit.csv"


def _csv(response) -> list[dict[str, str]]:
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert response.headers["Content-Disposition"].startswith(
        'attachment; filename="audit-TEST-1-'
    )
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True))))
    assert tuple(rows[0]) == CSV_COLUMNS
    return [dict(zip(CSV_COLUMNS, row, strict=True)) for row in rows[1:]]


def _exports(session) -> list[AuditEvent]:
    return list(
        session.scalars(
            select(AuditEvent)
            .where(AuditEvent.action == "audit.export")
            .order_by(AuditEvent.id)
        )
    )


def _unescape(cell: str) -> str:
    return cell[1:] if cell.startswith("'") else cell


def _rehash(row: dict[str, str], study_id: int) -> str:
    """Recompute an event's hash from its CSV row alone (plus the study id)."""

    def text(name):
        return _unescape(row[name]) or None

    def value(name):
        raw = _unescape(row[name])
        return json.loads(raw) if raw else None

    return digest(
        {
            "occurred_at": row["occurred_at_utc"],
            "actor": text("actor"),
            "action": text("action"),
            "entity_type": text("entity_type"),
            "entity_id": text("entity_id"),
            "study_id": study_id,
            "old_value": value("old_value"),
            "new_value": value("new_value"),
            "reason": text("reason"),
            "ip": text("ip"),
            "user_agent": text("user_agent"),
            "prev_hash": row["prev_hash"],
        }
    )


def test_export_has_the_columns_and_is_itself_audited(client, session):
    study = make_study(session)
    coordinator = make_staff(session, "coordinator", study)
    make_participant(session, study, actor=actor_for(coordinator))
    for reason in ('=HYPERLINK("http://evil.test","x")', "'quoted", "-1+1", "@SUM"):
        record(
            session,
            actor="system:test",
            action="thing.note",
            entity_type="thing",
            entity_id="+7",
            old={"n": -1},
            new=[1, "=2"],
            reason=reason,
            study_id=study.id,
        )
    manager = make_staff(session, "data_manager", study)
    login_staff(client, manager.email)

    response = client.get(URL)
    assert response.is_streamed
    rows = _csv(response)
    (export,) = _exports(session)
    expected = session.scalars(
        select(AuditEvent)
        .where(AuditEvent.study_id == study.id, AuditEvent.id < export.id)
        .order_by(AuditEvent.id)
    ).all()
    assert [int(r["sequence"]) for r in rows] == [e.id for e in expected]
    assert export.actor == f"staff:{manager.id}"
    assert export.study_id == study.id
    assert export.new_value == {
        "filters": {},
        "rows": len(rows),
        "up_to": export.id - 1,
    }

    by_id = {int(r["sequence"]): r for r in rows}
    enrol = next(e for e in expected if e.action == "participant.enrol")
    row = by_id[enrol.id]
    assert row["actor"] == f"staff:{coordinator.id}"
    assert row["actor_name"] == coordinator.name
    assert row["entity_type"] == "participant"
    assert row["occurred_at_utc"] == enrol.occurred_at.isoformat()
    assert json.loads(row["new_value"])["subject_id"] == "LK-001"
    assert row["old_value"] == ""
    assert (row["prev_hash"], row["hash"]) == (enrol.prev_hash, enrol.hash)

    notes = [r for r in rows if r["action"] == "thing.note"]
    assert [r["reason"] for r in notes] == [
        '\'=HYPERLINK("http://evil.test","x")',
        "''quoted",
        "'-1+1",
        "'@SUM",
    ]
    assert {r["entity_id"] for r in notes} == {"'+7"}
    assert {r["new_value"] for r in notes} == {'[1,"=2"]'}
    assert {r["old_value"] for r in notes} == {'{"n":-1}'}
    # Escaping is undone by removing one apostrophe: every hash still checks.
    assert all(_rehash(r, study.id) == r["hash"] for r in rows)


def test_a_second_export_lists_the_first_with_request_details(client, session):
    study = make_study(session)
    manager = make_staff(session, "data_manager", study)
    login_staff(client, manager.email)
    _csv(client.get(URL))
    rows = _csv(client.get(URL, headers={"User-Agent": "=cmd|' /C calc'!A0"}))
    first = _exports(session)[0]
    (row,) = [r for r in rows if r["action"] == "audit.export"]
    assert int(row["sequence"]) == first.id
    assert row["ip"] == "127.0.0.1"
    assert row["user_agent"] == first.user_agent
    assert _rehash(row, study.id) == row["hash"]
    second = _exports(session)[1]
    assert second.user_agent == "=cmd|' /C calc'!A0"  # stored as sent
    assert second.new_value["rows"] == len(rows)


def test_export_applies_the_filters_and_records_them(client, session):
    study = make_study(session, sites=[("01", "Site one"), ("02", "Site two")])
    coordinator = make_staff(session, "coordinator", study)
    one = make_participant(session, study, actor=actor_for(coordinator))
    make_link(session, one)
    make_participant(session, study, subject_id="LK-002", site=study.sites[1])
    monitor = make_staff(session, "monitor", study)
    login_staff(client, monitor.email)

    rows = _csv(client.get(URL, query_string={"participant": "LK-001"}))
    assert {r["action"] for r in rows} == {"participant.enrol", "link.issue"}
    assert _exports(session)[-1].new_value["filters"] == {"participant": "LK-001"}
    assert _exports(session)[-1].new_value["rows"] == 2

    rows = _csv(client.get(URL, query_string={"actor": coordinator.email}))
    assert [r["action"] for r in rows] == ["participant.enrol"]
    recorded = _exports(session)[-1].new_value["filters"]
    assert recorded == {"actor": f"staff:{coordinator.id}"}  # not the email
