"""Helpers shared by the paper-entry, correction and lock tests."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from pro_app.catalog import Catalog, Instrument
from pro_app.participants.models import Participant
from pro_app.studies.models import Assignment
from pro_app.surveys.models import Submission
from pro_app.surveys.services import save_answer, start_or_resume, submit
from pro_app.web import current_catalog
from tests.conftest import csrf_from, login_staff
from tests.factories import make_staff


def catalog_of(app: Flask) -> Catalog:
    with app.app_context():
        return current_catalog()


def baseline(
    session: Session, participant: Participant, instrument_id: str
) -> Assignment:
    return session.scalar(
        select(Assignment).where(
            Assignment.participant_id == participant.id,
            Assignment.instrument_id == instrument_id,
            Assignment.timepoint.has(code="BL"),
        )
    )


def assignment_of(
    session: Session, participant: Participant, timepoint: str, instrument_id: str
) -> Assignment:
    """The participant's assignment of one instrument at one timepoint."""
    return session.scalar(
        select(Assignment).where(
            Assignment.participant_id == participant.id,
            Assignment.instrument_id == instrument_id,
            Assignment.timepoint.has(code=timepoint),
        )
    )


def complete_at(
    session: Session,
    assignment: Assignment,
    catalog: Catalog,
    now: datetime,
    codes: dict[str, int | None] | None = None,
) -> Submission:
    """Answer every item online (first code unless given) and submit, at ``now``."""
    actor = f"participant:{assignment.participant_id}"
    instrument = catalog.get(assignment.instrument_id, assignment.instrument_version)
    sub = start_or_resume(
        session, assignment, language="en", ui_language="en", actor=actor, now=now
    )
    for item in instrument.items:
        code = (codes or {}).get(item.id, item.codes[0])
        save_answer(session, sub, item, code, actor=actor, now=now)
    assert submit(session, sub, actor=actor, catalog=catalog, now=now)
    return sub


def sign_in(client: FlaskClient, session: Session, role: str, study: Any, **kw: Any):
    user = make_staff(session, role, study, **kw)
    assert login_staff(client, user.email).status_code == 302
    return user


def paper_url(study_code: str, assignment_id: int) -> str:
    return f"/staff/s/{study_code}/assignments/{assignment_id}/paper"


def correct_url(study_code: str, submission_id: int) -> str:
    return f"/staff/s/{study_code}/submissions/{submission_id}/correct"


def varied_codes(instrument: Instrument) -> dict[str, int | None]:
    """A plausible mix: codes cycle through each item's set; every 7th blank."""
    codes: dict[str, int | None] = {}
    for n, item in enumerate(instrument.items):
        codes[item.id] = None if n % 7 == 6 else item.codes[n % len(item.codes)]
    return codes


def paper_form_data(
    client: FlaskClient,
    url: str,
    codes: dict[str, int | None],
    *,
    administered_on: date | str,
    mode: str = "paper",
    language: str = "en",
    **extra: Any,
) -> dict[str, str]:
    page = client.get(url)
    data = {
        "csrf_token": csrf_from(page.get_data(as_text=True)),
        "language": language,
        "administered_on": str(administered_on),
        "mode": mode,
    }
    for item_id, code in codes.items():
        data[f"item_{item_id}"] = "" if code is None else str(code)
    data.update({k: str(v) for k, v in extra.items()})
    return data
