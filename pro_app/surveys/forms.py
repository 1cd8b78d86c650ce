"""Forms built from instrument definitions, one class per (instrument, locale)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import Field, HiddenField, RadioField, SelectChoice
from wtforms.validators import Optional

from pro_app.catalog import Instrument, Item

CHOICE_ERROR = _l("Choose one of the answers shown, or go on without answering.")


def printed_label(item: Item, code: int, label: str) -> str:
    """Return an option's label as the form prints it.

    A 0-10 scale prints every number and words beside its ends only ("0 No
    pain" ... "10 Worst imaginable pain"); the text file holds the words alone
    for the ends, so the number goes in front of them here.
    """
    if item.kind == "nrs" and label != str(code):
        return f"{code} {label}"
    return label


def _choice_field(item: Item, options: tuple[tuple[int, str], ...]) -> Field:
    # Every item may be skipped: participants have that right, so no item is
    # required. A posted value outside the response set is refused by WTForms.
    return RadioField(
        item.id,
        choices=[
            SelectChoice(code, printed_label(item, code, label))
            for code, label in options
        ],
        coerce=int,
        validators=[Optional()],
        validate_choice=True,
    )


# Field builders by item kind: a 0-10 rating is a radio group too, laid out apart.
FIELD_TYPES = {"single_choice": _choice_field, "nrs": _choice_field}


class ItemForm(FlaskForm):
    """Base of every built form; carries the CSRF token."""

    # The item the page was built for: a stale or tampered page is refused.
    item_id = HiddenField()


def field_name(item_id: str) -> str:
    """Return the form field name of an item."""
    return f"item_{item_id}"


_forms: dict[tuple[str, str, str, tuple[str, ...] | None], type[ItemForm]] = {}


def build_form(
    instrument: Instrument, locale: str, item_ids: tuple[str, ...] | None = None
) -> type[ItemForm]:
    """Return a new form class with one field per item (all, or ``item_ids``).

    A fresh subclass is made with ``type()`` for each definition; the shared
    base is never modified.
    """
    key = (instrument.id, instrument.version, locale, item_ids)
    if key in _forms:
        return _forms[key]
    text = instrument.text(locale)
    wanted = (
        instrument.items if item_ids is None else [instrument.item(i) for i in item_ids]
    )
    fields = {
        field_name(item.id): FIELD_TYPES[item.kind](item, text.options(item.id))
        for item in wanted
    }
    form = type(f"{instrument.id}_{locale}_form", (ItemForm,), fields)
    _forms[key] = form
    return form
