"""The staff console's forms (Flask-WTF): each carries a CSRF token, checked when it is posted."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import PasswordField, StringField
from wtforms.validators import InputRequired, Length, Optional

from .accounts import MAX_EMAIL, MAX_PASSWORD

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
