"""Engine-level settings for the two supported databases."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, event


def configure_engine_events(engine: Engine) -> None:
    """Make SQLite behave for a multi-request web app.

    Foreign keys are enforced, and every transaction takes the write lock when
    it begins (BEGIN IMMEDIATE), so "read the last audit hash, then append"
    cannot interleave with another writer and a transaction never fails late
    on a stale snapshot. Transactions are short, so waiting for the lock costs
    little at pilot scale; PostgreSQL, the production database, uses row and
    advisory locks instead.
    """
    if engine.dialect.name != "sqlite":
        return

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, connection_record: Any) -> None:
        # Let SQLAlchemy, not pysqlite, decide when transactions begin.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=10000")
        if engine.url.database not in (None, "", ":memory:"):
            cursor.execute("PRAGMA journal_mode=WAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE")
