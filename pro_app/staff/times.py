"""Times and dates on staff pages: one zone per page, always labelled.

Every moment a staff page shows goes through ``moment``: it is written in the
page's zone with the zone's abbreviation, the date part in the reader's locale
with the month in letters (``3 Dec 2026 16:38 IST``, never ``12/3/26``), and
the same moment in UTC in the ``title`` (shown on hover) and the ``datetime``
attribute of a ``<time>`` element. Days (dates without a time, such as Day 0
or a window's last day) go through ``day``.

The page's zone is the site's: the participant's site on a participant's
pages, otherwise the one zone every site the reader sees shares, otherwise
the study's zone.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from babel.dates import format_date, format_time, get_datetime_format
from flask import current_app, g
from flask_babel import get_locale
from markupsafe import Markup, escape

from pro_app.studies.models import Site

# Month in letters, in the reader's language ("3 Dec 2026", "3 дек. 2026 г.").
DATE_FORMAT = "medium"


def use_site_zone(site: Site) -> None:
    """Show this request's times in ``site``'s zone (a page about one site)."""
    g.staff_zone = site.timezone


def page_zone() -> str:
    """The IANA name of the zone this staff page shows its times in."""
    chosen = g.get("staff_zone")
    if chosen:
        return chosen
    here = g.get("access")
    if here is None:
        return current_app.config["DEFAULT_TIMEZONE"]
    zones = {s.timezone for s in here.study.sites if here.sees_site(s.id)}
    return zones.pop() if len(zones) == 1 else here.study.timezone


def _locale() -> str:
    return str(get_locale() or current_app.config["DEFAULT_LOCALE"])


def zone_label(moment_: datetime) -> str:
    """The zone's abbreviation at that moment (IST, GMT), or UTC+03 if it has none."""
    name = moment_.tzname() or "UTC"
    return f"UTC{name}" if name[:1] in "+-" else name


def local_text(value: datetime, zone: str, locale: str, *, seconds: bool) -> str:
    """``value`` as words and digits in ``zone``: date, time and zone label."""
    local = value.astimezone(ZoneInfo(zone))
    day = format_date(local.date(), DATE_FORMAT, locale=locale)
    clock = format_time(local.time(), "HH:mm:ss" if seconds else "HH:mm", locale=locale)
    joined = get_datetime_format(DATE_FORMAT, locale=locale).format(clock, day)
    return f"{joined} {zone_label(local)}"


def utc_text(value: datetime, *, seconds: bool = False) -> str:
    """The ISO-like UTC form shown on hover: ``2026-12-03 14:38 UTC``."""
    return value.astimezone(UTC).strftime(
        "%Y-%m-%d %H:%M:%S UTC" if seconds else "%Y-%m-%d %H:%M UTC"
    )


def moment(value: datetime | None, seconds: bool = False) -> Markup:
    """A ``<time>`` element for ``value`` in the page's zone, UTC in its title."""
    if value is None:
        return Markup("")
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)  # stored UTC, read back naive (SQLite)
    iso = value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    text = local_text(value, page_zone(), _locale(), seconds=seconds)
    return Markup('<time datetime="{}" title="{}">{}</time>').format(
        iso, utc_text(value, seconds=seconds), escape(text)
    )


def moment_text(value: datetime) -> str:
    """Plain text of ``value`` in the page's zone (for flashed messages)."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return local_text(value, page_zone(), _locale(), seconds=False)


def day(value: date | datetime | None, zone: str | None = None) -> str:
    """A day in the reader's locale, month in letters; a datetime's day in ``zone``.

    Without ``zone`` a datetime's day is taken in the page's zone.
    """
    if value is None:
        return ""
    if isinstance(value, datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        value = value.astimezone(ZoneInfo(zone or page_zone())).date()
    return format_date(value, DATE_FORMAT, locale=_locale())
