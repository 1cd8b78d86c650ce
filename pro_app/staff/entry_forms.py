"""Forms for paper entry, corrections and data locks.

Item fields are built per instrument version and language with ``type()``,
as ``surveys.forms.build_form`` does; here every item also offers "blank",
pre-selected, so a clerk can undo a slip and each radio group has one stop
in the tab order.
"""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateField,
    Field,
    HiddenField,
    RadioField,
    SelectChoice,
    SelectField,
    TextAreaField,
)
from wtforms.validators import DataRequired, InputRequired, Length, Optional

from pro_app.catalog import Instrument, Item
from pro_app.staff.labels import answer_text
from pro_app.surveys.forms import field_name
from pro_app.surveys.models import Mode

BLANK = _l("Blank (not answered)")


def _code(value: object) -> int | None:
    """Coerce a posted radio value: "" is a blank, anything else a code."""
    if value is None or value == "":
        return None
    return int(value)  # type: ignore[call-overload]


def item_field(
    item: Item, options: tuple[tuple[int, str], ...], label: object = None
) -> Field:
    """A radio group with "blank" first and each code printed before its label
    (once, where the label is the code itself: the 1-9 of a 0-10 scale).

    A posted code outside the item's response set fails validation.
    """
    return RadioField(
        label or item.id,
        choices=[SelectChoice("", BLANK)]
        + [
            SelectChoice(code, answer_text(code, label, " ")) for code, label in options
        ],
        coerce=_code,
        validate_choice=True,
    )


class PaperEntryForm(FlaskForm):
    """What is recorded about the paper form besides its answers."""

    language = HiddenField()
    administered_on = DateField(
        _l("Date completed on paper"), validators=[InputRequired()]
    )
    mode = RadioField(
        _l("How it was answered"),
        choices=[
            SelectChoice(Mode.PAPER.value, _l("On paper")),
            SelectChoice(Mode.INTERVIEW.value, _l("In an interview")),
        ],
        default=Mode.PAPER.value,
        validators=[InputRequired()],
    )
    outside_window = BooleanField(
        _l("Entered outside the window: I have checked the date and it is right")
    )
    note = TextAreaField(
        _l("Note (optional)"), validators=[Optional(), Length(max=1000)]
    )


_paper_forms: dict[tuple[str, str, str], type[PaperEntryForm]] = {}


def paper_form(instrument: Instrument, locale: str) -> type[PaperEntryForm]:
    """Return the paper-entry form class of an instrument in one language."""
    key = (instrument.id, instrument.version, locale)
    if key not in _paper_forms:
        text = instrument.text(locale)
        fields = {
            field_name(item.id): item_field(item, text.options(item.id))
            for item in instrument.items
        }
        _paper_forms[key] = type(
            f"paper_{instrument.id}_{locale}", (PaperEntryForm,), fields
        )
    return _paper_forms[key]


class CorrectionForm(FlaskForm):
    """The reason part of a correction; the new value's field is added per item."""

    item_id = HiddenField(validators=[DataRequired()])
    reason = TextAreaField(
        _l("Reason for the correction"),
        validators=[DataRequired(), Length(min=3, max=1000)],
    )


def correction_form(
    instrument: Instrument, locale: str, item: Item
) -> type[CorrectionForm]:
    """Return a correction form whose ``code`` field offers the item's codes."""
    text = instrument.text(locale)
    code = item_field(item, text.options(item.id), _l("Corrected answer"))
    return type("CorrectionForm", (CorrectionForm,), {"code": code})


class LockForm(FlaskForm):
    """What to lock: both "all" locks the whole study."""

    participant = SelectField(_l("Participant"), validators=[Optional()])
    timepoint = SelectField(_l("Timepoint"), validators=[Optional()])
    reason = TextAreaField(
        _l("Reason"), validators=[DataRequired(), Length(min=3, max=1000)]
    )
