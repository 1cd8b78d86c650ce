from __future__ import annotations

from dataclasses import dataclass

import pytest
from flask.testing import FlaskClient

from pro_app.participants.models import Participant
from tests.factories import make_link, make_participant


@dataclass
class LoggedIn:
    client: FlaskClient
    participant: Participant
    assignments: dict[str, int]  # instrument id -> open baseline assignment id


@pytest.fixture
def logged_in(client, session) -> LoggedIn:
    participant = make_participant(session)
    token = make_link(session, participant)
    session.commit()
    assert client.get(f"/p/{token}").status_code == 302
    baseline = {
        a.instrument_id: a.id
        for a in participant.assignments
        if a.timepoint.code == "BL"
    }
    return LoggedIn(client, participant, baseline)
