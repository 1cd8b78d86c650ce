"""The demo study: the NCT06737380 trial with one participant ready to answer.

The study comes from ``studies/nct06737380.toml``, whose timepoints are a
demonstration schedule, not the protocol's schedule of assessments.
"""

from __future__ import annotations

import random
import secrets
from datetime import date, timedelta
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from pro_app.auth.models import Role
from pro_app.catalog import Catalog, load_catalog
from pro_app.participants.models import Participant
from pro_app.participants.services import issue_link
from pro_app.studies.models import Study
from pro_app.studies.protocol import load_protocol
from pro_app.studies.services import enrol, import_protocol

REPO_ROOT = Path(__file__).resolve().parent.parent.parent
DEMO_PROTOCOL = REPO_ROOT / "studies" / "nct06737380.toml"
DEMO_CODE = "NCT06737380"
DEMO_SUBJECT = "LK-001"
ACTOR = "system:demo"


def load_demo(
    session: Session,
    *,
    today: date,
    link_days: int,
    catalog: Catalog | None = None,
) -> tuple[Participant, str]:
    """Create the demo study and participant if absent; issue a fresh link.

    The participant's Day 0 is four days from ``today``, so the baseline
    questionnaires are open now. The study is imported only when absent, so a
    second run neither amends it nor moves anything.
    """
    study = session.scalar(select(Study).where(Study.code == DEMO_CODE))
    if study is None:
        catalog = catalog or load_catalog(REPO_ROOT / "instruments")
        import_protocol(session, load_protocol(DEMO_PROTOCOL, catalog), actor=ACTOR)
        study = session.scalar(select(Study).where(Study.code == DEMO_CODE))
        assert study is not None  # noqa: S101 - just imported
    participant = session.scalar(
        select(Participant).where(
            Participant.study_id == study.id, Participant.subject_id == DEMO_SUBJECT
        )
    )
    if participant is None:
        participant = enrol(
            session,
            study,
            site=study.sites[0],
            subject_id=DEMO_SUBJECT,
            day0=today + timedelta(days=4),
            timezone=study.timezone,
            language=None,
            actor=ACTOR,
        )
    token = issue_link(session, participant, valid_days=link_days, actor=ACTOR)
    return participant, token


DEMO_STAFF = (
    ("admin@demo.invalid", "Ada Admin", Role.ADMIN, True),
    ("coordinator@demo.invalid", "Carmen Coordinator", Role.COORDINATOR, False),
    ("investigator@demo.invalid", "Ivan Investigator", Role.INVESTIGATOR, False),
    ("datamanager@demo.invalid", "Dana Data-Manager", Role.DATA_MANAGER, False),
    ("monitor@demo.invalid", "Moshe Monitor", Role.MONITOR, False),
)


def load_demo_staff(session: Session, study: Study) -> list[tuple[str, str, str]]:
    """Create (or re-key) one demo account per role; return (email, role, password).

    Each run gives every demo account a fresh random password, printed once by
    ``flask demo``: no demo password is ever shipped in the code.
    """
    from pro_app.auth import grants
    from pro_app.auth import services as auth

    logins = []
    for email, name, role, is_admin in DEMO_STAFF:
        password = secrets.token_urlsafe(12)
        user = auth.user_by_email(session, email)
        if user is None:
            user = auth.create_user(
                session,
                email=email,
                name=name,
                password=password,
                is_admin=is_admin,
                actor=ACTOR,
            )
        else:
            auth.reset_password(
                session, user, password, actor=ACTOR, reason="demo passwords renewed"
            )
            user.must_change_password = False
            auth.set_disabled(session, user, False, actor=ACTOR, reason="demo")
        grants.grant_role(session, user, study, role, actor=ACTOR, granted_by=None)
        logins.append((email, role.value, password))
    return logins


# Demo participants with a history, so the dashboard and the charts have
# something to show: (subject id, days since Day 0, visits answered, withdrawn).
DEMO_HISTORY = (
    ("LK-002", 200, ("BL", "W4", "W12", "W24"), False),
    ("LK-003", 120, ("BL", "W4", "W12"), False),
    ("LK-004", 95, ("BL", "W12"), False),
    ("LK-005", 40, ("BL",), True),
    ("LK-006", 30, ("BL", "W4"), False),
)


def _demo_code(item: object, visit: int, rng: random.Random) -> int | None:
    codes = item.codes  # type: ignore[attr-defined]
    if rng.random() < 0.02:
        return None  # the odd skipped item
    # Drift from the first response codes towards the middle of the scale
    # visit by visit: scores move, so the charts show trajectories.
    centre = min(len(codes) - 1, visit + rng.choice((0, 0, 1)))
    return codes[max(0, min(len(codes) - 1, centre + rng.choice((-1, 0, 0, 1))))]


def load_demo_history(session: Session, study: Study, *, today: date) -> int:
    """Enrol the history participants (once) and answer their past visits.

    Returns the number of questionnaires completed. Answers are made up by a
    seeded generator: they are demonstration data, not trial data.
    """
    from pro_app.studies.enrolment import withdraw
    from pro_app.studies.models import Assignment
    from pro_app.surveys import services as surveys

    catalog = load_catalog(REPO_ROOT / "instruments")
    done = 0
    for subject, days, visits, withdrawn in DEMO_HISTORY:
        exists = session.scalar(
            select(Participant).where(
                Participant.study_id == study.id, Participant.subject_id == subject
            )
        )
        if exists is not None:
            continue
        participant = enrol(
            session,
            study,
            site=study.sites[0],
            subject_id=subject,
            day0=today - timedelta(days=days),
            timezone=study.timezone,
            language=None,
            actor=ACTOR,
        )
        rng = random.Random(subject)  # noqa: S311 - demonstration data only
        actor = f"participant:{participant.id}"
        assignments = session.scalars(
            select(Assignment)
            .where(Assignment.participant_id == participant.id)
            .order_by(Assignment.opens_at, Assignment.position)
        ).all()
        for assignment in assignments:
            code = assignment.timepoint.code
            if code not in visits:
                continue
            when = max(assignment.opens_at, assignment.due_at - timedelta(days=1))
            instrument = catalog.get(
                assignment.instrument_id, assignment.instrument_version
            )
            submission = surveys.start_or_resume(
                session,
                assignment,
                language="en",
                ui_language="en",
                actor=actor,
                now=when,
            )
            for item in instrument.items:
                surveys.save_answer(
                    session,
                    submission,
                    item,
                    _demo_code(item, visits.index(code), rng),
                    actor=actor,
                    now=when,
                )
            surveys.submit(session, submission, actor=actor, catalog=catalog, now=when)
            done += 1
        if withdrawn:
            withdraw(
                session,
                participant,
                actor=ACTOR,
                reason="Demo: withdrew consent after baseline",
            )
    return done
