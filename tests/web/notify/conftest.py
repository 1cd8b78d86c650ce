"""A real SMTP server, a file database and helpers for the reminder job."""

from __future__ import annotations

import email
import email.policy
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from flask import Flask
from sqlalchemy.orm import Session, sessionmaker

from pro_app.extensions import db
from pro_app.notify.senders import SmtpSender
from pro_app.notify.services import SendOptions, SendStats, plan_messages, send_due
from pro_app.participants.contact import set_contact
from pro_app.participants.models import Participant
from pro_app.studies.models import Study
from pro_app.studies.services import TimepointSpec
from tests.conftest import database_app, file_database_url
from tests.factories import make_participant, make_study


@dataclass
class Arrived:
    at: datetime
    rcpt: list[str]
    mail: EmailMessage


@dataclass
class Inbox:
    """What the SMTP server received, in order."""

    messages: list[Arrived] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_DATA(self, server, session, envelope):  # noqa: N802
        mail = email.message_from_bytes(envelope.content, policy=email.policy.default)
        with self.lock:
            self.messages.append(
                Arrived(datetime.now(UTC), list(envelope.rcpt_tos), mail)
            )
        return "250 OK"

    def to(self, address: str) -> list[Arrived]:
        return [m for m in self.messages if address in m.rcpt]

    def clear(self) -> None:
        with self.lock:
            self.messages.clear()


class LoopbackController(Controller):
    """aiosmtpd 1.4 cannot self-test a port-0 server: read the real port first."""

    def _trigger_server(self) -> None:
        self.port = self.server.sockets[0].getsockname()[1]
        super()._trigger_server()


@pytest.fixture
def smtp() -> Iterator[tuple[Inbox, SmtpSender]]:
    inbox = Inbox()
    controller = LoopbackController(inbox, hostname="127.0.0.1", port=0)
    controller.start()
    yield (
        inbox,
        SmtpSender(
            host="127.0.0.1", port=controller.port, from_addr="study@example.org"
        ),
    )
    controller.stop()


@pytest.fixture
def app(_pg_schema: None, tmp_path: Path) -> Iterator[Flask]:
    """A file database on SQLite, so threads and processes really race."""
    with database_app(
        file_database_url(tmp_path), NOTIFY_BASE_URL="https://pro.test"
    ) as app:
        yield app


def options(app: Flask, **overrides) -> SendOptions:
    args = {
        "link_base_url": app.config["NOTIFY_BASE_URL"],
        "data_key": app.config["DATA_KEY"],
        "team_contact": "Study nurse, +1 555 0100",
    }
    args.update(overrides)
    return SendOptions(**args)


def run_job(
    app: Flask,
    session: Session,
    sender,
    now: datetime,
    *,
    worker_id: str = "test",
    batch_size: int = 50,
    **overrides,
) -> SendStats:
    """What `flask notify send` does: plan, commit, then send what is due."""
    session.commit()  # release the test's own transaction (SQLite write lock)
    with app.app_context():
        factory = sessionmaker(bind=db.engine)
        with factory() as s, s.begin():
            plan_messages(s, now, data_key=app.config["DATA_KEY"], channels=("email",))
        return send_due(
            factory,
            sender,
            now,
            worker_id=worker_id,
            batch_size=batch_size,
            options=options(app, **overrides),
        )


ONE_WEEK = (TimepointSpec("BL", "Baseline", 0, 0, 6, (("rand36", "1.0"),)),)


def study_with(session: Session, timepoints=ONE_WEEK, **settings) -> Study:
    study = make_study(
        session,
        title="Ocular lymphoma CAR-T trial",
        timepoints=list(timepoints),
    )
    study.settings = settings
    study.sites[0].contact = "Study nurse, +1 555 0100"
    session.flush()
    return study


def enrol_with_email(
    app: Flask,
    session: Session,
    study: Study,
    subject_id: str,
    *,
    day0: date,
    tz: str = "UTC",
    language: str | None = None,
    email_address: str | None = None,
) -> Participant:
    participant = make_participant(
        session,
        study,
        subject_id=subject_id,
        day0=day0,
        timezone=tz,
        language=language,
    )
    set_contact(
        session,
        participant,
        email=email_address or f"{subject_id.lower()}@example.org",
        phone=None,
        data_key=app.config["DATA_KEY"],
        actor="system:test",
    )
    return participant


def at_local(day: date, hour: int, tz: str, minute: int = 0) -> datetime:
    from zoneinfo import ZoneInfo

    return datetime(
        day.year, day.month, day.day, hour, minute, tzinfo=ZoneInfo(tz)
    ).astimezone(UTC)


def hours(start: datetime, end: datetime, step: timedelta = timedelta(hours=1)):
    while start <= end:
        yield start
        start += step
