"""The coordinator's path: sign in, enrol, hand the link over as a QR code, the
participant answers on their phone, and the dashboard and the chart show it."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
import segno
from playwright.sync_api import Browser, BrowserContext, Locator, Page, expect
from sqlalchemy import select

from pro_app.surveys.models import Score, Submission, SubmissionStatus
from tests.browser.live import LiveApp, leaves_machine
from tests.browser.pages import answer_through, path_of, start
from tests.browser.staff_pages import DESKTOP, new_study, sign_in

pytestmark = pytest.mark.browser

STUDY = "FLOW-1"
SUBJECT = "FL-001"
PARTICIPANT_PAGE = re.compile(r"/staff/s/FLOW-1/participants/(\d+)$")


@pytest.fixture
def desk(chromium: Browser, live: LiveApp) -> Iterator[BrowserContext]:
    """The coordinator's computer: a desktop-sized browser context."""
    context = chromium.new_context(**DESKTOP, base_url=live.base_url)
    context.set_default_timeout(10_000)
    yield context
    context.close()


def baseline_cell(page: Page, subject_id: str) -> Locator:
    """The dashboard matrix cell of a participant's baseline (BL) timepoint."""
    row = page.locator("table.dash-matrix tbody tr").filter(
        has=page.get_by_role("rowheader", name=subject_id)
    )
    expect(row).to_have_count(1)
    # Columns: participant (th), site, then one cell per timepoint (BL first).
    return row.locator("td").nth(1)


def qr_modules(svg_markup: str) -> str:
    """The path of the dark modules (the last path; a light background may lead)."""
    paths = re.findall(r'<path[^>]* d="([^"]+)"', svg_markup)
    assert paths, f"no path in the QR code: {svg_markup[:200]}"
    return paths[-1]


def pick(position: int, n_options: int) -> int:
    """A varied but repeatable option for each item."""
    return (position * 3) % n_options


def test_enrol_hand_over_answer_and_see_it_on_the_dashboard(
    live, desk, new_phone, monkeypatch
):
    # The link is built from the address the page was asked on, so the QR code
    # points at this live server (the test config names another one).
    monkeypatch.setitem(live.app.config, "NOTIFY_BASE_URL", None)
    login = new_study(live, STUDY)
    requests: list[str] = []
    desk.on("request", lambda request: requests.append(request.url))

    # Sign in: one study, so straight to its dashboard.
    page = desk.new_page()
    sign_in(page, login)
    assert path_of(page) == f"/staff/s/{STUDY}/"
    expect(page.get_by_text("No participants enrolled yet.")).to_be_visible()

    # Enrol, with Day 0 tomorrow: the baseline window (Day 0 - 7 days to
    # Day 0 + 7) is open now and not yet due.
    page.get_by_role("navigation", name="Study").get_by_role(
        "link", name="Enrol"
    ).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Enrol a participant")
    page.get_by_label("Subject ID").fill(SUBJECT)
    page.get_by_label("Day 0").fill(
        (datetime.now(UTC).date() + timedelta(days=1)).isoformat()
    )
    expect(page.get_by_label("Time zone")).to_have_value("UTC")
    page.get_by_role("button", name="Enrol", exact=True).click()
    page.wait_for_url(PARTICIPANT_PAGE)
    participant_id = int(PARTICIPANT_PAGE.search(path_of(page)).group(1))
    expect(page.locator("p.flash-ok")).to_have_text(f"{SUBJECT} is enrolled.")
    expect(page.get_by_role("heading", level=1)).to_contain_text(
        f"Participant {SUBJECT}"
    )
    scores = page.locator("section[aria-labelledby=pt-scores]")
    expect(scores.get_by_text("No scores yet.")).to_be_visible()
    expect(scores.locator("svg.chart")).to_have_count(0)
    expect(page.get_by_text("No personal link is active.")).to_be_visible()

    # The dashboard before: baseline open, nothing done.
    page.get_by_role("link", name="Dashboard").click()
    cell = baseline_cell(page, SUBJECT)
    expect(cell).to_have_class("ds-open")
    before = cell.inner_text().strip()
    assert before == "○ Open 0/3"

    # The participant's page, then the handover page with the link and QR code.
    page.get_by_role("rowheader", name=SUBJECT).get_by_role("link").click()
    page.wait_for_url(PARTICIPANT_PAGE)
    page.get_by_role("button", name="Show the link and QR code").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(
        f"Personal link for {SUBJECT}"
    )
    link = page.locator("p.pt-link").inner_text().strip()
    assert re.fullmatch(rf"{re.escape(live.base_url)}/p/[A-Za-z0-9_-]{{20,}}", link)
    qr = page.get_by_role("img", name="QR code of the personal link")
    expect(qr).to_be_visible()
    svg = qr.locator("svg")
    expect(svg).to_have_count(1)
    box = svg.bounding_box()
    assert box is not None
    assert box["width"] >= 150
    assert box["width"] == pytest.approx(box["height"], abs=1)
    # The code drawn is the code of exactly this link.
    expected = segno.make(link, error="m").svg_inline(scale=4, omitsize=True)
    assert qr_modules(svg.evaluate("e => e.outerHTML")) == qr_modules(expected)

    # The participant scans it: their own phone, no cookies of the coordinator.
    phone = new_phone()
    phone.on("request", lambda request: requests.append(request.url))
    mobile = phone.new_page()
    mobile.goto(link)
    assert path_of(mobile) == "/home"
    card = mobile.locator("a.card").filter(has_text="PROMIS Scale v1.2 - Global Health")
    expect(card).to_have_count(1)
    assignment_id = int(re.search(r"/a/(\d+)/", card.get_attribute("href")).group(1))
    start(mobile, assignment_id)
    chosen = answer_through(mobile, pick)
    assert len(chosen) == 10
    assert path_of(mobile) == f"/a/{assignment_id}/review"
    expect(mobile.locator("ol.review > li")).to_have_count(10)
    mobile.get_by_role("button", name="Submit answers").first.tap()
    mobile.wait_for_url(f"**/a/{assignment_id}/done")
    expect(mobile.locator("h1")).to_have_text("Thank you")

    with live.session() as session:
        submission = session.scalar(
            select(Submission).where(Submission.assignment_id == assignment_id)
        )
        assert submission is not None
        assert submission.participant_id == participant_id
        assert submission.status is SubmissionStatus.COMPLETED
        stored = {
            s.scale_id: s.value
            for s in session.scalars(
                select(Score).where(
                    Score.submission_id == submission.id, Score.replaced_at.is_(None)
                )
            )
        }
    physical = stored["global_physical_health"]
    mental = stored["global_mental_health"]
    assert physical is not None
    assert mental is not None

    # Back at the desk: the baseline cell moved on, one questionnaire of three.
    page.goto(f"/staff/s/{STUDY}/")
    cell = baseline_cell(page, SUBJECT)
    expect(cell).to_have_class("ds-in_progress")
    expect(cell).to_have_text("◐ In progress 1/3")
    assert cell.inner_text().strip() != before

    # The participant's page: the questionnaire completed, the scores shown.
    page.get_by_role("rowheader", name=SUBJECT).get_by_role("link").click()
    page.wait_for_url(PARTICIPANT_PAGE)
    row = page.locator("section[aria-labelledby=pt-timeline] tbody tr").filter(
        has_text="PROMIS Global Health"
    )
    expect(row).to_have_count(2)  # BL and W4
    expect(row.first.locator(".badge")).to_have_text("Completed")
    expect(row.first).to_contain_text("Online, by the participant")
    for name, value in (
        ("Global Physical Health", physical),
        ("Global Mental Health", mental),
    ):
        shown = f"{value:.1f}"
        # One visit so far: the score is a number, not a one-point chart.
        expect(
            scores.locator("figure").filter(
                has=page.locator("figcaption", has_text=name)
            )
        ).to_have_count(0)
        single = scores.locator("dl.pt-numbers > div").filter(
            has=page.locator("dt", has_text=name)
        )
        expect(single.locator(".pt-number")).to_have_text(shown)
        expect(single).to_contain_text("BL")
        table_row = scores.get_by_role("row").filter(
            has=page.get_by_role("rowheader", name=name, exact=True)
        )
        expect(table_row.get_by_role("cell").first).to_have_text(shown)
    # Only the questionnaire answered is scored.
    expect(scores.get_by_role("heading", level=3)).to_have_text(
        ["PROMIS Global Health"]
    )

    away = sorted({url for url in requests if leaves_machine(url)})
    assert away == [], f"requests left 127.0.0.1: {away}"
