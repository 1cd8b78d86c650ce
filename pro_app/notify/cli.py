"""``flask notify`` commands."""

from flask.cli import AppGroup

cli = AppGroup("notify", help="Invitations and reminders.")
