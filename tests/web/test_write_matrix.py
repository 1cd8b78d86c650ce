"""What a permitted write can change: every staff write route, every role,
site-limited and all-sites, own site and other site.

The permission matrix (test_permission_matrix.py) checks who may *call* each
route. This one performs each write and then compares the whole database
before and after (site_world.fingerprint walks every table):

- a write may change a participant's data only at a site where the acting
  account holds the route's permission, and data tied to no site only with
  that permission at every site;
- grants may appear or disappear only as ``permissions.may_grant`` allows,
  and a refused grant is a 403 with a ``role.grant_refused`` event;
- no account may gain anything (study, site, permission, or participant) that
  the acting account could not already reach;
- and the other way round: a write the rule allows does take effect, so the
  test cannot pass by every write failing.

Every expectation comes from the role table and the grant rule; the routes
come from the URL map, and a write route with no recipe here fails the test.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from pro_app.audit.models import AuditEvent
from pro_app.auth.access import PUBLIC, SYSTEM_ADMIN
from pro_app.auth.grants import grants_of
from pro_app.auth.models import Role, StudyRole
from pro_app.auth.permissions import Grant, Permission, holds, may_grant, sites_with
from pro_app.extensions import db
from pro_app.studies.models import Assignment
from pro_app.web import current_catalog
from tests.conftest import csrf_from, login_staff
from tests.factories import make_staff
from tests.web import site_world
from tests.web.site_world import OWN, World

# Routes that act only on the signed-in account itself (sign in and out,
# one's own password and second factor): nothing of a study or of another
# account is within their reach.
OWN_ACCOUNT_ROUTES = {
    "auth.login",
    "auth.login_code",
    "auth.logout",
    "auth.account",
    "auth.setup_totp",
    "auth.disable_totp",
}


@dataclass(frozen=True)
class Actor:
    """A staff member to act as: grants in OWN-1 (site code or None)."""

    name: str
    grants: tuple[tuple[Role, str | None], ...]
    account_admin: bool = False


ACTORS = [
    *(Actor(f"{r.value}-site01", ((r, "01"),)) for r in Role),
    *(Actor(f"{r.value}-allsites", ((r, None),)) for r in Role),
    # All-sites monitor, coordinator at site 01 only: per-site evaluation.
    Actor(
        "monitor-allsites-coordinator-site01",
        ((Role.MONITOR, None), (Role.COORDINATOR, "01")),
    ),
    Actor("account-admin", (), account_admin=True),
]


@dataclass
class Attempt:
    """One write: where it acts (a site code, or "*" for the whole study)."""

    label: str
    url: str
    data: dict[str, str]
    site: str
    kind: str = "data"  # data | grant | account
    # For grants: what is given or taken away.
    role: Role | None = None
    grant_site: str | None = None
    grantee: int | None = None
    # False when the write changes nothing even when allowed (an export).
    effective: bool = True


@dataclass
class Ctx:
    app: Flask
    world: World
    actor_id: int
    newcomer_id: int
    catalog: Any
    site_ids: dict[str, int] = field(default_factory=dict)


def _study(tail: str) -> str:
    return f"/staff/s/{OWN}{tail}"


def _per_site(make: Callable[[str, Any], Attempt]) -> Callable[[Ctx], list[Attempt]]:
    return lambda ctx: [make(code, site) for code, site in ctx.world.sites.items()]


def _paper(ctx: Ctx) -> list[Attempt]:
    attempts = []
    for code, site in ctx.world.sites.items():
        assignment = db.session.get(Assignment, site.open_assignment_id)
        instrument = ctx.catalog.get(
            assignment.instrument_id, assignment.instrument_version
        )
        data = {
            "language": "en",
            "administered_on": date.today().isoformat(),
            "mode": "paper",
        }
        data |= {f"item_{item.id}": str(item.codes[-1]) for item in instrument.items}
        attempts.append(
            Attempt(
                f"paper at {code}",
                _study(f"/assignments/{site.open_assignment_id}/paper"),
                data,
                code,
            )
        )
    return attempts


def _correct(ctx: Ctx) -> list[Attempt]:
    attempts = []
    for code, site in ctx.world.sites.items():
        from pro_app.surveys.models import Submission

        submission = db.session.get(Submission, site.submission_id)
        instrument = ctx.catalog.get(
            submission.instrument_id, submission.instrument_version
        )
        item = instrument.items[0]
        attempts.append(
            Attempt(
                f"correct at {code}",
                _study(f"/submissions/{site.submission_id}/correct"),
                {"item_id": item.id, "code": str(item.codes[-1]), "reason": "typo"},
                code,
            )
        )
    return attempts


def _lock(ctx: Ctx) -> list[Attempt]:
    baseline = str(ctx.world.timepoint_ids["BL"])
    attempts = [
        Attempt(
            f"lock {code} baseline",
            _study("/locks"),
            {
                "lock-participant": str(site.participant_id),
                "lock-timepoint": baseline,
                "lock-reason": "source verified",
            },
            code,
        )
        for code, site in ctx.world.sites.items()
    ]
    attempts.append(
        Attempt(
            "lock the whole study",
            _study("/locks"),
            {
                "lock-participant": "",
                "lock-timepoint": "",
                "lock-reason": "database lock",
            },
            "*",
        )
    )
    return attempts


def _unlock(ctx: Ctx) -> list[Attempt]:
    return [
        Attempt(
            f"unlock {code}",
            _study(f"/locks/{site.lock_id}/unlock"),
            {"unlock-reason": "query answered"},
            code,
        )
        for code, site in ctx.world.sites.items()
    ]


def _enrol(ctx: Ctx) -> list[Attempt]:
    return [
        Attempt(
            f"enrol at {code}",
            _study("/participants/new"),
            {
                "subject_id": f"LK-{code}9",
                "site": str(site.site_id),
                "day0": date.today().isoformat(),
                "timezone": "UTC",
                "language": "",
                "email": "",
                "phone": "",
            },
            code,
        )
        for code, site in ctx.world.sites.items()
    ]


def _edit(ctx: Ctx) -> list[Attempt]:
    return [
        Attempt(
            f"edit at {code}",
            _study(f"/participants/{site.participant_id}/edit"),
            {
                "day0": (date.today() + timedelta(days=1)).isoformat(),
                "timezone": "Europe/London",
                "language": "es",
                "email": "changed@example.org",
                "phone": "",
                "reason": "moved",
            },
            code,
        )
        for code, site in ctx.world.sites.items()
    ]


def _participant_post(
    tail: str, data: dict[str, str]
) -> Callable[[Ctx], list[Attempt]]:
    return _per_site(
        lambda code, site: Attempt(
            f"{tail} at {code}",
            _study(f"/participants/{site.participant_id}{tail}"),
            dict(data),
            code,
        )
    )


def _not_done(ctx: Ctx) -> list[Attempt]:
    return [
        Attempt(
            f"not done at {code}",
            _study(f"/assignments/{site.open_assignment_id}/not-done"),
            {"notdone-reason": "participant in hospital"},
            code,
        )
        for code, site in ctx.world.sites.items()
    ]


def _grant_variants(
    url: Callable[[int], str], prefix: str, ctx: Ctx, **extra: str
) -> list[Attempt]:
    grantee_emails = {
        ctx.newcomer_id: site_world.staff(db.session, ctx.newcomer_id).email,
        # Their own account: the self-escalation.
        ctx.actor_id: site_world.staff(db.session, ctx.actor_id).email,
    }
    attempts = []
    for grantee, email in grantee_emails.items():
        for role in Role:
            for site in ("01", "02", None):
                attempts.append(
                    Attempt(
                        f"grant {role.value}@{site or 'all'} to "
                        f"{'self' if grantee == ctx.actor_id else 'newcomer'}",
                        url(grantee),
                        {
                            f"{prefix}email": email,
                            f"{prefix}role": role.value,
                            f"{prefix}site": site or "",
                            **extra,
                        },
                        site or "*",
                        kind="grant",
                        role=role,
                        grant_site=site,
                        grantee=grantee,
                    )
                )
    return attempts


def _team_grant(ctx: Ctx) -> list[Attempt]:
    return _grant_variants(lambda _grantee: _study("/team"), "grant-", ctx)


def _account_grant(ctx: Ctx) -> list[Attempt]:
    return _grant_variants(
        lambda grantee: f"/staff/users/{grantee}/roles",
        "grant-",
        ctx,
        **{"grant-study": OWN},
    )


def _revokes(
    url: Callable[[int, int], str], prefix: str
) -> Callable[[Ctx], list[Attempt]]:
    def make(ctx: Ctx) -> list[Attempt]:
        attempts = []
        for grant in db.session.scalars(
            select(StudyRole)
            .where(StudyRole.study_id == ctx.world.study_id)
            .where(StudyRole.user_id != ctx.actor_id)
            .order_by(StudyRole.id)
        ):
            site = grant.site.code if grant.site else None
            attempts.append(
                Attempt(
                    f"revoke {grant.role.value}@{site or 'all'}",
                    url(grant.user_id, grant.id),
                    {f"{prefix}reason": "left the team"},
                    site or "*",
                    kind="grant",
                    role=grant.role,
                    grant_site=site,
                    grantee=grant.user_id,
                )
            )
        return attempts

    return make


def _account(tail: str, data: dict[str, str], effective: bool = True):
    return lambda ctx: [
        Attempt(
            f"account {tail}",
            f"/staff/users/{ctx.newcomer_id}{tail}",
            dict(data),
            "*",
            kind="account",
            effective=effective,
        )
    ]


NEW_PASSWORD = "another long password 42"

RECIPES: dict[str, Callable[[Ctx], list[Attempt]]] = {
    "staff.grant_role": _team_grant,
    "staff.revoke_role": _revokes(
        lambda _user, grant: _study(f"/team/{grant}/revoke"), "revoke-"
    ),
    "staff.issue_link": _participant_post("/link", {}),
    "staff.revoke_link": _participant_post("/link/revoke", {"revoke-reason": "lost"}),
    "staff.replace_link": _participant_post(
        "/link/replace", {"replace-reason": "forwarded"}
    ),
    "staff.remind_now": _participant_post("/remind", {}),
    "staff.lock_data": _lock,
    "staff.unlock_data": _unlock,
    "staff.enrol_participant": _enrol,
    "staff.edit_participant": _edit,
    "staff.withdraw_participant": _participant_post(
        "/withdraw", {"withdraw-reason": "consent withdrawn"}
    ),
    "staff.mark_not_done": _not_done,
    "staff.enter_paper": _paper,
    "staff.correct_answer": _correct,
    # The hash chain is the whole database's: audit readers of every site.
    # It only appends an audit.verify event (outside the fingerprint).
    "staff.verify_audit": lambda ctx: [
        Attempt(
            "verify the audit trail", _study("/audit/verify"), {}, "*", effective=False
        )
    ],
    "staff.download_export": lambda ctx: [
        Attempt(
            f"export {code}",
            _study("/export"),
            {"sites": code, "formats": "csv-long"},
            code,
            effective=False,
        )
        for code in ctx.world.sites
    ],
    "auth.list_users": lambda ctx: [
        Attempt(
            "create an account",
            "/staff/users",
            {"email": "fresh@x.test", "name": "Fresh", "password": NEW_PASSWORD},
            "*",
            kind="account",
        )
    ],
    "auth.reset_user_password": _account(
        "/reset", {"reset-password": NEW_PASSWORD, "reset-reason": "forgotten"}
    ),
    "auth.set_user_state": _account("/state", {"state-reason": "left"}),
    # The newcomer has no second factor: removing it changes nothing.
    "auth.reset_user_totp": _account(
        "/totp-off", {"state-reason": "lost phone"}, False
    ),
    "auth.grant_user_role": _account_grant,
    "auth.revoke_user_role": _revokes(
        lambda user, grant: f"/staff/users/{user}/roles/{grant}/revoke", "state-"
    ),
}


def write_routes(app: Flask) -> list[tuple[str, str]]:
    found = []
    for rule in app.url_map.iter_rules():
        if rule.endpoint.split(".")[0] not in ("staff", "auth"):
            continue
        if "POST" not in rule.methods or rule.endpoint in OWN_ACCOUNT_ROUTES:
            continue
        if app.view_functions[rule.endpoint].required_access == PUBLIC:
            continue
        found.append((rule.endpoint, rule.rule))
    return sorted(found)


def test_every_write_route_has_a_recipe(app):
    routes = {endpoint for endpoint, _rule in write_routes(app)}
    assert routes - set(RECIPES) == set(), "write routes the matrix does not cover"
    assert set(RECIPES) - routes == set(), "recipes for routes that are gone"
    every_post = {
        r.endpoint
        for r in app.url_map.iter_rules()
        if "POST" in r.methods and r.endpoint.split(".")[0] in ("staff", "auth")
    }
    assert OWN_ACCOUNT_ROUTES <= every_post


def _reaches_view(level: Any, grants: tuple[Grant, ...], is_admin: bool) -> bool:
    """Whether ``@requires`` lets the actor into the view at all."""
    if level == SYSTEM_ADMIN:
        return is_admin
    return sites_with(grants, Permission(level)) != frozenset()


def _allowed(
    ctx: Ctx, level: Any, attempt: Attempt, grants: tuple[Grant, ...], is_admin: bool
) -> bool:
    """What the rule says of this attempt (never a hand-written expectation)."""
    if not _reaches_view(level, grants, is_admin):
        return False
    if attempt.kind == "grant":
        code = attempt.grant_site
        site_id = None if code is None else ctx.site_ids[code]
        return may_grant(grants, attempt.role, site_id, account_admin=is_admin)
    if level == SYSTEM_ADMIN:
        return is_admin
    site_id = None if attempt.site == "*" else ctx.site_ids[attempt.site]
    return holds(grants, Permission(level), site_id)


def _check_attempt(ctx, session, client, token, level, attempt) -> list[str]:
    actor_id = ctx.actor_id
    before = site_world.fingerprint(session)
    reach_before = site_world.reach(session)
    grants = grants_of(session, actor_id, ctx.world.study_id)
    is_admin = site_world.staff(session, actor_id).is_admin
    allowed = _allowed(ctx, level, attempt, grants, is_admin)
    refusals = _refusals(session)
    response = client.post(attempt.url, data={"csrf_token": token, **attempt.data})
    status = response.status_code
    response.get_data()  # an export streams: read it to the end
    response.close()
    after = site_world.fingerprint(session)
    reach_after = site_world.reach(session)
    problems: list[str] = []
    say = problems.append
    where = f"{attempt.label} ({attempt.url}): {status}"
    if status >= 500:
        say(f"{where}: server error")

    # 1. Participants' data: only at sites where the permission holds.
    for pid in site_world.changed_participants(before, after):
        site_id = after.participant_sites.get(pid) or before.participant_sites[pid]
        if attempt.kind != "data" or not holds(grants, Permission(level), site_id):
            say(f"{where}: changed participant {pid} at site {site_id}")
    if before.study != after.study and (
        attempt.kind != "data" or not holds(grants, Permission(level), None)
    ):
        say(f"{where}: changed study-wide data")
    if before.accounts != after.accounts and (
        attempt.kind != "account" or not is_admin
    ):
        say(f"{where}: changed staff accounts")

    # 2. Grants: only what the grant rule allows.
    for user_id, study_id, site_id, role in before.grants ^ after.grants:
        if study_id != ctx.world.study_id or attempt.kind != "grant":
            say(f"{where}: grant {role}@{site_id} of user {user_id} changed")
        elif not may_grant(grants, Role(role), site_id, account_admin=is_admin):
            say(f"{where}: grant {role}@{site_id} changed against the rule")

    # 3. Reach: nobody gains what the actor could not reach.
    if not is_admin:
        mine = reach_before.get(actor_id, set())
        for user_id, now in reach_after.items():
            gained = now - reach_before.get(user_id, set()) - mine
            if gained:
                say(f"{where}: user {user_id} gained {sorted(map(str, gained))[:3]}")

    # 4. The other way round: what the rule allows happens; what it refuses is
    # refused with a clear status and changes nothing.
    changed = (
        before.participants != after.participants
        or before.study != after.study
        or before.grants != after.grants
        or before.accounts != after.accounts
    )
    if attempt.kind == "grant":
        site_id = (
            None if attempt.grant_site is None else ctx.site_ids[attempt.grant_site]
        )
        existing = (attempt.grantee, ctx.world.study_id, site_id, attempt.role)
        exists = existing in before.grants
        effective = exists if attempt.label.startswith("revoke") else not exists
    else:
        effective = attempt.effective
    if allowed:
        if status >= 400:
            say(f"{where}: refused, but the rule allows it")
        elif effective and not changed:
            say(f"{where}: allowed, but nothing changed")
    else:
        if status not in (400, 403, 404):
            say(f"{where}: expected a refusal")
        if changed:
            say(f"{where}: refused, but the database changed")
        if attempt.kind == "grant" and _reaches_view(level, grants, is_admin):
            # Refused by the grant rule itself: a 403 page, and on record.
            if status != 403:
                say(f"{where}: refused grant answered {status}, expected 403")
            if _refusals(session) != refusals + 1:
                say(f"{where}: refusal not audited as role.grant_refused")
    return problems


def _refusals(session) -> int:
    session.expire_all()
    return len(
        session.scalars(
            select(AuditEvent.id).where(AuditEvent.action == "role.grant_refused")
        ).all()
    )


@pytest.mark.parametrize("actor", ACTORS, ids=lambda a: a.name)
@pytest.mark.parametrize("endpoint", sorted(RECIPES))
def test_a_write_changes_only_what_the_rule_allows(
    app, client, session, endpoint, actor
):
    world = site_world.build_world(session, app)
    actor_id = site_world.account(
        session, world, actor.grants, is_admin=actor.account_admin
    ).id
    newcomer = make_staff(session, None, email="newcomer@x.test")
    with app.app_context():
        catalog = current_catalog()
    ctx = Ctx(
        app,
        world,
        actor_id,
        newcomer.id,
        catalog,
        site_world.site_ids(session, world.study_id),
    )
    email = site_world.staff(session, actor_id).email
    assert login_staff(client, email).status_code == 302
    token = csrf_from(client.get("/staff/account").get_data(as_text=True))
    level = app.view_functions[endpoint].required_access
    with app.app_context():
        attempts = RECIPES[endpoint](ctx)
    assert attempts
    problems = []
    for attempt in attempts:
        problems += _check_attempt(ctx, session, client, token, level, attempt)
    assert problems == []
