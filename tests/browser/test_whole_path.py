"""The whole path as a participant lives it, with every way in side by side.

The coordinator enrols a participant with an email address and a phone and
hands the link over as a QR code, scanned on the participant's phone. The
reminder job (`flask notify send`, as cron runs it) sends the invitation by
email (a real SMTP server on 127.0.0.1) and SMS (the file sender); the
coordinator then sends a reminder. The email and SMS links are opened on a
second phone, the scanned one keeps working on the first: a questionnaire is
finished there, another one saved for later. A dead link asks for a new one.
axe checks every screen of the path the link work changed, in English and
Hebrew.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Browser, BrowserContext, Page, expect
from sqlalchemy import select

from pro_app.studies.models import Study
from tests.browser.live import LiveApp
from tests.browser.pages import answer_through, path_of, press, start
from tests.browser.staff_pages import DESKTOP, new_study, sign_in
from tests.factories import make_participant
from tests.web.notify.conftest import Inbox, LoopbackController

pytestmark = pytest.mark.browser

STUDY = "PATH-1"
SUBJECT = "PA-001"
EMAIL = "pa001@example.org"
PHONE = "+15550142"
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]


@pytest.fixture
def smtp_inbox(live: LiveApp, monkeypatch, tmp_path: Path) -> Iterator[Inbox]:
    """The live app's messages: email to a real SMTP server, SMS to files."""
    inbox = Inbox()
    controller = LoopbackController(inbox, hostname="127.0.0.1", port=0)
    controller.start()
    config = live.app.config
    monkeypatch.setitem(config, "NOTIFY_EMAIL_BACKEND", "smtp")
    monkeypatch.setitem(config, "SMTP_HOST", "127.0.0.1")
    monkeypatch.setitem(config, "SMTP_PORT", controller.port)
    monkeypatch.setitem(config, "NOTIFY_SMS_BACKEND", "file")
    monkeypatch.setitem(config, "NOTIFY_BASE_URL", live.base_url)
    monkeypatch.setattr(live.app, "instance_path", str(tmp_path / "instance"))
    yield inbox
    controller.stop()


@pytest.fixture
def desk(chromium: Browser, live: LiveApp) -> Iterator[BrowserContext]:
    context = chromium.new_context(**DESKTOP, base_url=live.base_url)
    context.set_default_timeout(10_000)
    yield context
    context.close()


def notify_send(live: LiveApp) -> str:
    """Run the reminder job as cron does; return what it printed."""
    result = live.app.test_cli_runner().invoke(args=["notify", "send"])
    assert result.exit_code == 0, result.output
    return result.output


def email_links(inbox: Inbox, base: str) -> list[tuple[str, str]]:
    found = []
    for arrived in inbox.to(EMAIL):
        body = arrived.mail.get_body(("plain",)).get_content()
        match = re.search(re.escape(base) + r"/p/[A-Za-z0-9_-]{32,}", body)
        assert match, "an email without a link"
        found.append((arrived.mail["Subject"], match.group(0)))
    return found


def sms_links(folder: Path, base: str) -> list[str]:
    found = []
    for path in sorted(folder.glob("sms-*.txt"), key=lambda p: p.stat().st_mtime_ns):
        text = path.read_text(encoding="utf-8")
        assert f"To: {PHONE}" in text
        match = re.search(re.escape(base) + r"/p/[A-Za-z0-9_-]{32,}", text)
        assert match, "an SMS without a link"
        found.append(match.group(0))
    return found


def no_axe_violations(page: Page, where: str) -> None:
    results = Axe().run(page, options={"runOnly": {"type": "tag", "values": AXE_TAGS}})
    violations = results.response["violations"]
    assert violations == [], f"{where}: " + "; ".join(
        f"{v['id']}: {v['help']} ({len(v['nodes'])})" for v in violations
    )


def test_enrol_hand_over_message_remind_and_every_link_keeps_working(
    live, desk, new_phone, smtp_inbox
):
    login = new_study(live, STUDY)
    with live.session() as session:
        # No quiet hours: the test runs at any hour, the messages go at once.
        study = session.scalar(select(Study).where(Study.code == STUDY))
        study.settings = {**(study.settings or {}), "quiet_hours": ["00:00", "00:00"]}
        session.commit()
    page = desk.new_page()
    sign_in(page, login)

    # Enrol with an email address and a phone; Day 0 today, so the baseline
    # window is already open.
    page.goto(f"/staff/s/{STUDY}/participants/new")
    page.get_by_label("Subject ID").fill(SUBJECT)
    page.get_by_label("Day 0").fill(datetime.now(UTC).date().isoformat())
    page.locator("input#email[type=email]").fill(EMAIL)
    page.get_by_role("textbox", name=re.compile("^Mobile phone")).fill(PHONE)
    page.get_by_role("button", name="Enrol", exact=True).click()
    page.wait_for_url(re.compile(rf"/staff/s/{STUDY}/participants/\d+$"))
    participant_page = page.url

    # Hand over at the visit: post, redirect, the link shown once.
    page.get_by_role(
        "button", name=re.compile("^(Hand over|Show the link)")
    ).first.click()
    page.wait_for_url(re.compile(r"/link/\d+$"))
    shown_at = page.url
    scanned = page.locator("p.pt-link").inner_text().strip()
    expect(page.get_by_role("img", name="QR code of the personal link")).to_be_visible()
    no_axe_violations(page, "handover page")
    first_phone = new_phone().new_page()
    first_phone.goto(scanned)
    assert path_of(first_phone) == "/home"

    # A reload at the desk shows nothing again and issues nothing.
    page.reload()
    expect(page.get_by_text("already shown")).to_be_visible()
    expect(page.locator("p.pt-link")).to_have_count(0)
    no_axe_violations(page, "handover page, reloaded")
    assert page.url == shown_at

    # The reminder job: the first message of the open window is the invitation.
    outbox = Path(live.app.instance_path) / "outbox"
    assert "sent 2" in notify_send(live)
    ((subject, emailed),) = email_links(smtp_inbox, live.base_url)
    assert subject == "You have a questionnaire to complete for your study"
    (texted,) = sms_links(outbox, live.base_url)
    assert emailed == texted == scanned  # one personal link (long_lived)

    # The coordinator sends a reminder now; the job sends it by both channels.
    page.goto(participant_page)
    page.get_by_role("button", name="Send a reminder now").click()
    expect(page.locator("p.flash-ok")).to_contain_text("Reminder queued")
    assert "sent 2" in notify_send(live)
    subjects = [s for s, _ in email_links(smtp_inbox, live.base_url)]
    assert subjects[-1] == "Reminder: a questionnaire is waiting for you"
    given_out = {scanned, *(link for _, link in email_links(smtp_inbox, live.base_url))}
    given_out |= set(sms_links(outbox, live.base_url))

    # Every link given out opens the questionnaires, on a second phone too.
    for link in sorted(given_out):
        second = new_phone().new_page()
        second.goto(link)
        assert path_of(second) == "/home", link

    # The first phone, signed in from the QR code, answers on.
    first_phone.goto("/home")
    card = first_phone.locator("a.card").filter(has_text="Global Health")
    assignment_id = int(re.search(r"/a/(\d+)/", card.get_attribute("href")).group(1))
    start(first_phone, assignment_id)
    answer_through(first_phone, lambda position, n: position % n)
    first_phone.get_by_role("button", name="Submit answers").first.tap()
    first_phone.wait_for_url(f"**/a/{assignment_id}/done")
    expect(first_phone.locator("h1")).to_have_text("Thank you")
    first_phone.goto("/home")
    other = first_phone.locator("a.card").filter(
        has_text=re.compile("PROMIS-29|Profile")
    )
    other_id = int(re.search(r"/a/(\d+)/", other.get_attribute("href")).group(1))
    start(first_phone, other_id)
    answer_through(first_phone, lambda position, n: 0, upto=2)
    press(first_phone, "later")
    expect(first_phone.get_by_role("status")).to_contain_text(
        "Your answers are saved. You can come back until"
    )


@pytest.mark.parametrize("locale", ["en-US", "he-IL"])
def test_a_dead_link_asks_for_a_new_one_and_passes_axe(live, new_phone, locale):
    page = new_phone(locale=locale).new_page()
    response = page.goto("/p/" + "a" * 40)
    assert response is not None
    assert response.status == 404
    no_axe_violations(page, f"dead-link page ({locale})")
    page.locator("form[action='/p/new-link'] button[type=submit]").tap()
    page.wait_for_url("**/p/new-link")
    expect(page.get_by_role("status")).to_be_visible()
    no_axe_violations(page, f"new-link reply ({locale})")
    if locale == "he-IL":
        assert page.locator("html").get_attribute("dir") == "rtl"


@pytest.mark.parametrize("locale", ["en-US", "he-IL"])
def test_handover_pages_pass_axe(chromium, live, locale):
    code = f"AXE-{locale[:2].upper()}"
    login = new_study(live, code)
    with live.session() as session:
        study = session.scalar(select(Study).where(Study.code == code))
        participant_id = make_participant(session, study, subject_id="AX-001").id
        session.commit()
    context = chromium.new_context(**DESKTOP, base_url=live.base_url, locale=locale)
    context.set_default_timeout(10_000)
    try:
        page = context.new_page()
        sign_in_any_language(page, login)
        page.goto(f"/staff/s/{code}/participants/{participant_id}")
        page.locator("section[aria-labelledby=pt-link] summary").first.click()
        no_axe_violations(page, f"participant page, replace form open ({locale})")
        page.locator("form[action$='/link'] button[type=submit]").first.click()
        page.wait_for_url(re.compile(r"/link/\d+$"))
        expect(page.locator("p.pt-link")).to_have_count(1)
        no_axe_violations(page, f"handover page ({locale})")
        page.reload()
        expect(page.locator("p.pt-link")).to_have_count(0)
        no_axe_violations(page, f"handover page, already shown ({locale})")
        if locale == "he-IL":
            assert page.locator("html").get_attribute("dir") == "rtl"
    finally:
        context.close()


def sign_in_any_language(page: Page, login) -> None:
    """The sign-in form, found by its inputs so that it works in any language."""
    page.goto("/staff/login")
    page.locator("input[type=email]").fill(login.email)
    page.locator("input[type=password]").fill(login.password)
    page.locator("form button[type=submit]").last.click()
    page.wait_for_url(lambda url: "/staff/login" not in url)
