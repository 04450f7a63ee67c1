"""Staff accounts' rules: what an email, a role, a phone and a password must be, and hashing.

Passwords are hashed with argon2id (argon2-cffi's PasswordHasher and its defaults, RFC 9106's
low-memory choice); a hash made with older parameters is replaced at the next sign-in.
Neither a password nor its hash is ever logged or printed. No web, no database here.
"""

from __future__ import annotations

import re
from functools import cache
from typing import Literal, get_args

import phonenumbers
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

Role = Literal["counselor", "admin"]
ROLES: tuple[Role, ...] = get_args(Role)
MIN_PASSWORD = 12
MAX_PASSWORD = 1024  # argon2 takes any length; a megabyte "password" is only a way to tie us up
MAX_EMAIL = 80  # the staff.email and requests.handled_by columns
EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s.]+")
_hasher = PasswordHasher()


class AccountError(ValueError):
    """An email, role, phone or password that a staff account cannot have."""


def normal_email(value: str) -> str:
    """The email as accounts keep it: trimmed and lower case; AccountError if it is not one."""
    email = value.strip().lower()
    if not EMAIL.fullmatch(email):
        raise AccountError(f"not an email address: {value!r}")
    if len(email) > MAX_EMAIL:
        raise AccountError(f"an email of {MAX_EMAIL} characters at most, please: {value!r}")
    return email


def normal_role(value: str) -> Role:
    """One of the roles; AccountError otherwise."""
    for role in ROLES:
        if value == role:
            return role
    raise AccountError(f"the role is counselor or admin, not {value!r}")


def normal_phone(value: str) -> str:
    """A phone for call-backs in E.164 (+12035550100); AccountError if it is not a real one."""
    try:
        number = phonenumbers.parse(value.strip(), None)
    except phonenumbers.NumberParseException as exc:
        raise AccountError(f"not a phone number in E.164, like +12035550100: {value!r}") from exc
    if not phonenumbers.is_valid_number(number):
        raise AccountError(f"not a valid phone number: {value!r}")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def check_password(password: str) -> None:
    """Raise AccountError when a new password is too short or too long."""
    if len(password) < MIN_PASSWORD:
        raise AccountError(f"the password must have {MIN_PASSWORD} characters or more")
    if len(password) > MAX_PASSWORD:
        raise AccountError(f"the password must have {MAX_PASSWORD} characters at most")


def hash_password(password: str) -> str:
    """The argon2id hash of a password that passed check_password."""
    check_password(password)
    return _hasher.hash(password)


def verify(password_hash: str, password: str) -> bool:
    """True when `password` is the one `password_hash` was made from; never raises for a miss."""
    if len(password) > MAX_PASSWORD:
        return False
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    """True when the hash was made with other parameters than today's: hash it again."""
    return _hasher.check_needs_rehash(password_hash)


@cache
def _stand_in() -> str:
    return _hasher.hash("no account has this password, it only takes the time")


def waste_a_verify(password: str) -> None:
    """Take as long as checking a real password, so a refusal says nothing of which emails exist."""
    verify(_stand_in(), password)
