"""Fixtures for the browser tests: one Chromium per run, one live app per module.

Every test module here sets ``pytestmark = pytest.mark.browser`` so that
``pytest -m "not browser"`` leaves them out (the PostgreSQL run does).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, sync_playwright

from tests.browser.live import CHROMIUM, CHROMIUM_ARGS, PHONE, LiveApp, live_app

NewPhone = Callable[..., BrowserContext]


@pytest.fixture(scope="session")
def chromium() -> Iterator[Browser]:
    """Debian's headless Chromium, driven by Playwright (never `playwright install`)."""
    playwright = sync_playwright().start()
    try:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, args=CHROMIUM_ARGS
        )
        try:
            yield browser
        finally:
            browser.close()
    finally:
        playwright.stop()


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveApp]:
    """The app served on 127.0.0.1 with its own SQLite file, for one module."""
    with live_app(tmp_path_factory.mktemp("browser")) as served:
        yield served


@pytest.fixture
def new_phone(chromium: Browser, live: LiveApp) -> Iterator[NewPhone]:
    """Make a fresh phone (a browser context: no cookies, no cache).

    ``new_phone(locale="he-IL", width=320, **context_options)``; the locale also
    sets the Accept-Language header. Every context is closed after the test.
    """
    contexts: list[BrowserContext] = []

    def make(
        locale: str = "en-US", width: int | None = None, **options: Any
    ) -> BrowserContext:
        settings = {**PHONE, "locale": locale, "base_url": live.base_url, **options}
        if width is not None:
            settings["viewport"] = {**PHONE["viewport"], "width": width}
        context = chromium.new_context(**settings)
        context.set_default_timeout(10_000)
        contexts.append(context)
        return context

    yield make
    for context in contexts:
        context.close()
