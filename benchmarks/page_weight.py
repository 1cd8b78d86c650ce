"""Page weight of the participant screens, as a phone loads them with a cold cache.

Run: .venv/bin/python benchmarks/page_weight.py

Starts the app on a temporary SQLite file (as the browser tests do), enrols a
participant, and with headless Chromium in a 390x844 phone viewport loads each
screen in a fresh browser context (empty cache; the logged-in screens reuse the
session cookie). For each screen it prints the bytes of HTML, CSS and JS as
served (uncompressed; the app does not compress) and after ``gzip -6``, the
number of requests and how many went anywhere but 127.0.0.1. It measures and
prints only; it asserts nothing and times nothing.
"""

from __future__ import annotations

import gzip
import logging
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from repo_path import use_repo  # noqa: E402  (benchmarks/ is on sys.path)

use_repo()

from playwright.sync_api import Browser, Response, sync_playwright  # noqa: E402

from tests.browser.live import (  # noqa: E402
    CHROMIUM,
    CHROMIUM_ARGS,
    INVALID_LINK,
    PHONE,
    LiveApp,
    leaves_machine,
    live_app,
)

KINDS = {"document": "html", "stylesheet": "css", "script": "js"}
ITEM_BUDGET = 20 * 1024  # bytes, uncompressed, per item screen


def zeros() -> dict[str, int]:
    return dict.fromkeys(KINDS.values(), 0)


@dataclass
class Weight:
    screen: str
    raw: dict[str, int] = field(default_factory=zeros)
    gz: dict[str, int] = field(default_factory=zeros)
    files: dict[str, int] = field(default_factory=zeros)
    requests: int = 0
    third_party: int = 0
    is_item: bool = False


def measure(
    browser: Browser,
    live: LiveApp,
    screen: str,
    path: str,
    state: dict | None = None,
    *,
    is_item: bool = False,
) -> tuple[Weight, dict]:
    """Load ``path`` in a fresh phone; return its weight and the cookies after."""
    context = browser.new_context(
        **PHONE, locale="en-US", base_url=live.base_url, storage_state=state
    )
    try:
        page = context.new_page()
        weight = Weight(screen, is_item=is_item)
        responses: list[Response] = []
        urls: list[str] = []
        page.on("request", lambda request: urls.append(request.url))
        page.on("response", lambda response: responses.append(response))
        page.goto(path)
        page.wait_for_load_state("networkidle")
        expected = "/home" if path.startswith("/p/") and path != INVALID_LINK else path
        if urlsplit(page.url).path != expected:
            raise RuntimeError(f"{screen}: expected {expected}, landed on {page.url}")
        for response in responses:
            kind = KINDS.get(response.request.resource_type)
            if kind is None or 300 <= response.status < 400:
                continue  # a redirect has no body to weigh
            body = response.body()
            weight.raw[kind] += len(body)
            weight.gz[kind] += len(gzip.compress(body, compresslevel=6))
            weight.files[kind] += 1
        weight.requests = len(urls)
        weight.third_party = sum(leaves_machine(url) for url in urls)
        return weight, context.storage_state()
    finally:
        context.close()


def kb(n: int) -> str:
    return f"{n / 1024:.1f}"


def num(n: int) -> str:
    return f"{n:,}"


def table(weights: list[Weight]) -> str:
    head = (
        "screen",
        "HTML",
        "CSS",
        "JS",
        "total",
        "HTML.gz",
        "CSS.gz",
        "JS.gz",
        "total.gz",
        "CSS files",
        "JS files",
        "requests",
        "3rd-party",
    )
    rows = [head]
    for w in weights:
        rows.append(
            (
                w.screen,
                *(num(w.raw[k]) for k in ("html", "css", "js")),
                num(sum(w.raw.values())),
                *(num(w.gz[k]) for k in ("html", "css", "js")),
                num(sum(w.gz.values())),
                str(w.files["css"]),
                str(w.files["js"]),
                str(w.requests),
                str(w.third_party),
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(head))]
    lines = []
    for n, row in enumerate(rows):
        cells = [row[0].ljust(widths[0])]
        pairs = zip(row[1:], widths[1:], strict=True)
        cells += [cell.rjust(width) for cell, width in pairs]
        lines.append("  ".join(cells))
        if n == 0:
            lines.append("  ".join("-" * width for width in widths))
    return "\n".join(lines)


def verdict(weights: list[Weight]) -> str:
    items = [w for w in weights if w.is_item]
    heaviest = max(sum(w.raw.values()) for w in items)
    checks = {
        f"item screens < 20 KB uncompressed (heaviest: {kb(heaviest)} KB)": (
            heaviest < ITEM_BUDGET
        ),
        "one CSS file per screen": all(w.files["css"] == 1 for w in weights),
        "at most one small JS file": all(w.files["js"] <= 1 for w in weights)
        and max(w.raw["js"] for w in weights) < 2048,
        "0 third-party requests": all(w.third_party == 0 for w in weights),
    }
    marks = {True: "ok", False: "MISSED"}
    return "\n".join(f"  [{marks[ok]}] {name}" for name, ok in checks.items())


def main() -> None:
    logging.getLogger("pro_app").setLevel(logging.ERROR)  # the invalid link warns
    with tempfile.TemporaryDirectory() as tmp, live_app(Path(tmp)) as live:
        person = live.new_person()
        live.answer(person, "rand36", {str(n): 1 for n in range(1, 24)})
        live.answer(person, "promis29", {"PFA11": 5}, submit=True)
        rand = person.assignments["rand36"]
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=CHROMIUM, args=CHROMIUM_ARGS
            )
            try:
                home, state = measure(browser, live, "link -> home", person.link)
                screens = [
                    ("RAND-36 item 1", f"/a/{rand}/q/1", True),
                    ("RAND-36 item 23 (stem)", f"/a/{rand}/q/23", True),
                    (
                        "Global item 10 (0-10)",
                        f"/a/{person.assignments['promis_global']}/q/10",
                        True,
                    ),
                    ("RAND-36 review", f"/a/{rand}/review", False),
                    ("done", f"/a/{person.assignments['promis29']}/done", False),
                ]
                weights = [home] + [
                    measure(browser, live, name, path, state, is_item=is_item)[0]
                    for name, path, is_item in screens
                ]
                weights.append(measure(browser, live, "invalid link", INVALID_LINK)[0])
            finally:
                browser.close()
    print(
        "Page weight in bytes (.gz = gzip -6), cold cache, phone viewport 390x844; "
        "requests include the redirect and the favicon"
    )
    print(table(weights))
    print(
        "Targets: under 20 KB uncompressed per item screen, one CSS file, "
        "at most one small JS file, 0 third-party requests."
    )
    print(verdict(weights))


if __name__ == "__main__":
    main()
