"""``flask studies`` commands."""

from flask.cli import AppGroup

cli = AppGroup("studies", help="Study protocols and enrolment.")
