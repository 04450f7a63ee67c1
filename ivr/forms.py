"""The staff console's forms (Flask-WTF): each carries a CSRF token, checked when it is posted."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import DateTimeLocalField, PasswordField, StringField
from wtforms.validators import AnyOf, InputRequired, Length, Optional

from .accounts import MAX_EMAIL, MAX_PASSWORD
from .oncall import REASON_LENGTH

NOTE_LENGTH = 200  # requests.handled_note


class LoginForm(FlaskForm):
    """Sign in with an email and a password."""

    email = StringField("Email", validators=[InputRequired(), Length(max=MAX_EMAIL + 40)])
    password = PasswordField("Password", validators=[InputRequired(), Length(max=MAX_PASSWORD)])


class HandleForm(FlaskForm):
    """Mark a voicemail or call-back request handled, with a short note."""

    note = StringField("Note", validators=[Optional(), Length(max=NOTE_LENGTH)])


class CallBackForm(FlaskForm):
    """Call someone back as the center: nothing but the CSRF token (the entry is in the URL)."""


class LogoutForm(FlaskForm):
    """Sign out: nothing but the CSRF token, so no other site can sign a counselor out."""


class OnCallForm(FlaskForm):
    """Who is on call: the staff line, the backup line and the alert phone, in E.164."""

    staff_line = StringField("Staff line (rung for a counselor)", validators=[InputRequired()])
    backup_line = StringField(
        "Backup line (rung when the staff line does not answer; empty for none)",
        validators=[Optional()],
    )
    alert_number = StringField(
        "Alert phone (gets the texts about who waits; empty for none)", validators=[Optional()]
    )


class HoursForm(FlaskForm):
    """Close the line now, or open it outside its hours, until a moment."""

    until = StringField("Until", validators=[AnyOf(["regular", "chosen"])])  # two radio buttons
    until_at = DateTimeLocalField(
        "Until this time", format="%Y-%m-%dT%H:%M", validators=[Optional()]
    )
    reason = StringField(
        f"Reason, for staff only ({REASON_LENGTH} characters at most)",
        validators=[Optional(), Length(max=REASON_LENGTH)],
    )


class ClearForm(FlaskForm):
    """Go back to menus.yaml: nothing but the CSRF token."""
