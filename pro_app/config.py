"""Settings: safe defaults, then ``instance/config.py``, then ``PRO_*`` variables."""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from flask import Flask

REPO_ROOT = Path(__file__).resolve().parent.parent

DEFAULTS: dict[str, Any] = {
    "SECRET_KEY": None,
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
    "RATELIMIT_STORAGE_URI": "memory://",
    "RATELIMIT_HEADERS_ENABLED": True,
    "PARTICIPANT_SESSION_HOURS": 12,
    "SESSION_COOKIE_HTTPONLY": True,
    "SESSION_COOKIE_SAMESITE": "Lax",
    "SESSION_COOKIE_SECURE": True,
    "WTF_CSRF_TIME_LIMIT": None,
    "RETRY_AFTER_SECONDS": 30,
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
    if app.config["DEFAULT_LOCALE"] not in app.config["SUPPORTED_LOCALES"]:
        raise RuntimeError("PRO_DEFAULT_LOCALE must be one of PRO_SUPPORTED_LOCALES")
