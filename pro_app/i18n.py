"""Locale choice: the participant's setting, else the browser's, else the default."""

from __future__ import annotations

from flask import Flask, current_app, request, session
from flask_babel import Babel, format_date, format_datetime, get_locale
from flask_login import current_user

RTL_LOCALES = frozenset({"he", "ar"})
# Each language named in itself, for the switcher.
LANGUAGE_NAMES = {
    "en": "English",
    "es": "Español",
    "he": "עברית",
    "ar": "العربية",
    "ru": "Русский",
}


def select_locale() -> str:
    """Return the locale for this request."""
    supported = current_app.config["SUPPORTED_LOCALES"]
    participant = getattr(current_user, "participant", None)
    if participant is not None and participant.language in supported:
        return participant.language
    chosen = session.get("lang")
    if chosen in supported:
        return chosen
    return request.accept_languages.best_match(
        supported, default=current_app.config["DEFAULT_LOCALE"]
    )


def select_timezone() -> str:
    """Dates are shown in the participant's own time zone."""
    participant = getattr(current_user, "participant", None)
    if participant is not None:
        return participant.timezone
    return current_app.config["DEFAULT_TIMEZONE"]


def text_direction(locale: str) -> str:
    """Return ``rtl`` for right-to-left scripts, else ``ltr``."""
    return "rtl" if locale in RTL_LOCALES else "ltr"


def init_i18n(app: Flask, babel: Babel) -> None:
    """Bind Flask-Babel and expose the page language and direction to templates."""
    app.config.setdefault(
        "BABEL_TRANSLATION_DIRECTORIES", app.config["TRANSLATIONS_DIR"]
    )
    app.config.setdefault("BABEL_DEFAULT_LOCALE", app.config["DEFAULT_LOCALE"])
    babel.init_app(
        app, locale_selector=select_locale, timezone_selector=select_timezone
    )
    app.jinja_env.globals.update(
        format_date=format_date, format_datetime=format_datetime
    )

    @app.context_processor
    def _language_context() -> dict[str, object]:
        locale = str(get_locale() or app.config["DEFAULT_LOCALE"])
        return {
            "page_lang": locale,
            "page_dir": text_direction(locale),
            "language_names": {
                code: LANGUAGE_NAMES[code]
                for code in app.config["SUPPORTED_LOCALES"]
                if code in LANGUAGE_NAMES
            },
            "text_direction": text_direction,
        }
