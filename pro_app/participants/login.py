"""Flask-Login glue for participants: a session key, never the primary key."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from flask import abort, g, render_template, session
from flask_login import UserMixin, current_user, login_user, logout_user
from sqlalchemy.exc import DBAPIError

from pro_app.extensions import db
from pro_app.participants import services
from pro_app.participants.models import Participant

PREFIX = "p:"


class ParticipantUser(UserMixin):
    """The logged-in participant, identified by a revocable session key."""

    def __init__(self, participant: Participant, key: str) -> None:
        self.participant = participant
        self.key = key

    def get_id(self) -> str:
        return PREFIX + self.key


def load_participant(user_id: str) -> ParticipantUser | None:
    """Flask-Login loader for participant keys (``p:...``)."""
    if not user_id.startswith(PREFIX):
        return None
    key = user_id.removeprefix(PREFIX)
    try:
        participant = services.participant_for_session(db.session, key)
    except DBAPIError:
        # Outage: carry on anonymous so the 503 page itself can render, and
        # let participant pages answer 503 rather than "please sign in".
        db.session.rollback()
        g.pro_database_down = True
        return None
    return None if participant is None else ParticipantUser(participant, key)


def log_in(participant: Participant, key: str) -> None:
    """Start a fresh browser session for the participant.

    Clearing first drops anything the old cookie carried (a staff login, an
    earlier participant), so identities never mix and the session rotates.
    """
    lang = session.get("lang")
    session.clear()
    if lang:
        session["lang"] = lang
    login_user(ParticipantUser(participant, key))
    session.permanent = False


def log_out() -> None:
    """End the participant's session on the server and in the browser."""
    if isinstance(current_user, ParticipantUser):
        services.end_session(db.session, current_user.key)
    logout_user()
    session.clear()


def participant_required(view: Callable[..., Any]) -> Callable[..., Any]:
    """Allow a view only to a logged-in participant; others get a clear page."""

    @wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        if not isinstance(current_user._get_current_object(), ParticipantUser):
            if g.get("pro_database_down"):
                from pro_app.web import service_unavailable

                return service_unavailable()
            return render_template("surveys/signed_out.html"), 401
        return view(*args, **kwargs)

    return wrapped


def current_participant() -> Participant:
    """Return the logged-in participant (inside ``participant_required`` views)."""
    user = current_user._get_current_object()
    if not isinstance(user, ParticipantUser):
        abort(401)
    return user.participant
