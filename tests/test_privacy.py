"""Numbers never reach logs; analytics use a keyed hash that guessing cannot reverse."""

from __future__ import annotations

import hashlib
import io
import logging

import pytest

from ivr.privacy import caller_hash, install_log_masking, mask_numbers

NUMBER = "+12035550123"


@pytest.mark.parametrize(
    "text",
    [
        "From=+12035550123",
        "caller 203-555-0123 hung up",
        "caller (203) 555-0123 hung up",
        "caller 1 203 555 0123 hung up",
        "caller 2035550123 hung up",
        "From=%2B12035550123&To=%2B12032450412",
        "uk caller +447700900123",
    ],
)
def test_numbers_are_masked(text):
    masked = mask_numbers(text)
    assert "[number]" in masked
    assert not any(run in masked for run in ("555", "0123", "7700900"))


@pytest.mark.parametrize(
    "text",
    [
        "at 2026-11-26 01:49:02 worker 8062",
        "CallSid CA0123456789abcdef0123456789abcdef step menu",
        "dial 911 or 988",
        "port 5432",
    ],
)
def test_ordinary_values_are_left_alone(text):
    assert mask_numbers(text) == text


def test_every_logger_masks_numbers_in_message_args_and_tracebacks(app):
    install_log_masking()
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(name)s %(message)s"))
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        logging.getLogger("ivr.voice").warning("call from %s", NUMBER)
        logging.getLogger("gunicorn.error").error(f"text to {NUMBER} failed")
        app.logger.error("caller=%(who)s", {"who": "203-555-0123"})
        try:
            raise ValueError(f"bad number {NUMBER}")
        except ValueError:
            logging.getLogger("somewhere.else").exception("failed")
    finally:
        root.removeHandler(handler)
    out = stream.getvalue()
    assert "555" not in out and "0123" not in out
    assert out.count("[number]") == 4
    assert "ValueError: bad number [number]" in out


def test_hash_is_keyed_and_stable():
    assert caller_hash("k1", NUMBER) == caller_hash("k1", NUMBER)
    assert caller_hash("k1", NUMBER) != caller_hash("k2", NUMBER)
    assert caller_hash("k1", NUMBER) != caller_hash("k1", "+12035550124")


def test_hash_cannot_be_found_by_hashing_numbers_without_the_key():
    plain = {hashlib.sha256(NUMBER.encode()).hexdigest(), hashlib.sha1(NUMBER.encode()).hexdigest()}
    hashed = caller_hash("app-secret", NUMBER)
    assert all(hashed not in p and p[:32] != hashed for p in plain)
