from functools import cache
from pathlib import Path

import pytest
from babel.messages.pofile import read_po
from sqlalchemy import select

from pro_app.audit.models import AuditEvent
from pro_app.participants.models import Participant
from tests.conftest import csrf_from
from tests.factories import make_link, make_participant
from tests.web.surveys.helpers import item_url

ROOT = Path(__file__).resolve().parents[3]


@cache
def translated(locale: str, msgid: str) -> str:
    path = ROOT / "translations" / locale / "LC_MESSAGES" / "messages.po"
    with path.open("rb") as fh:
        message = read_po(fh).get(msgid)
    assert message is not None, (locale, msgid)
    assert message.string, (locale, msgid)
    return message.string


def _login(client, session, **participant):
    p = make_participant(session, **participant)
    token = make_link(session, p)
    session.commit()
    client.get(f"/p/{token}")
    return p


@pytest.mark.parametrize(
    ("header", "lang", "direction"),
    [
        ("he-IL,he;q=0.9", "he", "rtl"),
        ("ar", "ar", "rtl"),
        ("ru-RU", "ru", "ltr"),
        ("es-ES,es;q=0.8,en;q=0.5", "es", "ltr"),
        ("fr-FR", "en", "ltr"),
    ],
)
def test_accept_language_picks_the_ui_language(
    client, session, header, lang, direction
):
    _login(client, session)
    page = client.get("/home", headers={"Accept-Language": header}).get_data(
        as_text=True
    )
    assert f'<html lang="{lang}" dir="{direction}">' in page
    expected = (
        "Your questionnaires"
        if lang == "en"
        else translated(lang, "Your questionnaires")
    )
    assert expected in page
    if lang != "en":
        assert "Your questionnaires" not in page


def test_the_participant_setting_beats_the_browser(client, session):
    _login(client, session, language="ar")
    page = client.get("/home", headers={"Accept-Language": "ru"}).get_data(as_text=True)
    assert '<html lang="ar" dir="rtl">' in page


def test_switching_language_is_saved_and_audited(client, session):
    participant = _login(client, session)
    page = client.get("/home").get_data(as_text=True)
    response = client.post(
        "/language",
        data={"csrf_token": csrf_from(page), "lang": "he", "next": "/home"},
    )
    assert response.headers["Location"] == "/home"
    session.expire_all()
    assert session.get(Participant, participant.id).language == "he"
    event = session.scalar(
        select(AuditEvent).where(AuditEvent.action == "participant.language")
    )
    assert event.old_value == {"language": None}
    assert event.new_value == {"language": "he"}
    assert 'dir="rtl"' in client.get("/home").get_data(as_text=True)


def test_switching_refuses_unknown_languages_and_foreign_redirects(client, session):
    _login(client, session)
    token = csrf_from(client.get("/home").get_data(as_text=True))
    bad = client.post("/language", data={"csrf_token": token, "lang": "xx"})
    assert bad.status_code == 400
    for target in ("https://evil.example/", "//evil.example/", "/p/sometoken"):
        response = client.post(
            "/language", data={"csrf_token": token, "lang": "es", "next": target}
        )
        assert response.headers["Location"] == "/", target


def test_language_switch_works_before_login(client):
    page = client.get("/p/" + "n" * 40).get_data(as_text=True)
    client.post("/language", data={"csrf_token": csrf_from(page), "lang": "ru"})
    again = client.get("/p/" + "n" * 40).get_data(as_text=True)
    assert '<html lang="ru" dir="ltr">' in again
    assert translated("ru", "This link does not work") in again


def test_instrument_stays_english_with_a_notice_in_the_ui_language(client, session):
    participant = _login(client, session, language="he")
    aid = next(a.id for a in participant.assignments if a.instrument_id == "rand36")
    page = client.get(item_url(aid, 1)).get_data(as_text=True)
    assert "In general, would you say your health is:" in page
    assert (
        translated(
            "he",
            "This questionnaire is shown in English: a validated translation into your "
            "language is not available yet.",
        )
        in page
    )
    assert '<legend lang="en" dir="ltr">' in page
    assert translated("he", "Next") in page


def test_english_participants_get_no_notice(client, session):
    participant = _login(client, session, language="en")
    aid = participant.assignments[0].id
    page = client.get(item_url(aid, 1)).get_data(as_text=True)
    assert "validated translation" not in page
