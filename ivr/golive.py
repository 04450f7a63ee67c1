"""Put the line live in one step: point a Twilio number's webhooks at a deployment.

`ivr twilio configure --number +1... --base-url https://...` checks that the deployment
answers /healthz over HTTPS, reads the number's settings through Twilio's REST API, and
sets what differs: the voice and messaging webhooks, both fallback URLs and the call
status callback. `--dry-run` shows the same changes and makes none.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

# The number's field (as the twilio client names it) -> the path on the deployment, or a method.
WEBHOOKS: dict[str, str] = {
    "voice_url": "/voice",
    "voice_method": "POST",
    "voice_fallback_url": "/voice/fallback",
    "voice_fallback_method": "POST",
    "sms_url": "/sms",
    "sms_method": "POST",
    "sms_fallback_url": "/sms/fallback",
    "sms_fallback_method": "POST",
    "status_callback": "/voice/status",
    "status_callback_method": "POST",
}
HEALTH_SECONDS = 10


class GoLiveError(Exception):
    """The number cannot be pointed at the deployment; the message says why, plainly."""


@dataclass(frozen=True)
class Change:
    """One setting of the number: what it is, and what it will be."""

    field: str
    before: str
    after: str


def wanted(base_url: str) -> dict[str, str]:
    """Every webhook setting the number needs for a deployment at `base_url`."""
    base = base_url.rstrip("/")
    return {k: v if v == "POST" else base + v for k, v in WEBHOOKS.items()}


def check_base(base_url: str) -> None:
    """Raise GoLiveError unless `base_url` is HTTPS and its /healthz answers that it is up."""
    parts = urlsplit(base_url)
    if parts.scheme != "https" or not parts.netloc:
        raise GoLiveError(f"the base URL must start with https:// (got {base_url!r})")
    if parts.query or parts.fragment:
        raise GoLiveError("the base URL must have no ?query or #fragment")
    health = base_url.rstrip("/") + "/healthz"
    try:
        with urllib.request.urlopen(health, timeout=HEALTH_SECONDS) as answer:
            status = json.loads(answer.read()).get("status")
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        raise GoLiveError(f"{health} did not answer over HTTPS: {reason}") from None
    if status != "ok":
        raise GoLiveError(f"{health} answered, but not that the line is up")


def changes(number: Any, base_url: str) -> list[Change]:
    """What differs between the number's settings (a twilio IncomingPhoneNumber) and ours."""
    found = []
    for field, value in wanted(base_url).items():
        before = getattr(number, field, None) or ""
        same = before.upper() == value if value == "POST" else before == value
        if not same:
            found.append(Change(field, before, value))
    return found


def configure(client: Any, phone_number: str, base_url: str, dry_run: bool) -> list[Change]:
    """Point `phone_number` at `base_url`; return what changed (or would, with `dry_run`)."""
    check_base(base_url)
    numbers = client.incoming_phone_numbers.list(phone_number=phone_number, limit=2)
    if not numbers:
        raise GoLiveError(f"{phone_number} is not a number of this Twilio account")
    number = numbers[0]
    todo = changes(number, base_url)
    if todo and not dry_run:
        client.incoming_phone_numbers(number.sid).update(**{c.field: c.after for c in todo})
    return todo
