"""axe-core (WCAG 2.0/2.1 A and AA) on every page of the trial team's workspace.

The pages show the demo study (``flask demo``) with a paper entry, a
correction, a data lock and planned messages added, so that tables, charts
and lists are filled in, not empty.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Browser, BrowserContext, Page, expect
from sqlalchemy import select

from pro_app.auth.services import user_by_email
from pro_app.dbtypes import utcnow
from pro_app.notify.planning import replan
from pro_app.participants.contact import set_contact
from pro_app.participants.models import Participant
from pro_app.studies import locks
from pro_app.studies.models import Assignment, Timepoint
from pro_app.surveys import entry
from pro_app.surveys.models import Mode, Submission
from pro_app.surveys.services import current_answers
from tests.browser.live import PHONE, LiveApp
from tests.browser.pages import path_of
from tests.browser.staff_pages import DESKTOP, Demo, Login, load_demo_study, sign_in
from tests.browser.test_axe import WCAG_21_AA, describe

pytestmark = pytest.mark.browser

ACTOR = "system:test"
CORRECTED_ITEM = "Global03"


@dataclass(frozen=True)
class Seeded:
    demo: Demo
    admin: Login
    coordinator_id: int
    paper_assignment: int  # open, nothing entered: the paper entry form
    corrected: int  # a submission with a correction


def _baseline(session: Any, participant_id: int, instrument_id: str) -> Assignment:
    assignment = session.scalar(
        select(Assignment)
        .join(Timepoint)
        .where(
            Assignment.participant_id == participant_id,
            Assignment.instrument_id == instrument_id,
            Timepoint.code == "BL",
        )
    )
    assert assignment is not None
    return assignment


@pytest.fixture(scope="module")
def seeded(live: LiveApp) -> Seeded:
    demo = load_demo_study(live)
    catalog = live.app.extensions["pro_catalog"]
    data_key = live.app.config["DATA_KEY"]
    with live.session() as session:
        # LK-001 (baseline open): PROMIS Global entered on paper, RAND-36 left
        # for the paper entry form.
        newcomer = demo.participants["LK-001"]
        paper = _baseline(session, newcomer, "promis_global")
        # Today where the participant lives: the entry refuses future days.
        today = utcnow().astimezone(ZoneInfo(paper.participant.timezone)).date()
        instrument = catalog.get(paper.instrument_id, paper.instrument_version)
        entry.enter_paper(
            session,
            paper,
            entry.PaperEntry(
                administered_on=today,
                mode=Mode.PAPER,
                language="en",
                answers={item.id: item.codes[0] for item in instrument.items},
                note="Clinic visit",
            ),
            actor=ACTOR,
            catalog=catalog,
        )
        # LK-002 (four visits): a corrected answer, and contact details with
        # messages planned for the visit still to come.
        veteran = session.get(Participant, demo.participants["LK-002"])
        assert veteran is not None
        submission = session.scalar(
            select(Submission).where(
                Submission.assignment_id
                == _baseline(session, veteran.id, "promis_global").id
            )
        )
        assert submission is not None
        item = catalog.get("promis_global", submission.instrument_version).item(
            CORRECTED_ITEM
        )
        was = current_answers(session, submission)[CORRECTED_ITEM].code
        entry.correct_answer(
            session,
            submission,
            item,
            next(code for code in reversed(item.codes) if code != was),
            actor=ACTOR,
            reason="Transcription error on the source form",
            catalog=catalog,
        )
        set_contact(
            session,
            veteran,
            email="lk002@example.invalid",
            phone="+44 7700 900123",
            data_key=data_key,
            actor=ACTOR,
        )
        assert replan(session, veteran.id, utcnow(), data_key=data_key) > 0
        # LK-004: locked for a query, so the locks page lists something.
        locked = session.get(Participant, demo.participants["LK-004"])
        assert locked is not None
        locks.lock(
            session,
            locked.study,
            participant=locked,
            actor=ACTOR,
            reason="Source data verification",
        )
        rand36 = _baseline(session, newcomer, "rand36").id
        session.commit()
        corrected = submission.id
    with live.session() as session:
        coordinator = user_by_email(session, demo.logins["coordinator"].email)
        assert coordinator is not None
        coordinator_id = coordinator.id
    return Seeded(demo, demo.logins["admin"], coordinator_id, rand36, corrected)


@pytest.fixture(scope="module")
def axe() -> Axe:
    return Axe()


@pytest.fixture(scope="module")
def admin_state(chromium: Browser, live: LiveApp, seeded: Seeded) -> dict[str, Any]:
    """The cookies of a signed-in administrator, for every page test to reuse."""
    context = chromium.new_context(**DESKTOP, base_url=live.base_url)
    try:
        page = context.new_page()
        sign_in(page, seeded.admin)
        return context.storage_state()
    finally:
        context.close()


@pytest.fixture
def browse(chromium: Browser, live: LiveApp) -> Iterator[Callable[..., BrowserContext]]:
    """Open a context (desktop unless told) with the given storage state."""
    contexts: list[BrowserContext] = []

    def make(phone: bool = False, **options: Any) -> BrowserContext:
        size = PHONE if phone else DESKTOP
        context = chromium.new_context(**size, base_url=live.base_url, **options)
        context.set_default_timeout(10_000)
        contexts.append(context)
        return context

    yield make
    for context in contexts:
        context.close()


def check(axe: Axe, page: Page, name: str) -> None:
    results = axe.run(page, options=WCAG_21_AA)
    assert results.response["passes"], "axe-core ran no checks"
    violations = results.response["violations"]
    assert violations == [], (
        f"axe-core {results.response['testEngine']['version']} on {name} "
        f"({page.url}):\n{describe(violations)}"
    )


def open_page(page: Page, path: str) -> None:
    response = page.goto(path)
    assert response is not None
    assert response.ok, f"{path}: {response.status}"
    assert path_of(page) == path.split("?")[0]


# Pages reached by a plain GET, by name: (path, text the page must show).
def get_pages(s: Seeded) -> dict[str, tuple[str, str]]:
    base = f"/staff/s/{s.demo.code}"
    lk002 = s.demo.participants["LK-002"]
    return {
        "studies": ("/staff/", "NCT06737380"),
        "dashboard": (f"{base}/", "Questionnaires by participant and timepoint"),
        "participant": (f"{base}/participants/{lk002}", "Global Mental Health"),
        "enrol": (f"{base}/participants/new", "Enrol a participant"),
        "participant-edit": (f"{base}/participants/{lk002}/edit", "Reason"),
        "paper-entry": (f"{base}/assignments/{s.paper_assignment}/paper", "RAND"),
        "correction": (
            f"{base}/submissions/{s.corrected}/correct?item={CORRECTED_ITEM}",
            "Transcription error on the source form",
        ),
        "locks": (f"{base}/locks", "Source data verification"),
        "audit": (f"{base}/audit", "participant.enrol"),
        "export": (f"{base}/export", "Export"),
        "team": (f"{base}/team", "coordinator@demo.invalid"),
        "account": ("/staff/account", "Change password"),
        "totp-setup": ("/staff/account/totp", "Set up two-step sign-in"),
        "users": ("/staff/users", "monitor@demo.invalid"),
        "user": (f"/staff/users/{s.coordinator_id}", "Carmen Coordinator"),
    }


GET_PAGES = [
    "studies",
    "dashboard",
    "participant",
    "enrol",
    "participant-edit",
    "paper-entry",
    "correction",
    "locks",
    "audit",
    "export",
    "team",
    "account",
    "totp-setup",
    "users",
    "user",
]


@pytest.mark.parametrize("name", GET_PAGES)
def test_staff_page_has_no_wcag21_aa_violations(browse, seeded, admin_state, axe, name):
    path, shows = get_pages(seeded)[name]
    page = browse(storage_state=admin_state).new_page()
    open_page(page, path)
    expect(page.locator("main")).to_contain_text(shows)
    check(axe, page, name)


@pytest.mark.parametrize("name", ["dashboard", "participant"])
def test_staff_page_on_a_phone_has_no_wcag21_aa_violations(
    browse, seeded, admin_state, axe, name
):
    path, shows = get_pages(seeded)[name]
    page = browse(phone=True, storage_state=admin_state).new_page()
    open_page(page, path)
    expect(page.locator("main")).to_contain_text(shows)
    check(axe, page, f"{name} (phone)")


def test_participant_page_shows_charts_and_corrections(browse, seeded, admin_state):
    # What the participant page test above ran axe over.
    path, _shows = get_pages(seeded)["participant"]
    page = browse(storage_state=admin_state).new_page()
    open_page(page, path)
    assert page.locator("svg.chart").count() >= 10
    assert page.locator("svg.chart circle.chart-point").count() >= 10
    expect(page.locator("p.pt-correction")).to_have_count(1)
    expect(page.locator("section[aria-labelledby=pt-messages] table")).to_have_count(1)


def test_sign_in_pages_have_no_wcag21_aa_violations(browse, axe):
    page = browse().new_page()
    open_page(page, "/staff/login")
    check(axe, page, "login")
    page.get_by_label("Email").fill("nobody@example.invalid")
    page.get_by_label("Password").fill("not the password")
    with page.expect_response(lambda r: r.request.method == "POST") as posted:
        page.get_by_role("button", name="Sign in").click()
    assert posted.value.status == 401
    expect(page.get_by_role("alert")).to_have_text(
        "The email address or password is not correct."
    )
    check(axe, page, "login with an error")


def test_enrol_with_errors_has_no_wcag21_aa_violations(
    browse, seeded, admin_state, axe
):
    page = browse(storage_state=admin_state).new_page()
    open_page(page, f"/staff/s/{seeded.demo.code}/participants/new")
    page.get_by_label("Time zone").fill("Mars/Olympus")
    page.get_by_label("Email (optional)").fill("not an address")
    with page.expect_response(lambda r: r.request.method == "POST") as posted:
        page.get_by_role("button", name="Enrol", exact=True).click()
    assert posted.value.status == 400
    expect(page.get_by_role("alert")).to_have_text(
        "Please correct the fields marked below."
    )
    expect(page.locator(".field-error")).to_have_count(4)  # id, day 0, zone, email
    expect(page.locator("[aria-invalid=true]")).to_have_count(4)
    check(axe, page, "enrol with errors")


def test_handover_page_has_no_wcag21_aa_violations(browse, seeded, admin_state, axe):
    lk003 = seeded.demo.participants["LK-003"]
    page = browse(storage_state=admin_state).new_page()
    open_page(page, f"/staff/s/{seeded.demo.code}/participants/{lk003}")
    page.get_by_role("button", name="Show the link and QR code").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(
        "Personal link for LK-003"
    )
    expect(page.get_by_role("img", name="QR code of the personal link")).to_be_visible()
    check(axe, page, "handover")


# Screens changed for the first real run, also in Hebrew (right to left).
CHANGED_PAGES = ["dashboard", "participant", "enrol", "paper-entry", "audit"]


@pytest.mark.parametrize("name", CHANGED_PAGES)
def test_changed_staff_pages_in_hebrew_have_no_wcag21_aa_violations(
    browse, seeded, admin_state, axe, name
):
    path, _shows = get_pages(seeded)[name]
    page = browse(storage_state=admin_state, locale="he-IL").new_page()
    open_page(page, path)
    expect(page.locator("html")).to_have_attribute("dir", "rtl")
    # Every time on the page is a <time> with its UTC moment on hover.
    for stamp in page.locator("main time").all():
        expect(stamp).to_have_attribute(
            "title", re.compile(r"^\d{4}-\d\d-\d\d .* UTC$")
        )
    check(axe, page, f"{name} (Hebrew)")


@pytest.mark.parametrize("locale", ["en-GB", "he-IL"])
def test_enrolment_leads_to_the_handover_without_wcag21_aa_violations(
    browse, seeded, admin_state, axe, locale
):
    page = browse(storage_state=admin_state, locale=locale).new_page()
    open_page(page, f"/staff/s/{seeded.demo.code}/participants/new")
    subject = "LK-9" + locale[:2].upper()
    page.locator("#subject_id").fill(subject)
    page.locator("#day0").fill(date.today().isoformat())
    zone = page.locator("#timezone")
    expect(zone).to_have_attribute("list", "iana-zones")
    zone.fill("Europe/London")
    page.locator("#email").fill("new.participant@example.invalid")
    page.locator("#phone").fill("+44 7700 900456")
    with page.expect_response(lambda r: r.request.method == "POST") as posted:
        page.locator("main form button.primary").click()
    assert posted.value.status == 302
    expect(page.locator("h1")).to_contain_text(subject)
    # The handover is the first thing to do, above the participant's details.
    handover = page.locator("section.pt-next button.primary")
    expect(handover).to_be_visible()
    box, details = handover.bounding_box(), page.locator("#pt-details").bounding_box()
    assert box is not None
    assert details is not None
    assert box["y"] < details["y"]
    check(axe, page, f"participant just enrolled ({locale})")
