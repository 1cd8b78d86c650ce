"""Settings: safe defaults, then ``instance/config.py``, then ``PRO_*`` variables."""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from flask import Flask

from pro_app.participants.crypto import DataKeyError, check_key, generate_key

REPO_ROOT = Path(__file__).resolve().parent.parent

DEFAULTS: dict[str, Any] = {
    "SECRET_KEY": None,
    # Fernet key for contact details at rest (PRO_DATA_KEY); `make run` makes one.
    "DATA_KEY": None,
    "INSTRUMENTS_DIR": str(REPO_ROOT / "instruments"),
    "TRANSLATIONS_DIR": str(REPO_ROOT / "translations"),
    "SUPPORTED_LOCALES": ("en", "es", "he", "ar", "ru"),
    "DEFAULT_LOCALE": "en",
    "DEFAULT_TIMEZONE": "UTC",
    "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True},
    # Personal links: how long an issued link stays valid, and how many failed
    # link attempts one address may make before it is told to wait.
    "ACCESS_TOKEN_DAYS": 400,
    "LINK_FAILURE_LIMIT": "10 per 15 minutes",
    # "Send me a new link" from a dead link's page, per address (a clinic's
    # network is shared); each participant gets one such message a day.
    "LINK_RENEWAL_LIMIT": "20 per hour",
    "RATELIMIT_STORAGE_URI": "memory://",
    "RATELIMIT_HEADERS_ENABLED": True,
    "PARTICIPANT_SESSION_HOURS": 12,
    "SESSION_COOKIE_HTTPONLY": True,
    "SESSION_COOKIE_SAMESITE": "Lax",
    "SESSION_COOKIE_SECURE": True,
    "WTF_CSRF_TIME_LIMIT": None,
    # Staff sign-in: lockout after repeated failures, per-address throttle,
    # inactivity limit (a study may set a shorter one: "staff_idle_minutes")
    # and the absolute length of a session.
    "STAFF_LOCKOUT_THRESHOLD": 5,
    "STAFF_LOCKOUT_MINUTES": 15,
    "STAFF_LOGIN_LIMIT": "30 per 15 minutes",
    "STAFF_IDLE_MINUTES": 15,
    "STAFF_SESSION_HOURS": 12,
    "TOTP_ISSUER": "pro-app",
    "RETRY_AFTER_SECONDS": 30,
    # Invitations and reminders (`flask notify send`). Backends: email "smtp" or
    # "file" (instance/outbox/, the demo's default); SMS "http", "file" or "none".
    "NOTIFY_EMAIL_BACKEND": "file",
    "NOTIFY_SMS_BACKEND": "file",
    "NOTIFY_BASE_URL": "http://127.0.0.1:5000",
    "NOTIFY_BATCH_SIZE": 100,
    "NOTIFY_CLAIM_TIMEOUT_MINUTES": 15,
    "NOTIFY_MAX_ATTEMPTS": 5,
    "NOTIFY_TEAM_CONTACT": None,
    "SMTP_HOST": "localhost",
    "SMTP_PORT": 25,
    "SMTP_USERNAME": None,
    "SMTP_PASSWORD": None,
    "SMTP_STARTTLS": False,
    "SMTP_FROM": "pro-app@localhost",
    "SMS_HTTP_URL": None,
    "SMS_HTTP_USERNAME": None,
    "SMS_HTTP_PASSWORD": None,
    "SMS_HTTP_PAYLOAD": '{"to": "{to}", "text": "{body}"}',
    "SMS_SENDER_ID": "",
}


def load_config(app: Flask, test_config: Mapping[str, Any] | None) -> None:
    """Fill ``app.config`` in order: defaults, instance file, environment, test."""
    app.config.from_mapping(DEFAULTS)
    app.config.from_pyfile("config.py", silent=True)
    app.config.from_prefixed_env("PRO")
    # PRO_DATABASE_URL is the documented name; Flask-SQLAlchemy wants its own key.
    url = os.environ.get("PRO_DATABASE_URL") or app.config.get("DATABASE_URL")
    if url:
        app.config["SQLALCHEMY_DATABASE_URI"] = url
    app.config.setdefault(
        "SQLALCHEMY_DATABASE_URI",
        f"sqlite:///{Path(app.instance_path) / 'pro_app.sqlite'}",
    )
    if test_config:
        app.config.from_mapping(test_config)
    if app.debug or app.testing:
        # The development server speaks plain HTTP on 127.0.0.1.
        app.config["SESSION_COOKIE_SECURE"] = bool(
            test_config and test_config.get("SESSION_COOKIE_SECURE")
        )


def validate_config(app: Flask) -> None:
    """Refuse to start with settings that would be unsafe in production."""
    if not app.config.get("SECRET_KEY") and not (app.debug or app.testing):
        raise RuntimeError(
            "PRO_SECRET_KEY is not set. Set it in the environment or in "
            "instance/config.py; `make run` generates one for development."
        )
    if not app.config.get("SECRET_KEY"):
        # Debug and test runs get a key that dies with the process.
        app.config["SECRET_KEY"] = secrets.token_hex(32)
    if not app.config.get("DATA_KEY") and not (app.debug or app.testing):
        raise RuntimeError(
            "PRO_DATA_KEY is not set. Set it to a Fernet key (see README); "
            "`make run` generates one into instance/ for development."
        )
    if not app.config.get("DATA_KEY"):
        # Contact details written in a debug or test run die with the process.
        app.config["DATA_KEY"] = generate_key()
    try:
        check_key(app.config["DATA_KEY"])
    except DataKeyError as exc:
        raise RuntimeError("PRO_DATA_KEY is not a valid Fernet key") from exc
    if app.config["DEFAULT_LOCALE"] not in app.config["SUPPORTED_LOCALES"]:
        raise RuntimeError("PRO_DEFAULT_LOCALE must be one of PRO_SUPPORTED_LOCALES")
