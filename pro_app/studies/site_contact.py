"""A site's study-team contact: who participants call or write to. Pure.

Declared in the protocol file (``[sites.contact]``), stored on ``Site``, and
shown on participant pages and in messages. The phone number must carry its
country code, so its ``tel:`` link dials the team from any phone and abroad.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# As the staff forms check participants' addresses, plus a dotted domain.
EMAIL = re.compile(r"[^@\s]+@[^@\s.]+(\.[^@\s.]+)+")
PHONE = re.compile(r"\+[0-9][0-9 ()./-]*[0-9]")
# E.164: at most 15 digits with the country code; fewer than 7 is no number.
PHONE_DIGITS = (7, 15)
MAX_NAME, MAX_PHONE, MAX_EMAIL = 200, 32, 254
PHONE_EXAMPLE = "+44 20 7946 0321"


@dataclass(frozen=True)
class SiteContact:
    """A name and at least one of a phone number and an email address."""

    name: str
    phone: str | None = None
    email: str | None = None

    @property
    def tel_uri(self) -> str | None:
        """``tel:+442079460321``: the number without its spacing (RFC 3966)."""
        if self.phone is None:
            return None
        return "tel:+" + re.sub(r"[^0-9]", "", self.phone)

    @property
    def mailto_uri(self) -> str | None:
        """``mailto:`` link to the email address."""
        return None if self.email is None else f"mailto:{self.email}"

    def one_line(self) -> str:
        """``Name, +44 20 7946 0321, team@example.org``: for plain-text messages."""
        return ", ".join(p for p in (self.name, self.phone, self.email) if p)


def phone_problem(value: str) -> str | None:
    """Say what is wrong with a contact phone number, or None if it is fine."""
    digits = sum(ch.isdigit() for ch in value)
    low, high = PHONE_DIGITS
    well_formed = len(value) <= MAX_PHONE and PHONE.fullmatch(value) is not None
    if not well_formed or not low <= digits <= high:
        return (
            f"{value!r} is not a phone number with its country code, "
            f'e.g. "{PHONE_EXAMPLE}"'
        )
    return None


def email_problem(value: str) -> str | None:
    """Say what is wrong with a contact email address, or None if it is fine."""
    if len(value) > MAX_EMAIL or not EMAIL.fullmatch(value):
        return f'{value!r} is not an email address, e.g. "study-team@example.org"'
    return None
