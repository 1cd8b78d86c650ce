"""Two studies, two sites: the world the site-limit tests act in.

Study OWN-1 has sites 01 (North) and 02 (South), a participant at each with
a submitted questionnaire, a lock with its reason, and team members at each
site and at every site; study OTHER-1 has one site and one participant.
Every name, subject id and reason of site 02 and of OTHER-1 is a marker that
must never reach a page shown to someone limited to site 01.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from flask import Flask
from sqlalchemy import Table, select
from sqlalchemy.orm import Session

from pro_app.auth.models import Role, StaffUser, StudyRole
from pro_app.auth.permissions import ROLE_PERMISSIONS
from pro_app.extensions import db
from pro_app.participants.models import Participant
from pro_app.studies.locks import lock
from pro_app.studies.models import Assignment, Study
from pro_app.studies.services import enrol
from pro_app.web import current_catalog
from tests.factories import complete_assignment, make_link, make_staff, make_study

OWN = "OWN-1"
OTHER = "OTHER-1"
SITES = (("01", "North clinic"), ("02", "South clinic"))


@dataclass
class SiteData:
    """What one site of OWN-1 holds, with the ids the URLs need."""

    code: str
    site_id: int
    subject: str
    participant_id: int
    submission_id: int
    open_assignment_id: int
    lock_id: int
    lock_reason: str
    staff_names: tuple[str, ...]
    grant_ids: dict[str, int] = field(default_factory=dict)


@dataclass
class World:
    study_id: int
    other_study_id: int
    sites: dict[str, SiteData]
    timepoint_ids: dict[str, int]
    # The other study's markers.
    other_subject: str
    other_lock_reason: str
    other_staff_name: str

    def markers_outside(self, site_code: str) -> set[str]:
        """Every marker a viewer limited to ``site_code`` must never see."""
        found = {self.other_subject, self.other_lock_reason, self.other_staff_name}
        for code, site in self.sites.items():
            if code != site_code:
                found |= {site.subject, site.lock_reason, *site.staff_names}
        return found


def _member(session: Session, study: Study, role: Role, site: Any, name: str) -> int:
    user = make_staff(session, None, email=f"{name.lower().replace(' ', '.')}@x.test")
    user.name = name
    grant = StudyRole(
        user_id=user.id, study_id=study.id, site_id=site and site.id, role=role
    )
    session.add(grant)
    session.flush()
    return grant.id


def _participant(
    session: Session, app: Flask, study: Study, site: Any, subject: str
) -> tuple[Participant, int, int]:
    participant = enrol(
        session,
        study,
        site=site,
        subject_id=subject,
        day0=date.today(),
        timezone="UTC",
        language=None,
        actor="system:test",
        email=f"{subject.lower()}@example.org",
        data_key=app.config["DATA_KEY"],
    )
    with app.app_context():
        catalog = current_catalog()
    assignments = session.scalars(
        select(Assignment)
        .where(Assignment.participant_id == participant.id)
        .order_by(Assignment.opens_at, Assignment.position)
    ).all()
    submission = complete_assignment(session, assignments[0], catalog)
    make_link(session, participant)
    return participant, submission.id, assignments[1].id


def build_world(session: Session, app: Flask) -> World:
    """Seed both studies; flush, do not commit (the test client commits)."""
    study = make_study(session, code=OWN, sites=list(SITES))
    sites: dict[str, SiteData] = {}
    week4 = next(t for t in study.timepoints if t.code == "W4")
    for site, (code, place) in zip(study.sites, SITES, strict=True):
        subject = f"LK-{code}1"
        participant, submission_id, open_id = _participant(
            session, app, study, site, subject
        )
        reason = f"lock reason of {subject}"
        data_lock = lock(
            session,
            study,
            participant=participant,
            timepoint=week4,
            actor="system:test",
            reason=reason,
        )
        monitor = f"Monitor {place.split()[0]}"
        admin = f"Admin {place.split()[0]}"
        sites[code] = SiteData(
            code=code,
            site_id=site.id,
            subject=subject,
            participant_id=participant.id,
            submission_id=submission_id,
            open_assignment_id=open_id,
            lock_id=data_lock.id,
            lock_reason=reason,
            staff_names=(monitor, admin),
            grant_ids={
                "monitor": _member(session, study, Role.MONITOR, site, monitor),
                "admin": _member(session, study, Role.ADMIN, site, admin),
            },
        )
    everywhere = _member(session, study, Role.MONITOR, None, "Monitor Everywhere")
    sites["01"].grant_ids["monitor_all"] = everywhere

    other = make_study(session, code=OTHER, sites=[("01", "Far clinic")])
    participant, _sub, _open = _participant(
        session, app, other, other.sites[0], "ZZ-901"
    )
    lock(
        session,
        other,
        participant=participant,
        timepoint=None,
        actor="system:test",
        reason="lock reason of ZZ-901",
    )
    _member(session, other, Role.MONITOR, None, "Monitor Faraway")
    session.flush()
    return World(
        study_id=study.id,
        other_study_id=other.id,
        sites=sites,
        timepoint_ids={t.code: t.id for t in study.timepoints},
        other_subject="ZZ-901",
        other_lock_reason="lock reason of ZZ-901",
        other_staff_name="Monitor Faraway",
    )


def account(
    session: Session,
    world: World,
    grants: tuple[tuple[Role, str | None], ...],
    *,
    email: str | None = None,
    is_admin: bool = False,
) -> StaffUser:
    """A staff account with ``grants`` in OWN-1: (role, site code or None)."""
    user = make_staff(session, None, email=email, is_admin=is_admin)
    sites = site_ids(session, world.study_id)
    for role, code in grants:
        session.add(
            StudyRole(
                user_id=user.id,
                study_id=world.study_id,
                site_id=None if code is None else sites[code],
                role=role,
            )
        )
    session.flush()
    return user


def reach(session: Session) -> dict[int, set[tuple[Any, ...]]]:
    """What every account can reach, derived from the grants and the role table.

    (study, site or "*", permission) for each site a grant covers ("*": the
    all-sites standing itself, which also covers sites added later). Moving
    data between sites is a change of that data, which the fingerprint sees.
    """
    study_sites: dict[int, list[int]] = defaultdict(list)
    for site_id, study_id in session.execute(
        select(db.metadata.tables["sites"].c.id, db.metadata.tables["sites"].c.study_id)
    ):
        study_sites[study_id].append(site_id)
    result: dict[int, set[tuple[Any, ...]]] = defaultdict(set)
    for user_id, study_id, site_id, role in session.execute(
        select(StudyRole.user_id, StudyRole.study_id, StudyRole.site_id, StudyRole.role)
    ):
        covered = study_sites[study_id] if site_id is None else [site_id]
        for permission in ROLE_PERMISSIONS[role]:
            if site_id is None:
                result[user_id].add((study_id, "*", permission))
            for site in covered:
                result[user_id].add((study_id, site, permission))
    return result


# Tables the fingerprint leaves out: the audit trail grows with every request,
# and sign-in sessions change with every staff request.
IGNORED = {"audit_events", "staff_sessions", "alembic_version"}
ACCOUNT_VOLATILE = {"last_login_at", "failed_logins", "locked_until", "totp_last_step"}


@dataclass
class Fingerprint:
    """The database, grouped by whose data it is."""

    participants: dict[int, tuple[Any, ...]]
    participant_sites: dict[int, int]
    study: tuple[Any, ...]
    grants: set[tuple[Any, ...]]
    accounts: tuple[Any, ...]


def _rows(session: Session, table: Table, skip: set[str] = frozenset()) -> list[Any]:
    columns = [c for c in table.c if c.name not in skip]
    return [
        tuple(r) for r in session.execute(select(*columns).order_by(*table.primary_key))
    ]


def fingerprint(session: Session) -> Fingerprint:
    """Every row of every table, keyed by participant where it belongs to one.

    Walks the metadata, so a new table is covered without anyone listing it:
    a row with a ``participant_id`` (or reached through a submission or an
    assignment) belongs to that participant, grants and accounts have their
    own groups, and anything else is the study's.
    """
    session.expire_all()
    tables = db.metadata.tables
    by_submission = dict(
        session.execute(
            select(tables["submissions"].c.id, tables["submissions"].c.participant_id)
        ).all()
    )
    by_assignment = dict(
        session.execute(
            select(tables["assignments"].c.id, tables["assignments"].c.participant_id)
        ).all()
    )
    participants: dict[int, list[Any]] = defaultdict(list)
    study: list[Any] = []
    for name, table in sorted(tables.items()):
        if name in IGNORED or name in ("study_roles", "staff_users"):
            continue
        for row in _rows(session, table):
            record = dict(zip(table.c.keys(), row, strict=True))
            owner = None
            if name == "participants":
                owner = record["id"]
            elif record.get("participant_id") is not None:
                owner = record["participant_id"]
            elif "submission_id" in record:
                owner = by_submission.get(record["submission_id"])
            elif "assignment_id" in record:
                owner = by_assignment.get(record["assignment_id"])
            if owner is None:
                study.append((name, row))
            else:
                participants[owner].append((name, row))
    return Fingerprint(
        participants={pid: tuple(rows) for pid, rows in participants.items()},
        participant_sites=dict(
            session.execute(select(Participant.id, Participant.site_id)).all()
        ),
        study=tuple(study),
        grants={
            tuple(r)
            for r in session.execute(
                select(
                    StudyRole.user_id,
                    StudyRole.study_id,
                    StudyRole.site_id,
                    StudyRole.role,
                )
            )
        },
        accounts=tuple(_rows(session, tables["staff_users"], ACCOUNT_VOLATILE)),
    )


def changed_participants(before: Fingerprint, after: Fingerprint) -> set[int]:
    ids = set(before.participants) | set(after.participants)
    return {p for p in ids if before.participants.get(p) != after.participants.get(p)}


def site_ids(session: Session, study_id: int) -> dict[str, int]:
    study = session.get(Study, study_id)
    return {s.code: s.id for s in study.sites}


def staff(session: Session, user_id: int) -> StaffUser:
    return session.get(StaffUser, user_id)
