"""Forms of the participant pages: enrol, edit details, withdraw, not done."""

from __future__ import annotations

import re
from functools import cache
from typing import Any
from zoneinfo import available_timezones

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    DateField,
    EmailField,
    SelectField,
    StringField,
    TelField,
    TextAreaField,
)
from wtforms.validators import (
    DataRequired,
    InputRequired,
    Length,
    Optional,
    Regexp,
    ValidationError,
)

# Subject ids when the study sets no ``subject_id_pattern``: letters, digits
# and . _ - (e.g. "LK-001"), starting with a letter or digit.
DEFAULT_SUBJECT_ID_PATTERN = r"[A-Za-z0-9][A-Za-z0-9._-]{0,39}"
EMAIL_PATTERN = r"[^@\s]+@[^@\s]+\.[^@\s]+"
PHONE_PATTERN = r"\+?[0-9][0-9 ()-]{5,24}"
PHONE_HINT = _l("Give the number with its country code, e.g. +44 7700 900123.")


ZONE_LIST_ID = "iana-zones"


@cache
def _zones() -> frozenset[str]:
    return frozenset(available_timezones())


@cache
def zone_names() -> tuple[str, ...]:
    """Every IANA zone name, sorted: the searchable list under the zone field."""
    return tuple(sorted(_zones()))


def valid_timezone(form: Any, field: Any) -> None:
    # Only names in the IANA database: ZoneInfo() would also open paths.
    if (field.data or "").strip() not in _zones():
        raise ValidationError(
            _l("Give an IANA time zone, e.g. Europe/London or Asia/Jerusalem.")
        )


def subject_id_pattern(settings: dict[str, Any] | None) -> re.Pattern[str]:
    """The study's subject-id pattern (setting ``subject_id_pattern``)."""
    raw = (settings or {}).get("subject_id_pattern") or DEFAULT_SUBJECT_ID_PATTERN
    try:
        return re.compile(raw)
    except re.error:
        return re.compile(DEFAULT_SUBJECT_ID_PATTERN)


class DetailsForm(FlaskForm):
    day0 = DateField(_l("Day 0"), validators=[InputRequired()])
    timezone = StringField(
        _l("Time zone"),
        filters=[lambda v: v.strip() if isinstance(v, str) else v],
        validators=[InputRequired(), Length(max=64), valid_timezone],
        # Type to search the list; the server still checks the name.
        render_kw={"list": ZONE_LIST_ID, "autocomplete": "off", "spellcheck": "false"},
    )
    language = SelectField(_l("Language"), validators=[Optional()])
    # The participant's address, not the reader's: the browser must not offer
    # the coordinator's own (autocomplete off); the type brings the right keyboard.
    email = EmailField(
        _l("Email (optional)"),
        render_kw={
            "autocomplete": "off",
            "spellcheck": "false",
            "autocapitalize": "off",
        },
        filters=[lambda v: v.strip() if isinstance(v, str) else v],
        validators=[
            Optional(),
            Length(max=254),
            Regexp(f"^{EMAIL_PATTERN}$", message=_l("This is not an email address.")),
        ],
    )
    phone = TelField(
        _l("Mobile phone (optional)"),
        render_kw={"autocomplete": "off"},
        filters=[lambda v: v.strip() if isinstance(v, str) else v],
        validators=[
            Optional(),
            Length(max=32),
            Regexp(
                f"^{PHONE_PATTERN}$",
                message=_l(
                    "Give the number with its country code, e.g. +44 7700 900123."
                ),
            ),
        ],
    )


class EnrolForm(DetailsForm):
    subject_id = StringField(
        _l("Subject ID"),
        filters=[lambda v: v.strip() if isinstance(v, str) else v],
        validators=[InputRequired(), Length(max=40)],
    )
    site = SelectField(_l("Site"), coerce=int, validators=[InputRequired()])

    def __init__(self, *args: Any, pattern: re.Pattern[str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.pattern = pattern

    def validate_subject_id(self, field: Any) -> None:
        if not self.pattern.fullmatch(field.data or ""):
            raise ValidationError(
                _l("This is not a subject ID of this study (e.g. LK-001).")
            )


class EditForm(DetailsForm):
    reason = TextAreaField(
        _l("Reason for the change"),
        validators=[DataRequired(), Length(min=3, max=1000)],
    )
