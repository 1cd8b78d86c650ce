"""Plain factory functions: build records through the services, flush, return."""

from __future__ import annotations

import secrets
import tomllib
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from pro_app.auth.grants import grant_role
from pro_app.auth.models import Role, StaffUser
from pro_app.auth.services import create_user
from pro_app.catalog import Catalog
from pro_app.dbtypes import utcnow
from pro_app.participants import links
from pro_app.participants.models import LinkPurpose, Participant
from pro_app.studies.models import Site, Study
from pro_app.studies.protocol import Protocol, parse_protocol
from pro_app.studies.services import TimepointSpec, create_study, enrol

PROS = (("rand36", "1.0"), ("promis29", "2.1"), ("promis_global", "1.2"))


def make_study(session: Session, **overrides: Any) -> Study:
    """A study with one site, a baseline and a week-4 timepoint."""
    args: dict[str, Any] = {
        "code": "TEST-1",
        "title": "Test study",
        "timezone": "UTC",
        "sites": [("01", "Site one")],
        "timepoints": [
            TimepointSpec("BL", "Baseline", 0, 7, 7, PROS),
            TimepointSpec("W4", "Week 4", 28, 3, 3, PROS),
        ],
        "actor": "system:test",
    }
    args.update(overrides)
    return create_study(session, **args)


def make_participant(
    session: Session, study: Study | None = None, **overrides: Any
) -> Participant:
    """A participant whose baseline questionnaires are open today."""
    study = study or make_study(session)
    args: dict[str, Any] = {
        "site": study.sites[0],
        "subject_id": "LK-001",
        "day0": date.today() + timedelta(days=1),
        "timezone": "UTC",
        "language": None,
        "actor": "system:test",
    }
    args.update(overrides)
    return enrol(session, study, **args)


def make_link(session: Session, participant: Participant, days: int = 30) -> str:
    """Issue a personal link and return the raw token."""
    now = utcnow()
    return links.issue(
        session,
        participant,
        purpose=LinkPurpose.LINK,
        expires_at=now + timedelta(days=days),
        actor="system:test",
        now=now,
    ).raw


REPO_ROOT = Path(__file__).resolve().parent.parent
SHIPPED_PROTOCOL = REPO_ROOT / "studies" / "nct06737380.toml"


def protocol_doc() -> dict[str, Any]:
    """The shipped demo protocol as a parsed TOML document, to edit in a test."""
    return tomllib.loads(SHIPPED_PROTOCOL.read_text(encoding="utf-8"))


def make_protocol(catalog: Catalog, doc: dict[str, Any] | None = None) -> Protocol:
    """A validated protocol: the shipped demo one, or ``doc`` (e.g. an amendment)."""
    return parse_protocol(SHIPPED_PROTOCOL, doc or protocol_doc(), catalog)


STAFF_PASSWORD = "correct horse battery staple"


def make_staff(
    session: Session,
    role: Role | str | None = Role.COORDINATOR,
    study: Study | None = None,
    *,
    email: str | None = None,
    site: Site | None = None,
    is_admin: bool = False,
    password: str = STAFF_PASSWORD,
) -> StaffUser:
    """A staff account, with ``role`` in ``study`` when both are given."""
    role = None if role is None else Role(role)
    email = email or f"{role.value if role else 'user'}-{secrets.token_hex(3)}@x.test"
    user = create_user(
        session,
        email=email,
        name=email.split("@")[0].title(),
        password=password,
        is_admin=is_admin,
        actor="system:test",
    )
    if role is not None and study is not None:
        grant_role(
            session, user, study, role, site=site, actor="system:test", granted_by=None
        )
    return user


def complete_assignment(
    session: Session,
    assignment: Any,
    catalog: Catalog,
    answers: dict[str, int | None] | None = None,
) -> Any:
    """Answer an open assignment through the participant services and submit it.

    ``answers`` maps item ids to codes; by default every item gets its first code.
    """
    from pro_app.surveys import services

    instrument = catalog.get(assignment.instrument_id, assignment.instrument_version)
    actor = f"participant:{assignment.participant_id}"
    submission = services.start_or_resume(
        session, assignment, language="en", ui_language="en", actor=actor
    )
    for item in instrument.items:
        code = (answers or {}).get(item.id, item.codes[0]) if answers else item.codes[0]
        services.save_answer(session, submission, item, code, actor=actor)
    services.submit(session, submission, actor=actor, catalog=catalog)
    return submission
