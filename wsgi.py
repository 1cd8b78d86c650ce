"""WSGI entry point for production servers (e.g. ``gunicorn wsgi:app``)."""

from pro_app.app import create_app

app = create_app()
