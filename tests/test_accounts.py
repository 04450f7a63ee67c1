"""Staff accounts' rules: emails, roles, phones, passwords and their argon2 hashes."""

from __future__ import annotations

import pytest
from argon2 import PasswordHasher

from ivr import accounts
from ivr.accounts import AccountError
from ivr.privacy import last_four


@pytest.mark.parametrize(
    ("typed", "kept"),
    [
        ("dana@waterstone.example", "dana@waterstone.example"),
        ("  Dana.Lee@Waterstone.Example ", "dana.lee@waterstone.example"),
        ("a+b@c.org", "a+b@c.org"),
        ("dana", None),
        ("dana@", None),
        ("dana@waterstone", None),
        ("da na@waterstone.example", None),
        ("a@b@c.org", None),
        ("x" * 70 + "@waterstone.example", None),  # longer than the 80 a column holds
        ("", None),
    ],
)
def test_emails(typed, kept):
    if kept is None:
        with pytest.raises(AccountError):
            accounts.normal_email(typed)
    else:
        assert accounts.normal_email(typed) == kept


@pytest.mark.parametrize(
    ("typed", "kept"),
    [
        ("+12035550100", "+12035550100"),
        (" +1 203 555 0100 ", "+12035550100"),
        ("+34 912 345 678", "+34912345678"),
        ("2035550100", None),  # no country code: not E.164
        ("+1203555010", None),  # too short
        ("+11235550100", None),  # no such area code
        ("call me", None),
    ],
)
def test_phones(typed, kept):
    if kept is None:
        with pytest.raises(AccountError):
            accounts.normal_phone(typed)
    else:
        assert accounts.normal_phone(typed) == kept


@pytest.mark.parametrize(("typed", "ok"), [("counselor", True), ("admin", True), ("Admin", False)])
def test_roles(typed, ok):
    if ok:
        assert accounts.normal_role(typed) == typed
    else:
        with pytest.raises(AccountError, match="counselor or admin"):
            accounts.normal_role(typed)


@pytest.mark.parametrize(
    ("password", "problem"),
    [
        ("x" * 11, "12 characters or more"),
        ("x" * 12, None),
        ("correct horse battery staple", None),
        ("x" * 1025, "1024 characters at most"),
    ],
)
def test_password_length(password, problem):
    if problem:
        with pytest.raises(AccountError, match=problem):
            accounts.hash_password(password)
    else:
        hashed = accounts.hash_password(password)
        assert hashed.startswith("$argon2id$") and password not in hashed
        assert accounts.verify(hashed, password)


@pytest.mark.parametrize(
    ("stored", "tried", "right"),
    [
        ("good", "correct horse battery", True),
        ("good", "correct horse batterY", False),
        ("good", "", False),
        ("good", "x" * 5000, False),
        ("not a hash", "correct horse battery", False),
        ("", "correct horse battery", False),
    ],
)
def test_verify_never_raises(stored, tried, right):
    hashed = accounts.hash_password("correct horse battery") if stored == "good" else stored
    assert accounts.verify(hashed, tried) is right


def test_an_old_hash_needs_rehashing_and_a_new_one_does_not():
    old = PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1).hash("correct horse battery")
    assert accounts.needs_rehash(old)
    assert not accounts.needs_rehash(accounts.hash_password("correct horse battery"))


@pytest.mark.parametrize(
    ("number", "shown"),
    [("+12035550123", "0123"), ("+34912345678", "5678"), ("+1234", "????"), ("", "????")],
)
def test_only_the_last_four_digits(number, shown):
    assert last_four(number) == shown
