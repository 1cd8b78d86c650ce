"""The application factory."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from flask import Flask

from pro_app.catalog import load_catalog
from pro_app.config import load_config, validate_config
from pro_app.extensions import babel, csrf, db, limiter, login_manager, migrate


def create_app(test_config: Mapping[str, Any] | None = None) -> Flask:
    """Build the app. No database access, migrations or network calls here."""
    instance = (test_config or {}).get("INSTANCE_PATH") or os.environ.get(
        "PRO_INSTANCE_PATH"
    )
    app = Flask(__name__, instance_path=instance, instance_relative_config=True)
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)
    load_config(app, test_config)
    validate_config(app)
    # A bad instrument file stops start-up here, naming the file and the key.
    app.extensions["pro_catalog"] = load_catalog(Path(app.config["INSTRUMENTS_DIR"]))
    init_extensions(app)
    register_blueprints(app)
    register_web(app)
    register_commands(app)
    return app


def init_extensions(app: Flask) -> None:
    """Bind the module-level extensions to this app."""
    from pro_app import models  # noqa: F401  (every table in the metadata)
    from pro_app.db import configure_engine_events
    from pro_app.i18n import init_i18n

    db.init_app(app)
    with app.app_context():
        configure_engine_events(db.engine)
    migrate.init_app(
        app,
        db,
        directory=str(Path(app.root_path).parent / "migrations"),
        render_as_batch=True,
        compare_type=True,
    )
    csrf.init_app(app)
    limiter.init_app(app)
    login_manager.init_app(app)
    # The one user loader (staff and participant sessions) lives here.
    import pro_app.auth.access  # noqa: F401

    init_i18n(app, babel)


def register_blueprints(app: Flask) -> None:
    """Register each feature's blueprint."""
    from pro_app.auth.admin import bp as auth_bp
    from pro_app.staff import bp as staff_bp
    from pro_app.surveys.views import bp as surveys_bp

    app.register_blueprint(surveys_bp)
    app.register_blueprint(auth_bp)
    app.register_blueprint(staff_bp)


def register_web(app: Flask) -> None:
    """Security headers, error pages, request metadata and log masking."""
    from pro_app import web

    web.init_web(app)


def register_commands(app: Flask) -> None:
    """Add the ``flask`` command groups."""
    from pro_app.cli import register_commands as register

    register(app)
