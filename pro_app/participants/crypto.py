"""Encrypt contact details at rest with Fernet (AES-128-CBC + HMAC-SHA256).

Pure helpers: no Flask, no database. The key is a urlsafe-base64 Fernet key
(``PRO_DATA_KEY``); callers pass it in, so nothing here reads configuration.
"""

from __future__ import annotations

from cryptography.fernet import Fernet, InvalidToken


class DataKeyError(ValueError):
    """The data key is malformed, or does not open a stored value."""


def generate_key() -> str:
    """Return a fresh Fernet key as text."""
    return Fernet.generate_key().decode()


def _fernet(data_key: str) -> Fernet:
    try:
        return Fernet(data_key.encode() if isinstance(data_key, str) else data_key)
    except (ValueError, TypeError) as exc:
        # Never echo the key itself in the message.
        raise DataKeyError("the data key is not a valid Fernet key") from exc


def check_key(data_key: str) -> None:
    """Raise ``DataKeyError`` unless ``data_key`` is a usable Fernet key."""
    _fernet(data_key)


def encrypt(value: str | None, data_key: str) -> str | None:
    """Encrypt ``value`` (``None`` stays ``None``) and return the token as text."""
    if value is None:
        return None
    return _fernet(data_key).encrypt(value.encode()).decode()


def decrypt(token: str | None, data_key: str) -> str | None:
    """Decrypt a token written by :func:`encrypt` (``None`` stays ``None``)."""
    if token is None:
        return None
    try:
        return _fernet(data_key).decrypt(token.encode()).decode()
    except InvalidToken as exc:
        raise DataKeyError("a stored value does not open with the data key") from exc
