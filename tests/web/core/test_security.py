import pytest
from flask import Flask
from sqlalchemy import event, select
from sqlalchemy.orm import Session

from pro_app.extensions import db
from pro_app.surveys.models import Answer
from tests.conftest import database_app, file_database_url
from tests.factories import make_link, make_participant
from tests.web.surveys.helpers import answer, item_url


def _assert_secure_headers(response):
    csp = response.headers["Content-Security-Policy"]
    assert "unsafe-inline" not in csp
    assert "unsafe-eval" not in csp
    for directive in (
        "object-src 'none'",
        "base-uri 'none'",
        "frame-ancestors 'none'",
        "script-src 'self'",
    ):
        assert directive in csp
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "no-referrer"


def test_every_participant_page_has_the_security_headers(logged_in):
    aid = logged_in.assignments["rand36"]
    answer(logged_in.client, aid, 1, "1", 1)
    for url in (
        "/",
        "/home",
        item_url(aid, 1),
        f"/a/{aid}/review",
        "/p/" + "z" * 40,
        "/nothing-here",
    ):
        response = logged_in.client.get(url)
        _assert_secure_headers(response)
        assert response.headers["Cache-Control"] == "no-store", url
    static = logged_in.client.get("/static/app.css")
    _assert_secure_headers(static)
    assert static.headers.get("Cache-Control") != "no-store"
    static.close()


def test_cookies_are_httponly_and_samesite(logged_in):
    cookie = logged_in.client.get_cookie("session")
    assert cookie.http_only
    assert cookie.same_site == "Lax"


def test_secure_cookie_outside_debug_and_testing(monkeypatch):
    monkeypatch.setenv("PRO_SECRET_KEY", "k" * 32)
    monkeypatch.setenv("PRO_DATA_KEY", "ZmDfcTF7_60GrrY167zsiPd67pEvs0aGOv2oasOM1Pg=")
    from pro_app.app import create_app

    app = create_app({"SQLALCHEMY_DATABASE_URI": "sqlite://"})
    assert app.config["SESSION_COOKIE_SECURE"] is True


def test_refuses_to_start_without_a_secret_key(monkeypatch):
    monkeypatch.delenv("PRO_SECRET_KEY", raising=False)
    from pro_app.app import create_app

    with pytest.raises(RuntimeError, match="PRO_SECRET_KEY"):
        create_app({"SQLALCHEMY_DATABASE_URI": "sqlite://"})


def test_unexpected_errors_show_no_traceback(app: Flask, client):
    @app.get("/boom")
    def boom():
        raise RuntimeError("secret detail /srv/pro_app/x.py SELECT * FROM answers")

    response = client.get("/boom")
    assert response.status_code == 500
    body = response.get_data(as_text=True)
    assert "Something went wrong" in body
    for leak in ("Traceback", "secret detail", "SELECT", ".py"):
        assert leak not in body


@pytest.fixture
def durable(_pg_schema, tmp_path):
    """An app and session on a database that outlives its connections.

    (An in-memory SQLite database dies with its connection, so use a file.)
    """
    with database_app(file_database_url(tmp_path)) as app:
        with app.app_context():
            engine = db.engine
        yield app, Session(bind=engine)


def test_database_outage_gives_503_and_keeps_saved_answers(durable):
    app, session = durable
    participant = make_participant(session)
    token = make_link(session, participant)
    aid = participant.assignments[0].id
    session.commit()  # and hold no transaction while the app works
    client = app.test_client()
    client.get(f"/p/{token}")
    assert answer(client, aid, 1, "1", 3).status_code == 302
    session.close()
    with app.app_context():
        engine = db.engine
    outage = True

    @event.listens_for(engine, "do_connect")
    def _refuse(dialect, conn_rec, cargs, cparams):
        # What the driver raises when the server is gone.
        if outage:
            raise dialect.loaded_dbapi.OperationalError("connection refused")

    engine.dispose()
    for url in (item_url(aid, 2), "/home"):
        response = client.get(url)
        assert response.status_code == 503, url
        assert response.headers["Retry-After"].isdigit()
        body = response.get_data(as_text=True)
        assert "saved so far are safe" in body
        assert "Traceback" not in body
        assert "OperationalError" not in body
    outage = False
    engine.dispose()
    rows = session.scalars(select(Answer)).all()
    assert [(a.item_id, a.code) for a in rows] == [("1", 3)]
    session.commit()
    assert client.get(item_url(aid, 2)).status_code == 200
    session.close()
