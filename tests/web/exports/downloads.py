"""The export page as a data manager uses it: sign in, pick formats, get the zip."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Sequence
from datetime import datetime

import time_machine
from flask import Flask
from sqlalchemy.orm import Session

from pro_app.auth.models import Role
from pro_app.studies.models import Study
from tests.conftest import csrf_from, login_staff
from tests.factories import make_staff


def download(
    app: Flask, session: Session, study: Study, formats: Sequence[str], at: datetime
) -> zipfile.ZipFile:
    """A new data manager downloads ``formats`` of ``study`` at ``at``."""
    manager = make_staff(session, Role.DATA_MANAGER, study)
    session.commit()
    client = app.test_client()
    page_url = f"/staff/s/{study.code}/export"
    with time_machine.travel(at, tick=False):
        assert login_staff(client, manager.email).status_code == 302
        page = client.get(page_url).get_data(as_text=True)
        data = {"csrf_token": csrf_from(page), "formats": list(formats)}
        response = client.post(page_url, data=data)
    assert response.status_code == 200
    return zipfile.ZipFile(io.BytesIO(response.get_data()))
