"""Migrations build the whole schema, match the models, and downgrade cleanly."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError

from pro_app.extensions import db
from pro_app.studies.rules import AssignmentStatus
from tests.conftest import PG_URL, make_test_app


@pytest.fixture
def empty_database_url(tmp_path) -> Iterator[str]:
    """An empty database: a new SQLite file, or a new PostgreSQL database."""
    if not PG_URL:
        yield f"sqlite:///{tmp_path / 'migrations.sqlite'}"
        return
    name = f"migrations_{uuid.uuid4().hex[:12]}"
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    yield make_url(PG_URL).set(database=name).render_as_string(hide_password=False)
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
    admin.dispose()


def test_upgrade_matches_models_and_downgrades(empty_database_url):
    app = make_test_app(SQLALCHEMY_DATABASE_URI=empty_database_url)
    with app.app_context():
        upgrade()
        with db.engine.connect() as conn:
            diff = compare_metadata(
                MigrationContext.configure(
                    conn, opts={"compare_type": True, "render_as_batch": True}
                ),
                db.metadata,
            )
        assert diff == [], f"models and migrations differ: {diff}"
        # CHECK constraints are not compared above: the status list is checked here.
        checks = inspect(db.engine).get_check_constraints("assignments")
        status_check = " ".join(c["sqltext"] for c in checks)
        for status in AssignmentStatus:
            assert f"'{status.value}'" in status_check, status
        tables = set(inspect(db.engine).get_table_names())
        assert {t.name for t in db.metadata.sorted_tables} <= tables
        _assert_audit_events_are_append_only(db.engine)
        downgrade(revision="base")
        assert set(inspect(db.engine).get_table_names()) <= {"alembic_version"}
        db.engine.dispose()


def _assert_audit_events_are_append_only(engine) -> None:
    """The migration's triggers exist and refuse UPDATE and DELETE."""
    with engine.connect() as conn:
        if engine.dialect.name == "postgresql":
            found = conn.execute(
                text(
                    "SELECT tgname FROM pg_trigger WHERE NOT tgisinternal "
                    "AND tgrelid = 'audit_events'::regclass"
                )
            ).scalars()
            assert set(found) == {"audit_events_append_only"}
        else:
            found = conn.execute(
                text(
                    "SELECT name FROM sqlite_master WHERE type = 'trigger' "
                    "AND tbl_name = 'audit_events'"
                )
            ).scalars()
            assert set(found) == {"audit_events_no_update", "audit_events_no_delete"}
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO audit_events (id, occurred_at, actor, action, "
                "entity_type, prev_hash, hash) VALUES (1, CURRENT_TIMESTAMP, "
                "'system:test', 'x', 'thing', :zero, :one)"
            ),
            {"zero": "0" * 64, "one": "1" * 64},
        )
    for statement in (
        "UPDATE audit_events SET actor = 'someone'",
        "DELETE FROM audit_events",
    ):
        with pytest.raises(DBAPIError, match="append-only"), engine.begin() as conn:
            conn.execute(text(statement))
    with engine.connect() as conn:
        assert conn.execute(text("SELECT actor FROM audit_events")).all() == [
            ("system:test",)
        ]


OPENS_AT = "2026-10-19 07:00:00+00:00"
OVERRIDES = {
    "participants": {"status": "active"},
    "assignments": {"status": "open", "opens_at": OPENS_AT},
}


def _filler(column) -> object:
    kind = type(column["type"]).__name__.upper()
    if "INT" in kind:
        return 1
    if "BOOL" in kind:
        return False
    if "TIMESTAMP" in kind or "DATETIME" in kind:
        return "2026-10-20 07:00:00+00:00"
    if kind == "DATE":
        return "2026-10-19"
    if "JSON" in kind:
        return "{}"
    return "x"


def _insert_minimal_row(conn, table: str, **values: object) -> None:
    """Insert a row giving every NOT NULL column a plain value of its type."""
    row: dict[str, object] = {}
    for column in inspect(conn).get_columns(table):
        if column["nullable"] or column["name"] == "id":
            continue
        row[column["name"]] = _filler(column)
    row.update(OVERRIDES.get(table, {}), **values)
    names = ", ".join(row)
    marks = ", ".join(f":{name}" for name in row)
    # Table and column names come from the schema itself, values are bound.
    insert_sql = f"INSERT INTO {table} ({names}) VALUES ({marks})"  # noqa: S608
    conn.execute(text(insert_sql), row)


def test_outbox_window_migration_keeps_queued_messages(empty_database_url):
    """Rows queued before the outbox knew its windows get their window's opening."""
    app = make_test_app(SQLALCHEMY_DATABASE_URI=empty_database_url)
    with app.app_context():
        upgrade(revision="7ed4216a7b9c")
        with db.engine.begin() as conn:
            for table in ("studies", "sites", "timepoints", "participants"):
                _insert_minimal_row(conn, table)
            _insert_minimal_row(conn, "assignments")
            for kind in ("invitation", "reminder"):
                _insert_minimal_row(
                    conn, "outbox", kind=kind, channel="email", status="sent"
                )
        upgrade()
        with db.engine.connect() as conn:
            windows = conn.execute(
                text("SELECT kind, window_opens_at FROM outbox ORDER BY kind")
            ).all()
        assert [kind for kind, _ in windows] == ["invitation", "reminder"]
        opened = {str(when)[:19].replace("T", " ") for _, when in windows}
        assert opened == {OPENS_AT[:19]}
        downgrade(revision="7ed4216a7b9c")
        with db.engine.connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM outbox")).scalar() == 2
        db.engine.dispose()
