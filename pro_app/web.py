"""Cross-cutting web behaviour: headers, error pages, request metadata, logs."""

from __future__ import annotations

import logging
import re
from typing import Any

from flask import Flask, Response, current_app, g, render_template, request
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import DBAPIError
from werkzeug.exceptions import HTTPException

from pro_app.audit.services import RequestMeta, request_meta
from pro_app.catalog import Catalog
from pro_app.extensions import db

CSP = "; ".join(
    [
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "connect-src 'self'",
        "form-action 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "frame-ancestors 'none'",
    ]
)

_TOKEN_PATH = re.compile(r"/p/[^\s/?\"']+")

log = logging.getLogger(__name__)


def mask_tokens(text: str) -> str:
    """Replace the token of every personal-link path in ``text``."""
    return _TOKEN_PATH.sub("/p/[redacted]", text)


class TokenMaskingFilter(logging.Filter):
    """Keep personal-link tokens out of request logs."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        masked = mask_tokens(message)
        if masked != message:
            record.msg, record.args = masked, ()
        return True


def current_catalog() -> Catalog:
    """Return the instrument catalogue loaded at start-up."""
    return current_app.extensions["pro_catalog"]


def init_web(app: Flask) -> None:
    """Install headers, error pages, request metadata and log masking."""
    for name in ("werkzeug", "gunicorn.access", "gunicorn.error"):
        logging.getLogger(name).addFilter(TokenMaskingFilter())
    from pro_app.surveys.team_contact import contact_block

    # A global, not a context value: imported macros (surveys/_contact.html)
    # see globals only.
    app.jinja_env.globals["study_contact_block"] = contact_block

    @app.before_request
    def _remember_request_meta() -> None:
        request_meta.set(
            RequestMeta(ip=request.remote_addr, user_agent=request.user_agent.string)
        )

    @app.after_request
    def _security_headers(response: Response) -> Response:
        headers = response.headers
        headers.setdefault("Content-Security-Policy", CSP)
        headers["X-Content-Type-Options"] = "nosniff"
        headers["Referrer-Policy"] = "no-referrer"
        headers["X-Frame-Options"] = "DENY"
        headers["Cross-Origin-Opener-Policy"] = "same-origin"
        headers["Permissions-Policy"] = "camera=(), microphone=(), geolocation=()"
        if request.endpoint != "static":
            # Pages may show answers: never keep them in a shared cache or
            # in the browser's back-forward history on a shared phone.
            headers["Cache-Control"] = "no-store"
            headers.add("Vary", "Cookie")
        return response

    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(CSRFError, _csrf_error)
    app.register_error_handler(DBAPIError, _database_error)
    app.register_error_handler(Exception, _unexpected_error)


def _error_page(status: int, title: str, message: str) -> tuple[str, int]:
    return (
        render_template(
            "errors/error.html", status=status, title=title, message=message
        ),
        status,
    )


def _http_error(error: HTTPException) -> Any:
    if error.code is None or error.code < 400:
        return error
    titles = {
        400: (
            _("Something was wrong with that request"),
            _("Nothing was saved. Go back, reload the page and try again."),
        ),
        403: (_("Not allowed"), _("You do not have access to this page.")),
        404: (
            _("Page not found"),
            _("This page does not exist or is not yours to see."),
        ),
        405: (_("Not allowed"), _("This page cannot be used that way.")),
        429: (
            _("Too many attempts"),
            _(
                "Please wait a few minutes before you try again. If this keeps "
                "happening, contact your study team."
            ),
        ),
    }
    title, message = titles.get(
        error.code, (_("Something went wrong"), _("Please try again later."))
    )
    return _error_page(error.code, title, message)


def _csrf_error(error: CSRFError) -> Any:
    return _error_page(
        400,
        _("This page has expired"),
        _("Nothing was saved from that page. Go back, reload it and try again."),
    )


def service_unavailable() -> Any:
    """The page for a database outage: 503 with Retry-After, nothing lost."""
    g.pro_database_down = True  # the page asks the database nothing more
    body, status = _error_page(
        503,
        _("Temporarily unavailable"),
        _(
            "The service is briefly unavailable. Your answers saved so far are "
            "safe. Please try again in a few minutes."
        ),
    )
    return body, status, {"Retry-After": str(current_app.config["RETRY_AFTER_SECONDS"])}


def _database_error(error: DBAPIError) -> Any:
    db.session.rollback()
    if error.connection_invalidated or _is_outage(error):
        log.error("database unavailable: %s", type(error.orig).__name__)
        return service_unavailable()
    return _unexpected_error(error)


def _is_outage(error: DBAPIError) -> bool:
    from sqlalchemy.exc import InterfaceError, OperationalError

    return isinstance(error, OperationalError | InterfaceError)


def _unexpected_error(error: Exception) -> Any:
    if isinstance(error, HTTPException):
        return _http_error(error)
    log.exception("unhandled error on %s", mask_tokens(request.path))
    db.session.rollback()
    return _error_page(500, _("Something went wrong"), _("Please try again later."))
