"""The demo study: the NCT06737380 trial with one participant ready to answer.

The study comes from ``studies/nct06737380.toml``, whose timepoints are a
demonstration schedule, not the protocol's schedule of assessments. Besides
LK-001, participants with a history put something in each of the dashboard's
"needs action today" lists (overdue, due within two days, opening today,
missed, a failed message). Every demo participant has fictional contact
details (example.org addresses, UK numbers Ofcom reserves for drama) and,
given the data key, a working personal link.
"""

from __future__ import annotations

import random
import secrets
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from pro_app.auth.models import Role
from pro_app.catalog import Catalog, load_catalog
from pro_app.dbtypes import utcnow
from pro_app.participants import links
from pro_app.participants.models import LinkPurpose, Participant, ParticipantStatus
from pro_app.studies.models import Study
from pro_app.studies.protocol import load_protocol
from pro_app.studies.services import enrol, import_protocol

REPO_ROOT = Path(__file__).resolve().parent.parent.parent
DEMO_PROTOCOL = REPO_ROOT / "studies" / "nct06737380.toml"
DEMO_CODE = "NCT06737380"
DEMO_SUBJECT = "LK-001"
ACTOR = "system:demo"


def demo_today(now: datetime | None = None) -> date:
    """Today in the demo study's time zone: the day its windows are counted in."""
    zone = ZoneInfo(load_protocol(DEMO_PROTOCOL, None).timezone)
    return (now or utcnow()).astimezone(zone).date()


def demo_contact(subject_id: str) -> dict[str, str]:
    """Fictional contact details: an example.org address, a drama-range number."""
    number = int(subject_id.rsplit("-", 1)[-1])
    return {
        "email": f"{subject_id.lower()}@example.org",
        # +44 7700 900000-900999: UK mobile numbers reserved for drama (Ofcom).
        "phone": f"+44 7700 900{number:03d}",
    }


def demo_link(
    session: Session,
    participant: Participant,
    *,
    link_days: int,
    data_key: str | None,
    now: datetime,
) -> str:
    """The participant's personal link (kept, given the data key), as a raw token."""
    if data_key is not None:
        # The participant's personal link: the same one their messages carry.
        link = links.personal_link(
            session,
            participant,
            data_key=data_key,
            valid_days=link_days,
            actor=ACTOR,
            now=now,
        )
    else:
        link = links.issue(
            session,
            participant,
            purpose=LinkPurpose.LINK,
            expires_at=now + timedelta(days=link_days),
            actor=ACTOR,
            now=now,
        )
    return link.raw


def load_demo(
    session: Session,
    *,
    today: date,
    link_days: int,
    catalog: Catalog | None = None,
    data_key: str | None = None,
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
            data_key=data_key,
            **(demo_contact(DEMO_SUBJECT) if data_key else {}),
        )
    token = demo_link(
        session, participant, link_days=link_days, data_key=data_key, now=utcnow()
    )
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
# With the demo schedule (BL 3 days before Day 0, window -14/+3; W4 on day 28,
# window -7/+7), LK-001 is due within two days and the last three each need
# action today: baseline overdue (and its reminder failed), Week 4 opening
# today, baseline missed four days ago.
DEMO_HISTORY = (
    ("LK-002", 200, ("BL", "W4", "W12", "W24"), False),
    ("LK-003", 120, ("BL", "W4", "W12"), False),
    ("LK-004", 95, ("BL", "W12"), False),
    ("LK-005", 40, ("BL",), True),
    ("LK-006", 30, ("BL", "W4"), False),
    ("LK-007", -1, (), False),
    ("LK-008", 21, ("BL",), False),
    ("LK-009", 5, (), False),
)
FAILED_MESSAGE_SUBJECT = "LK-007"
# What a provider says of an address that does not exist (demonstration).
FAILED_MESSAGE_ERROR = "550 5.1.1 mailbox unavailable (demonstration)"


def _demo_code(item: object, visit: int, rng: random.Random) -> int | None:
    codes = item.codes  # type: ignore[attr-defined]
    if rng.random() < 0.02:
        return None  # the odd skipped item
    # Drift from the first response codes towards the middle of the scale
    # visit by visit: scores move, so the charts show trajectories.
    centre = min(len(codes) - 1, visit + rng.choice((0, 0, 1)))
    return codes[max(0, min(len(codes) - 1, centre + rng.choice((-1, 0, 0, 1))))]


def load_demo_history(
    session: Session,
    study: Study,
    *,
    today: date,
    data_key: str | None = None,
    now: datetime | None = None,
) -> int:
    """Enrol the history participants (once) and answer their past visits.

    Returns the number of questionnaires completed. Answers are made up by a
    seeded generator: they are demonstration data, not trial data.

    Args:
        data_key: given, each participant gets fictional contact details.
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
            data_key=data_key,
            **(demo_contact(subject) if data_key else {}),
        )
        if subject == FAILED_MESSAGE_SUBJECT:
            _failed_message(session, participant, now or utcnow())
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


def demo_links(
    session: Session, study: Study, *, link_days: int, data_key: str | None
) -> list[tuple[str, str]]:
    """(subject id, raw token) of every active demo participant but LK-001."""
    people = session.scalars(
        select(Participant)
        .where(
            Participant.study_id == study.id,
            Participant.status == ParticipantStatus.ACTIVE,
            Participant.subject_id != DEMO_SUBJECT,
        )
        .order_by(Participant.subject_id)
    ).all()
    now = utcnow()
    return [
        (p.subject_id, demo_link(session, p, link_days=link_days, data_key=data_key,
                                 now=now))
        for p in people
    ]  # fmt: skip


def _failed_message(session: Session, participant: Participant, now: datetime) -> None:
    """The baseline reminder, refused by the provider at every attempt.

    What the reminder job records when a provider refuses a message until it
    gives up (``notify.services``): the dashboard lists it for two weeks.
    """
    from pro_app.notify import rules
    from pro_app.notify.models import Outbox, OutboxStatus

    first = min(
        (a for a in participant.assignments if a.timepoint.code == "BL"),
        key=lambda a: a.position,
    )
    settings = participant.study.settings
    times = rules.message_times(
        first.opens_at,
        first.closes_at,
        participant.timezone,
        rules.plan_from_settings(settings),
        rules.quiet_from_settings(settings),
    )
    past = [(k, at) for k, at in times if now - timedelta(days=13) <= at <= now]
    kind, due_at = past[-1] if past else (rules.REMINDER, now - timedelta(days=1))
    session.add(
        Outbox(
            participant_id=participant.id,
            assignment_id=first.id,
            channel="email",
            kind=kind,
            window_opens_at=first.opens_at,
            due_at=due_at,
            status=OutboxStatus.FAILED,
            attempts=5,
            last_error=FAILED_MESSAGE_ERROR,
            created_at=due_at,
        )
    )
    session.flush()
