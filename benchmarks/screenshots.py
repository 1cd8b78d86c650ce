"""Screenshots of an item screen for the docs, in English and in Hebrew.

Run: .venv/bin/python benchmarks/screenshots.py [output directory]

Writes item-en.png and item-he.png (RAND-36 item 23, the first under its long
stem) as a 390x844 phone at device scale factor 2, whole page, into
docs/screenshots/ unless another directory is given. Tests never call this, so
a test run leaves the tracked images alone.
"""

from __future__ import annotations

import logging
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from playwright.sync_api import sync_playwright  # noqa: E402

from tests.browser.live import CHROMIUM, CHROMIUM_ARGS, PHONE, live_app  # noqa: E402

ITEM = 23
SHOTS = {"item-en.png": "en-US", "item-he.png": "he-IL"}


def main(out: Path) -> None:
    logging.getLogger("pro_app").setLevel(logging.ERROR)
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp, live_app(Path(tmp)) as live:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=CHROMIUM, args=CHROMIUM_ARGS
            )
            try:
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
            finally:
                browser.close()


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else REPO / "docs" / "screenshots")
