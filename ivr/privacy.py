"""Privacy of callers: a keyed hash for analytics, and logs that never hold a phone number."""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
from typing import Any

# E.164 numbers (also URL-encoded, %2B...), and North American numbers as people
# type them: +1 (203) 245-0412, 203.245.0412, 2032450412. Dates and times
# (2026-11-26 01:49:02) and Twilio's ids (CA..., SM...) do not match.
PHONE = re.compile(
    r"(?<![\w+%])(?:(?:\+|%2B)\d{7,15}|(?:\+?1[\s.-]?)?\(?\d{3}\)?[\s.-]?\d{3}[\s.-]?\d{4})(?!\w)",
    re.IGNORECASE,
)
MASK = "[number]"


def caller_hash(secret: str, number: str) -> str:
    """HMAC-SHA256 of a phone number under the app's secret: stable, not reversible by guessing."""
    digest = hmac.new(secret.encode(), number.strip().encode(), hashlib.sha256)
    return digest.hexdigest()[:32]


def last_four(number: str) -> str:
    """The last 4 digits of a number, all staff need to tell callers apart; never the rest."""
    digits = "".join(c for c in number if c.isascii() and c.isdigit())
    return digits[-4:] if len(digits) > 4 else "????"


def mask_numbers(text: str) -> str:
    """Replace anything that looks like a phone number with [number]."""
    return PHONE.sub(MASK, text)


class MaskNumbers(logging.Filter):
    """A logging filter that masks phone numbers in the formatted message and exception text."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        masked = mask_numbers(message)
        if masked != message:
            record.msg, record.args = masked, ()
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = mask_numbers(record.exc_text)
        return True


_installed = False


def install_log_masking() -> None:
    """Mask numbers in every log record of this process, whichever logger or handler it takes."""
    global _installed
    if _installed:
        return
    make_record = logging.getLogRecordFactory()
    masker = MaskNumbers()

    def masked_record(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = make_record(*args, **kwargs)
        masker.filter(record)
        return record

    logging.setLogRecordFactory(masked_record)
    _installed = True
