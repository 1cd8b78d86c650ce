"""The one SQL filter for the site limit: every query of study data that a
site-limited user may run goes through ``in_sites``.

Views pass ``access().sites()`` (the sites where the view's permission holds,
``None`` for every site) to the services, and the services filter with this
helper in the query itself, never by dropping rows afterwards.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, false, true

from pro_app.auth.permissions import EVERY_SITE, SiteScope


def in_sites(site_column: Any, sites: SiteScope) -> ColumnElement[bool]:
    """Rows whose ``site_column`` is one of ``sites`` (every row for ``None``)."""
    if sites is EVERY_SITE:
        return true()
    if not sites:
        return false()
    return site_column.in_(sorted(sites))
