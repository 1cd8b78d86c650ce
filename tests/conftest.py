"""Shared fixtures: an app with a fresh database for every test.

SQLite (in memory) by default; set PRO_TEST_DATABASE_URL to run the same
tests against PostgreSQL (`make test` does, inside a throw-away cluster).
"""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import text
from sqlalchemy.orm import Session

from pro_app.app import create_app
from pro_app.extensions import db

PG_URL = os.environ.get("PRO_TEST_DATABASE_URL")
# Tests never read a developer's instance/config.py (secret key, cookie flags).
os.environ["PRO_INSTANCE_PATH"] = tempfile.mkdtemp(prefix="pro-app-test-instance-")


def make_test_app(**overrides: Any) -> Flask:
    """Build an app for tests (CSRF on, as in production)."""
    config: dict[str, Any] = {
        "TESTING": True,
        "SECRET_KEY": "test-secret",
        "SQLALCHEMY_DATABASE_URI": PG_URL or "sqlite://",
        "RATELIMIT_STORAGE_URI": "memory://",
    }
    config.update(overrides)
    return create_app(config)


@pytest.fixture(autouse=True, scope="session")
def _cheap_password_hashing() -> Iterator[None]:
    """Argon2 at its production cost would make each test account take ~0.1 s."""
    from argon2 import PasswordHasher

    from pro_app.auth import services

    production = services._hasher
    services._hasher = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    yield
    services._hasher = production


def login_staff(client: FlaskClient, email: str, password: str | None = None) -> Any:
    """Sign a staff member in through the real form; return the response."""
    from tests.factories import STAFF_PASSWORD

    page = client.get("/staff/login")
    return client.post(
        "/staff/login",
        data={
            "csrf_token": csrf_from(page.get_data(as_text=True)),
            "email": email,
            "password": password or STAFF_PASSWORD,
        },
    )


@pytest.fixture(scope="session")
def _pg_schema() -> Iterator[None]:
    """On PostgreSQL, build the schema once per run."""
    if not PG_URL:
        yield
        return
    app = make_test_app()
    with app.app_context():
        db.drop_all()
        db.create_all()
        db.engine.dispose()
    yield


@contextmanager
def database_app(url: str | None = None, **overrides: Any) -> Iterator[Flask]:
    """An app on a fresh database, emptied again afterwards.

    ``url`` defaults to PostgreSQL when PRO_TEST_DATABASE_URL is set, else an
    in-memory SQLite. On PostgreSQL the schema is built once per run and the
    tables are truncated after each test.
    """
    url = url or PG_URL or "sqlite://"
    app = make_test_app(SQLALCHEMY_DATABASE_URI=url, **overrides)
    with app.app_context():
        if not PG_URL:
            db.create_all()
    try:
        yield app
    finally:
        with app.app_context():
            db.session.remove()
            if PG_URL:
                tables = ", ".join(t.name for t in db.metadata.sorted_tables)
                with db.engine.begin() as conn:
                    conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
            else:
                db.drop_all()
            db.engine.dispose()


def file_database_url(tmp_path: Path) -> str | None:
    """A database that outlives its connections: PostgreSQL, or a SQLite file."""
    return PG_URL or f"sqlite:///{tmp_path / 'test.sqlite'}"


@pytest.fixture
def app(_pg_schema: None) -> Iterator[Flask]:
    """An app whose requests each run in their own app context, as in production."""
    with database_app() as app:
        yield app


@pytest.fixture
def session(app: Flask) -> Iterator[Session]:
    """The test's own database session (apart from the requests' sessions).

    Every test-client request first commits it, so what the test set up is
    visible to the request and what the request wrote is read back fresh.
    """
    with app.app_context():
        engine = db.engine
    test_session = Session(bind=engine, expire_on_commit=True)

    class CommittingClient(FlaskClient):
        def open(self, *args: Any, **kwargs: Any) -> Any:
            test_session.commit()
            return super().open(*args, **kwargs)

    app.test_client_class = CommittingClient
    yield test_session
    test_session.rollback()
    test_session.close()


@pytest.fixture
def client(app: Flask, session: Session) -> FlaskClient:
    return app.test_client()


CSRF_RE = re.compile(
    r'name="csrf_token" type="hidden" value="([^"]+)"|'
    r'name="csrf_token" value="([^"]+)"'
)


def csrf_from(html: str) -> str:
    """Return the first CSRF token in a page."""
    match = CSRF_RE.search(html)
    assert match, "no CSRF token on the page"
    return match.group(1) or match.group(2)
