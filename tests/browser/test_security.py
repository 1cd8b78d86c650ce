"""What a real browser sees of the personal link and of the page's resources."""

from __future__ import annotations

from collections import Counter

import pytest
from playwright.sync_api import Request

from tests.browser.live import leaves_machine
from tests.browser.pages import open_link, path_of

pytestmark = pytest.mark.browser


def test_the_link_token_leaves_no_trace_in_the_browser(live, new_phone):
    person = live.new_person()
    phone = new_phone()
    page = phone.new_page()
    link_response = open_link(page, person)

    assert link_response.status == 302
    assert link_response.headers.get("referrer-policy") == "no-referrer"
    assert link_response.headers.get("cache-control") == "no-store"
    assert path_of(page) == "/home"
    assert person.token not in page.url
    assert person.token not in page.content()
    assert page.evaluate("() => history.length") <= 2  # about:blank, /home
    cookies = {c["name"]: c for c in phone.cookies()}
    assert person.token not in str(cookies)
    session_cookie = cookies["session"]
    assert session_cookie["httpOnly"] is True
    assert session_cookie["sameSite"] == "Lax"


def test_pages_load_one_stylesheet_one_script_and_nothing_from_elsewhere(
    live, new_phone
):
    person = live.new_person()
    live.answer(person, "promis29", {"PFA11": 5}, submit=True)
    rand = person.assignments["rand36"]
    screens = {
        "home": "/home",
        "item": f"/a/{rand}/q/1",
        "review": f"/a/{rand}/review",
        "done": f"/a/{person.assignments['promis29']}/done",
    }
    login = new_phone().new_page()
    open_link(login, person)
    state = login.context.storage_state()

    everything: list[str] = []
    for name, path in screens.items():
        # A fresh phone with the same cookie: an empty cache for every screen.
        page = new_phone(storage_state=state).new_page()
        loaded: list[Request] = []
        page.on("request", lambda request, into=loaded: into.append(request))
        response = page.goto(path)
        assert response is not None
        assert response.ok, (name, response.status)
        assert path_of(page) == path, (name, page.url)
        page.wait_for_load_state("networkidle")
        kinds = Counter(request.resource_type for request in loaded)
        assert kinds["stylesheet"] == 1, (name, kinds)
        assert kinds["script"] <= 1, (name, kinds)
        assert kinds["document"] == 1, (name, kinds)
        everything += [request.url for request in loaded]
        if name == "item":
            assert kinds["script"] == 1, "the item screen loads autosave.js"

    away = sorted({url for url in everything if leaves_machine(url)})
    assert away == [], f"requests left 127.0.0.1: {away}"
