import pytest

from pro_app.participants.crypto import (
    DataKeyError,
    decrypt,
    encrypt,
    generate_key,
)

KEY = generate_key()


def test_round_trip_and_salted_tokens():
    token = encrypt("a@b.org", KEY)
    assert "a@b.org" not in token
    assert encrypt("a@b.org", KEY) != token  # Fernet tokens are salted
    assert decrypt(token, KEY) == "a@b.org"
    assert encrypt(None, KEY) is None
    assert decrypt(None, KEY) is None


def test_the_wrong_key_is_refused_without_echoing_it():
    token = encrypt("a@b.org", KEY)
    other = generate_key()
    with pytest.raises(DataKeyError) as err:
        decrypt(token, other)
    assert other not in str(err.value)
    with pytest.raises(DataKeyError, match="not a valid Fernet key"):
        encrypt("x", "not-a-key")


def test_tests_get_an_ephemeral_data_key(app):
    assert app.config["DATA_KEY"]


def test_refuses_to_start_without_a_data_key(monkeypatch):
    from pro_app.app import create_app

    monkeypatch.setenv("PRO_SECRET_KEY", "k" * 32)
    monkeypatch.delenv("PRO_DATA_KEY", raising=False)
    with pytest.raises(RuntimeError, match="PRO_DATA_KEY"):
        create_app({"SQLALCHEMY_DATABASE_URI": "sqlite://"})
    monkeypatch.setenv("PRO_DATA_KEY", "short")
    with pytest.raises(RuntimeError, match="PRO_DATA_KEY is not a valid Fernet key"):
        create_app({"SQLALCHEMY_DATABASE_URI": "sqlite://"})
    monkeypatch.setenv("PRO_DATA_KEY", KEY)
    assert (
        create_app({"SQLALCHEMY_DATABASE_URI": "sqlite://"}).config["DATA_KEY"] == KEY
    )
