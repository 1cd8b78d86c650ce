"""Screenshots for the docs: an item screen in English and in Hebrew, and the
trial team's dashboard and participant page.

Run: .venv/bin/python benchmarks/screenshots.py [--only items|staff] [output directory]

Items: item-en.png and item-he.png (RAND-36 item 23, the first under its long
stem) as a 390x844 phone at device scale factor 2, whole page.

Staff: the demo study as ``flask demo`` loads it, seen by the demo coordinator
on a 1280 px wide screen: staff-dashboard.png (whole page) and
staff-participant.png (participant LK-002: the PROMIS-29 part of the page,
its score charts and table).

Images go to docs/screenshots/ unless another directory is given. Tests never
call this, so a test run leaves the tracked images alone.
"""

from __future__ import annotations

import argparse
import logging
import tempfile
from pathlib import Path

from repo_path import use_repo  # noqa: E402  (benchmarks/ is on sys.path)

REPO = use_repo()

from playwright.sync_api import Browser, sync_playwright  # noqa: E402

from pro_app.audit.chain import verify_chain  # noqa: E402
from pro_app.audit.services import record_verification  # noqa: E402
from tests.browser.live import (  # noqa: E402
    CHROMIUM,
    CHROMIUM_ARGS,
    PHONE,
    LiveApp,
    live_app,
)
from tests.browser.staff_pages import DESKTOP, load_demo_study, sign_in  # noqa: E402

ITEM = 23
SHOTS = {"item-en.png": "en-US", "item-he.png": "he-IL"}
STAFF_SUBJECT = "LK-002"  # four visits answered: every chart has a trajectory
STAFF_INSTRUMENT = "PROMIS-29"  # the part of the participant page shown
MARGIN = 16  # px of page kept around the crop


def item_shots(browser: Browser, live: LiveApp, out: Path) -> None:
    for name, locale in SHOTS.items():
        person = live.new_person()
        context = browser.new_context(
            **PHONE,
            locale=locale,
            device_scale_factor=2,
            base_url=live.base_url,
        )
        try:
            page = context.new_page()
            page.goto(person.link)
            page.goto(f"/a/{person.assignments['rand36']}/q/{ITEM}")
            page.screenshot(path=out / name, full_page=True)
        finally:
            context.close()
        print(out / name)


def staff_shots(browser: Browser, live: LiveApp, out: Path) -> None:
    demo = load_demo_study(live)
    with live.session() as session:
        # As the nightly `flask audit verify` would: the dashboard reports it.
        result = verify_chain(session)
        record_verification(session, result, actor="system:audit-verify", anchor=None)
        session.commit()
    context = browser.new_context(**DESKTOP, base_url=live.base_url)
    try:
        page = context.new_page()
        sign_in(page, demo.logins["coordinator"])
        page.goto(f"/staff/s/{demo.code}/")
        page.screenshot(path=out / "staff-dashboard.png", full_page=True)
        print(out / "staff-dashboard.png")

        pid = demo.participants[STAFF_SUBJECT]
        page.goto(f"/staff/s/{demo.code}/participants/{pid}")
        # One instrument's charts and score table: the whole page (timeline,
        # every flag, every answer of every visit) is over 6000 px long.
        scores = page.locator("section[aria-labelledby=pt-scores]")
        top = scores.get_by_role("heading", name=STAFF_INSTRUMENT, exact=True)
        table = scores.get_by_role("region", name=f"{STAFF_INSTRUMENT} scores")
        first, last = top.bounding_box(), table.bounding_box()
        if first is None or last is None:
            raise SystemExit(f"no {STAFF_INSTRUMENT} scores on the participant page")
        y = first["y"] - MARGIN
        page.screenshot(
            path=out / "staff-participant.png",
            full_page=True,
            clip={
                "x": 0,
                "y": y,
                "width": DESKTOP["viewport"]["width"],
                "height": last["y"] + last["height"] + MARGIN - y,
            },
        )
        print(out / "staff-participant.png")
    finally:
        context.close()


def main(out: Path, only: str | None = None) -> None:
    logging.getLogger("pro_app").setLevel(logging.ERROR)
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp, live_app(Path(tmp)) as live:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=CHROMIUM, args=CHROMIUM_ARGS
            )
            try:
                if only in (None, "items"):
                    item_shots(browser, live, out)
                if only in (None, "staff"):
                    staff_shots(browser, live, out)
            finally:
                browser.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="Screenshots for the docs.")
    parser.add_argument("--only", choices=("items", "staff"))
    parser.add_argument(
        "out", nargs="?", type=Path, default=REPO / "docs" / "screenshots"
    )
    args = parser.parse_args()
    main(args.out, args.only)
