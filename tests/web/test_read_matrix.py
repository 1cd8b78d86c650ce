"""What a site-limited account is shown: nothing of another site or study.

Two studies and two sites are seeded (site_world). For every role limited to
site 01, every staff page in the URL map is opened with site 01's ids, with
filters that name site 02 (dashboard site filter, audit search), the audit
CSV, and an export zip in every format; no response, no file in the zip, may
hold a subject id, lock reason or staff name of site 02 or of the other
study. The same pages opened by an all-sites account do show those markers,
so the check is not blind.
"""

from __future__ import annotations

import io
import zipfile
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from flask import Flask

from pro_app.auth.access import PUBLIC
from pro_app.auth.models import Role
from pro_app.auth.permissions import ROLE_PERMISSIONS, Permission
from pro_app.exports.formats import FORMATS
from tests.conftest import csrf_from, login_staff
from tests.web import site_world
from tests.web.site_world import OWN, World


def _page_urls(app: Flask, world: World, code: str) -> list[str]:
    """Every GET page of the staff area, with the ids of site ``code``."""
    site = world.sites[code]
    ids = {
        "participant_id": site.participant_id,
        "assignment_id": site.open_assignment_id,
        "submission_id": site.submission_id,
        "lock_id": site.lock_id,
        "grant_id": site.grant_ids["monitor"],
        "user_id": 1,
        # A handover page of the site's participant: shown once, then "already
        # shown"; another site's answers 404 like its participant page.
        "token_id": 1,
    }
    urls = []
    for rule in app.url_map.iter_rules():
        if rule.endpoint.split(".")[0] not in ("staff", "auth"):
            continue
        if "GET" not in rule.methods:
            continue
        if app.view_functions[rule.endpoint].required_access == PUBLIC:
            continue
        url = rule.rule.replace("<study_code>", OWN)
        for name, value in ids.items():
            url = url.replace(f"<int:{name}>", str(value))
        assert "<" not in url, f"no value for a parameter of {rule.rule}"
        urls.append("/staff" + url if not url.startswith("/staff") else url)
    other = world.sites["02"].subject
    first_item = "RAND36_01"
    return sorted(set(urls)) + [
        # Filters and searches that name the other site.
        f"/staff/s/{OWN}/?site=02",
        f"/staff/s/{OWN}/audit?participant={other}",
        f"/staff/s/{OWN}/audit.csv?participant={other}",
        f"/staff/s/{OWN}/audit.csv",
        f"/staff/s/{OWN}/submissions/{site.submission_id}/correct?item={first_item}",
    ]


def _export(client: Any, token: str) -> dict[str, bytes]:
    response = client.post(
        f"/staff/s/{OWN}/export",
        data={"csrf_token": token, "formats": list(FORMATS)},
    )
    if response.status_code != 200:
        return {}
    with zipfile.ZipFile(io.BytesIO(response.get_data())) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def _seen(client: Any, urls: list[str], markers: set[str]) -> dict[str, set[str]]:
    """For each URL (and each exported file), the markers its bytes contain."""
    found: dict[str, set[str]] = {}
    for url in urls:
        body = client.get(url).get_data()
        # A search echoes what was typed: that one word is not a leak, but
        # anything found with it (the lock reason in its events) would be.
        typed = set(parse_qs(urlsplit(url).query).get("participant", []))
        hits = {m for m in markers - typed if m.encode() in body}
        if hits:
            found[url] = hits
    token = csrf_from(client.get("/staff/account").get_data(as_text=True))
    for name, body in _export(client, token).items():
        hits = {m for m in markers if m.encode() in body}
        if hits:
            found[f"export:{name}"] = hits
    return found


def _account(session, world: World, role: Role, site_code: str | None) -> str:
    return site_world.account(session, world, ((role, site_code),)).email


@pytest.mark.parametrize("role", list(Role))
def test_a_site_limited_account_sees_nothing_of_other_sites(app, client, session, role):
    world = site_world.build_world(session, app)
    email = _account(session, world, role, "01")
    assert login_staff(client, email).status_code == 302
    markers = world.markers_outside("01")
    assert _seen(client, _page_urls(app, world, "01"), markers) == {}
    # Site 02's ids typed into the same pages: refused, and nothing shown.
    typed = [
        u for u in _page_urls(app, world, "02") if u not in _page_urls(app, world, "01")
    ]
    assert typed
    for url in typed:
        if "?" not in url:
            assert client.get(url).status_code in (403, 404), url
    assert _seen(client, typed, markers) == {}
    # Not blind: the account's own site is on its dashboard.
    dashboard = client.get(f"/staff/s/{OWN}/").get_data(as_text=True)
    assert world.sites["01"].subject in dashboard


@pytest.mark.parametrize("role", [Role.DATA_MANAGER, Role.MONITOR, Role.ADMIN])
def test_site_limited_audit_and_export_still_show_their_own_site(
    app, client, session, role
):
    world = site_world.build_world(session, app)
    email = _account(session, world, role, "01")
    login_staff(client, email)
    own = world.sites["01"]
    seen = _seen(client, [f"/staff/s/{OWN}/audit.csv"], {own.subject, own.lock_reason})
    assert seen.get(f"/staff/s/{OWN}/audit.csv") == {own.subject, own.lock_reason}
    if Permission.EXPORT in ROLE_PERMISSIONS[role]:
        files = _seen(client, [], {own.subject})
        assert any(name.startswith("export:") for name in files)


def test_an_all_sites_account_sees_both_sites(app, client, session):
    # The markers are real: the same pages show them to an all-sites account.
    world = site_world.build_world(session, app)
    email = _account(session, world, Role.ADMIN, None)
    login_staff(client, email)
    other = world.sites["02"]
    seen = _seen(
        client,
        _page_urls(app, world, "01"),
        {other.subject, other.lock_reason, *other.staff_names},
    )
    everything = set().union(*seen.values())
    assert everything == {other.subject, other.lock_reason, *other.staff_names}
    assert any(key.startswith("export:") for key in seen)
    # The other study stays out of reach even of an all-sites account here.
    assert _seen(client, _page_urls(app, world, "01"), {world.other_subject}) == {}
