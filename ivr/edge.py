"""What the web adapters share: the loaded line, the store, the clock, and staff alerts."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from flask import current_app, request

from .menus import Line
from .outbound import Messenger, OutboundError
from .store import Store

log = logging.getLogger(__name__)


def line() -> Line:
    """The menu and content, loaded once at start-up."""
    return current_app.extensions["ivr.line"]


def store() -> Store:
    """The line's memory."""
    return current_app.extensions["ivr.store"]


def messenger() -> Messenger:
    """The sender of outbound texts."""
    return current_app.extensions["ivr.messenger"]


def now() -> datetime:
    """The app's clock: IVR_NOW when set, else the real time."""
    return current_app.config["IVR"].now() or datetime.now(UTC)


def caller() -> str:
    """The number that called or texted (kept short: Twilio's are E.164)."""
    return request.form.get("From", "")[:20]


def our_number() -> str:
    """The Twilio number the person reached: what our texts are sent from."""
    return request.form.get("To", "")[:20] or line().spec.center.public_number


def alert(text: str) -> None:
    """Text the on-call staff phone; a failure is logged, never shown to the caller."""
    target = line().spec.center.alert_number
    if target:
        try:
            messenger().send(target, our_number(), text)
        except OutboundError:
            log.error("staff alert not sent")
