"""A live app on 127.0.0.1 for a real browser, shared by the browser tests and
the scripts in ``benchmarks/``.

The app is the tests' app (``make_test_app``) on a throw-away SQLite file, served
by a werkzeug server thread on a port chosen at run time. Tables come from
``db.create_all()`` as in the other tests (production uses migrations).
Translations are compiled from the ``.po`` files into the same temporary
directory, so the run never depends on (or writes) build output in the tree.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from flask import Flask
from sqlalchemy import Engine
from sqlalchemy.orm import Session
from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

from pro_app.catalog import Instrument
from pro_app.config import REPO_ROOT
from pro_app.extensions import db
from pro_app.studies.models import Assignment
from pro_app.surveys import services
from tests.conftest import make_test_app
from tests.factories import make_link, make_participant, make_study

CHROMIUM = "/usr/bin/chromium"
# From /work/shared/TESTING.md: root needs --no-sandbox; the background
# networking flags keep Chromium from reaching for the (closed) network.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
PHONE: dict[str, Any] = {
    "viewport": {"width": 390, "height": 844},
    "is_mobile": True,
    "has_touch": True,
}
LOCAL_HOST = "127.0.0.1"
INVALID_LINK = "/p/not-a-real-token-000000000000000"

_serial = itertools.count(1)


class _QuietHandler(WSGIRequestHandler):
    """No access log: it would print every URL, personal links included."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        pass


def _body_in_memory(app: Any) -> Any:
    """Read each response whole and close it before the server writes a byte.

    A browser that drops a connection (a favicon it no longer wants) can make
    werkzeug's request handler fail before it closes a file response, and the
    open file then surfaces in whichever test runs next as an unraisable
    ResourceWarning. Bodies here are small, so holding them costs nothing.
    """

    def serve(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        body = app(environ, start_response)
        try:
            return [b"".join(body)]
        finally:
            if hasattr(body, "close"):
                body.close()

    return serve


def compile_translations(source: Path, target: Path) -> Path:
    """Compile every ``<locale>/LC_MESSAGES/messages.po`` under ``source``."""
    for po_path in sorted(source.glob("*/LC_MESSAGES/messages.po")):
        locale = po_path.parent.parent.name
        with po_path.open("rb") as po_file:
            catalog = read_po(po_file, locale=locale)
        mo_path = target / locale / "LC_MESSAGES" / "messages.mo"
        mo_path.parent.mkdir(parents=True, exist_ok=True)
        with mo_path.open("wb") as mo_file:
            write_mo(mo_file, catalog, use_fuzzy=True)  # as `make translations`
    return target


@dataclass(frozen=True)
class Person:
    """A participant whose baseline questionnaires are open, with a link."""

    participant_id: int
    token: str
    assignments: dict[str, int]  # instrument id -> baseline assignment id

    @property
    def link(self) -> str:
        return f"/p/{self.token}"


@dataclass
class LiveApp:
    app: Flask
    engine: Engine
    server: BaseWSGIServer
    base_url: str

    def url(self, path: str) -> str:
        return self.base_url + path

    def session(self) -> Session:
        return Session(bind=self.engine)

    def instrument(self, instrument_id: str) -> Instrument:
        catalog = self.app.extensions["pro_catalog"]
        version = {"rand36": "1.0", "promis29": "2.1", "promis_global": "1.2"}
        return catalog.get(instrument_id, version[instrument_id])

    def new_person(self, language: str | None = None) -> Person:
        """Enrol a participant in a study of their own and issue a link."""
        n = next(_serial)
        with self.session() as session:
            study = make_study(session, code=f"BROWSER-{n}")
            participant = make_participant(
                session, study, subject_id=f"BR-{n:03d}", language=language
            )
            token = make_link(session, participant)
            assignments = {
                a.instrument_id: a.id
                for a in participant.assignments
                if a.timepoint.code == "BL"
            }
            person = Person(participant.id, token, assignments)
            session.commit()
        return person

    def answer(
        self,
        person: Person,
        instrument_id: str,
        codes: dict[str, int | None],
        *,
        submit: bool = False,
        language: str = "en",
    ) -> None:
        """Store answers (and submit) through the services, without a browser."""
        instrument = self.instrument(instrument_id)
        items = {item.id: item for item in instrument.items}
        with self.session() as session:
            assignment = session.get(Assignment, person.assignments[instrument_id])
            assert assignment is not None
            submission = services.start_or_resume(
                session,
                assignment,
                language=language,
                ui_language=language,
                actor="system:test",
            )
            for item_id, code in codes.items():
                services.save_answer(
                    session, submission, items[item_id], code, actor="system:test"
                )
            if submit:
                services.submit(
                    session,
                    submission,
                    actor="system:test",
                    catalog=self.app.extensions["pro_catalog"],
                )
            session.commit()


@contextmanager
def live_app(tmp_dir: Path) -> Iterator[LiveApp]:
    """Serve a fresh app on 127.0.0.1:<free port> until the block ends."""
    translations = compile_translations(
        REPO_ROOT / "translations", tmp_dir / "translations"
    )
    app = make_test_app(
        SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_dir / 'browser.sqlite'}",
        TRANSLATIONS_DIR=str(translations),
    )
    with app.app_context():
        db.create_all()
        engine = db.engine
    server = make_server(
        LOCAL_HOST,
        0,
        _body_in_memory(app),
        threaded=True,
        request_handler=_QuietHandler,
    )
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield LiveApp(app, engine, server, f"http://{LOCAL_HOST}:{server.port}")
    finally:
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()
        with app.app_context():
            db.session.remove()
            db.engine.dispose()


def leaves_machine(url: str) -> bool:
    """Whether a request went anywhere but 127.0.0.1 (``data:`` stays local)."""
    parts = urlsplit(url)
    if parts.scheme in ("data", "blob", "about"):
        return False
    return parts.hostname != LOCAL_HOST
