"""The trial team's screens as Playwright steps, and the data they start from.

Shared by the staff browser tests and ``benchmarks/screenshots.py``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from playwright.sync_api import Page
from sqlalchemy import select

from pro_app.auth.models import Role
from pro_app.participants.models import Participant
from pro_app.studies.demo import load_demo, load_demo_history, load_demo_staff
from pro_app.studies.models import Study
from tests.browser.live import LiveApp
from tests.browser.pages import path_of
from tests.factories import STAFF_PASSWORD, make_staff, make_study

DESKTOP = {"viewport": {"width": 1280, "height": 900}}


@dataclass(frozen=True)
class Login:
    email: str
    password: str = STAFF_PASSWORD


def sign_in(page: Page, login: Login) -> None:
    """Fill in the sign-in form and wait until the staff area opens."""
    page.goto("/staff/login")
    page.get_by_label("Email").fill(login.email)
    page.get_by_label("Password").fill(login.password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(lambda url: "/staff/login" not in url)
    assert path_of(page).startswith("/staff"), page.url


def new_study(live: LiveApp, code: str, role: Role = Role.COORDINATOR) -> Login:
    """A study like the tests' (BL and W4, three questionnaires each) and an
    account with ``role`` in it."""
    with live.session() as session:
        study = make_study(session, code=code)
        user = make_staff(session, role, study, email=f"{code.lower()}@x.test")
        session.commit()
        return Login(user.email)


@dataclass(frozen=True)
class Demo:
    """The demo study (``flask demo``): code, ids of its participants, logins."""

    code: str
    participants: dict[str, int]  # subject id -> participant id
    logins: dict[str, Login]  # role -> login


def load_demo_study(live: LiveApp, today: date | None = None) -> Demo:
    """Load what ``flask demo`` loads into the live app's database."""
    today = today or date.today()
    catalog = live.app.extensions["pro_catalog"]
    with live.session() as session:
        participant, _token = load_demo(
            session, today=today, link_days=30, catalog=catalog
        )
        study: Study = participant.study
        load_demo_history(session, study, today=today)
        logins = {
            role: Login(email, password)
            for email, role, password in load_demo_staff(session, study)
        }
        session.commit()
        return Demo(
            code=study.code,
            participants={
                p.subject_id: p.id
                for p in session.scalars(
                    select(Participant).where(Participant.study_id == study.id)
                )
            },
            logins=logins,
        )
