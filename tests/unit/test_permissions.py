"""The per-site permission rule and the grant rule, alone (no app, no database)."""

from __future__ import annotations

import itertools

import pytest

from pro_app.auth.models import Role
from pro_app.auth.permissions import (
    EVERY_SITE,
    ROLE_PERMISSIONS,
    Grant,
    Permission,
    holds,
    may_grant,
    permissions_at,
    sites_with,
    within,
)

NORTH, SOUTH = 1, 2
MONITOR_ALL_COORDINATOR_NORTH = (
    Grant(Role.MONITOR, None),
    Grant(Role.COORDINATOR, NORTH),
)


def test_grants_are_evaluated_per_site_not_widest_wins():
    grants = MONITOR_ALL_COORDINATOR_NORTH
    assert sites_with(grants, Permission.VIEW) is EVERY_SITE
    assert sites_with(grants, Permission.AUDIT) is EVERY_SITE
    assert sites_with(grants, Permission.ENROL) == frozenset({NORTH})
    assert holds(grants, Permission.ENROL, NORTH)
    assert not holds(grants, Permission.ENROL, SOUTH)
    assert not holds(grants, Permission.VIEW_CONTACT, SOUTH)
    assert holds(grants, Permission.VIEW_CONTACT, NORTH)
    # Study-wide (site None) needs the permission at every site.
    assert holds(grants, Permission.VIEW, None)
    assert not holds(grants, Permission.ENROL, None)


def test_no_grant_reaches_nothing():
    assert sites_with((), Permission.VIEW) == frozenset()
    assert not holds((), Permission.VIEW, NORTH)
    assert not within(frozenset(), NORTH)
    assert within(EVERY_SITE, None)
    assert not within(frozenset({NORTH}), None)


def test_permissions_at_a_site_combine_only_the_grants_covering_it():
    grants = MONITOR_ALL_COORDINATOR_NORTH
    assert permissions_at(grants, SOUTH) == ROLE_PERMISSIONS[Role.MONITOR]
    assert permissions_at(grants, NORTH) == (
        ROLE_PERMISSIONS[Role.MONITOR] | ROLE_PERMISSIONS[Role.COORDINATOR]
    )
    assert permissions_at(grants, None) == ROLE_PERMISSIONS[Role.MONITOR]


@pytest.mark.parametrize("role", list(Role))
def test_a_site_limited_administrator_grants_only_at_their_site(role):
    admin_north = (Grant(Role.ADMIN, NORTH),)
    expected = role is not Role.ADMIN
    assert may_grant(admin_north, role, NORTH, account_admin=False) is expected
    assert not may_grant(admin_north, role, SOUTH, account_admin=False)
    assert not may_grant(admin_north, role, None, account_admin=False)


@pytest.mark.parametrize("role", list(Role))
@pytest.mark.parametrize("site", [NORTH, SOUTH, None])
def test_an_all_sites_administrator_and_the_account_administrator_grant_anything(
    role, site
):
    assert may_grant((Grant(Role.ADMIN, None),), role, site, account_admin=False)
    assert may_grant((), role, site, account_admin=True)


@pytest.mark.parametrize(
    "grants",
    [
        (Grant(r, s),)
        for r, s in itertools.product(
            [Role.COORDINATOR, Role.DATA_MANAGER, Role.MONITOR, Role.INVESTIGATOR],
            [NORTH, None],
        )
    ]
    + [
        MONITOR_ALL_COORDINATOR_NORTH,
        (Grant(Role.ADMIN, NORTH), Grant(Role.MONITOR, None)),
    ],
)
def test_no_one_else_widens_access(grants):
    # Without an all-sites administrator grant, nothing for every site and no
    # administrator at all; and nowhere without MANAGE at that site.
    for role in Role:
        assert not may_grant(grants, role, None, account_admin=False)
        assert not may_grant(grants, Role.ADMIN, NORTH, account_admin=False)
        if not holds(grants, Permission.MANAGE, SOUTH):
            assert not may_grant(grants, role, SOUTH, account_admin=False)


def test_a_grant_never_gives_more_than_the_granter_holds_at_that_site():
    # Whatever may be granted at a site is covered by what the granter holds there.
    samples = [
        (Grant(Role.ADMIN, NORTH),),
        (Grant(Role.ADMIN, NORTH), Grant(Role.MONITOR, None)),
        (Grant(Role.ADMIN, None),),
    ]
    for grants, role, site in itertools.product(samples, Role, [NORTH, SOUTH]):
        if may_grant(grants, role, site, account_admin=False):
            assert ROLE_PERMISSIONS[role] <= permissions_at(grants, site)
