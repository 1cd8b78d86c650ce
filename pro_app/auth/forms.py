"""Staff sign-in and account forms."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    EmailField,
    PasswordField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, EqualTo, Length, Optional, Regexp

from pro_app.auth.services import MIN_PASSWORD_LENGTH


class LoginForm(FlaskForm):
    email = EmailField(_l("Email"), validators=[DataRequired(), Length(max=254)])
    password = PasswordField(_l("Password"), validators=[DataRequired()])


class TotpForm(FlaskForm):
    code = StringField(
        _l("6-digit code from your authenticator app"),
        validators=[DataRequired(), Regexp(r"^\s*\d{3}\s?\d{3}\s*$")],
    )


class PasswordChangeForm(FlaskForm):
    current = PasswordField(_l("Current password"), validators=[DataRequired()])
    new = PasswordField(
        _l("New password"),
        validators=[DataRequired(), Length(min=MIN_PASSWORD_LENGTH, max=200)],
    )
    confirm = PasswordField(
        _l("New password again"),
        validators=[
            DataRequired(),
            EqualTo("new", message=_l("The passwords differ.")),
        ],
    )


class TotpDisableForm(FlaskForm):
    current = PasswordField(_l("Current password"), validators=[DataRequired()])


class ReasonForm(FlaskForm):
    """Any action that must be justified in the audit trail."""

    reason = TextAreaField(
        _l("Reason"), validators=[DataRequired(), Length(min=3, max=1000)]
    )


class CreateUserForm(FlaskForm):
    email = EmailField(_l("Email"), validators=[DataRequired(), Length(max=254)])
    name = StringField(_l("Full name"), validators=[DataRequired(), Length(max=200)])
    password = PasswordField(
        _l("Temporary password (to be changed at first sign-in)"),
        validators=[DataRequired(), Length(min=MIN_PASSWORD_LENGTH, max=200)],
    )
    is_admin = BooleanField(_l("Account administrator"))


class ResetPasswordForm(ReasonForm):
    password = PasswordField(
        _l("Temporary password"),
        validators=[DataRequired(), Length(min=MIN_PASSWORD_LENGTH, max=200)],
    )


class GrantRoleForm(FlaskForm):
    email = EmailField(_l("Staff member's email"), validators=[DataRequired()])
    study = SelectField(_l("Study"), validators=[Optional()], validate_choice=False)
    # Choices show what the acting user may give; the value is checked by the
    # grant rule (grants.py), so a tampered value is refused there, audited.
    role = SelectField(_l("Role"), validators=[DataRequired()], validate_choice=False)
    site = SelectField(_l("Site"), validators=[Optional()], validate_choice=False)
