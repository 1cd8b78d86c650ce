"""Helpers for driving the participant screens through the test client."""

from __future__ import annotations

from typing import Any

from flask.testing import FlaskClient
from lxml import html
from werkzeug.test import TestResponse

from tests.conftest import csrf_from


def open_link(client: FlaskClient, token: str) -> TestResponse:
    return client.get(f"/p/{token}")


def item_url(assignment_id: int, position: int) -> str:
    return f"/a/{assignment_id}/q/{position}"


def answer(
    client: FlaskClient,
    assignment_id: int,
    position: int,
    item_id: str,
    code: Any,
    nav: str = "next",
    **extra: Any,
) -> TestResponse:
    """Load an item screen for its CSRF token, then post an answer to it."""
    page = client.get(item_url(assignment_id, position))
    data = {
        "csrf_token": csrf_from(page.get_data(as_text=True)),
        "item_id": item_id,
        "nav": nav,
    }
    if code is not None:
        data[f"item_{item_id}"] = str(code)
    data.update(extra)
    return client.post(item_url(assignment_id, position), data=data)


def dom(response: TestResponse) -> html.HtmlElement:
    """Parse a page, to ask it about elements rather than about strings."""
    return html.fromstring(response.get_data(as_text=True))


def text_of(element: html.HtmlElement) -> str:
    """The element's text as shown: whitespace runs collapsed."""
    return " ".join(element.text_content().split())


def cls(name: str) -> str:
    """An XPath test for one class among an element's classes."""
    return f"contains(concat(' ', normalize-space(@class), ' '), ' {name} ')"
