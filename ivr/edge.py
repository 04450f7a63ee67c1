"""What the web adapters share: the loaded line, the store, the clock, and staff alerts."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

from flask import current_app, request

from .menus import Line
from .outbound import Messenger, OutboundError
from .store import Store, StoreError

log = logging.getLogger(__name__)
# A request still sending a text after this long has died with it: another may send it.
# Far above the REST client's 4 s timeout, so a slow send is never sent twice.
SENDING_STALE = timedelta(minutes=1)


def line() -> Line:
    """The menu and content, loaded once at start-up."""
    loaded: Line = current_app.extensions["ivr.line"]
    return loaded


def store() -> Store:
    """The line's memory."""
    memory: Store = current_app.extensions["ivr.store"]
    return memory


def messenger() -> Messenger:
    """The sender of outbound texts."""
    sender: Messenger = current_app.extensions["ivr.messenger"]
    return sender


def now() -> datetime:
    """The app's clock: IVR_NOW when set, else the real time."""
    return current_app.config["IVR"].now() or datetime.now(UTC)


def form_text(field: str, most: int) -> str:
    """A form field as text any database keeps: at most `most` characters, no NUL."""
    return request.form.get(field, "")[:most].replace("\x00", "")


def caller() -> str:
    """The number that called or texted (kept short: Twilio's are E.164)."""
    return form_text("From", 20)


def twilio_id(field: str = "CallSid") -> str:
    """A Twilio id (CallSid, MessageSid...), for the keys that make a retry change nothing."""
    return form_text(field, 64)


def whole_number(field: str, most: int) -> int:
    """A count Twilio sends (seconds of a recording or a call), from 0 to `most`; 0 if unreadable.

    Only ASCII digits count, and anything longer than `most` is `most`: a form field is
    never trusted to fit a database column.
    """
    value = request.form.get(field, "").strip()
    if not value.isascii() or not value.isdigit():
        return 0
    value = value.lstrip("0") or "0"
    return most if len(value) > len(str(most)) else min(int(value), most)


def our_number() -> str:
    """The Twilio number the person reached: what our texts are sent from."""
    return form_text("To", 20) or line().spec.center.public_number


def owed_alert(text: str) -> str | None:
    """The staff alert a delivery owes: the text, or None when no on-call phone is set."""
    return text if line().spec.center.alert_number else None


def send_owed(key: str, to: str | None) -> bool | None:
    """Send the text a delivery still owes, unless it went out or another request is sending it.

    True when this request sent it, False when the send failed (a later retry may try
    again), None when there was nothing for this request to send. Raises StoreError.
    With no number `to` (the on-call phone removed from the menu), the send fails.
    """
    body = store().take_unsent(key, now(), now() - SENDING_STALE)
    if body is None:
        return None
    try:
        if to is None:
            raise OutboundError("no number to text")
        messenger().send(to, our_number(), body)
        ok = True
    except OutboundError:
        ok = False
    try:
        store().sent(key, ok)
    except StoreError:  # sent or not, the caller hears the truth; a retry waits SENDING_STALE
        log.error("could not note whether a text went out")
    return ok


def send_owed_alert(key: str) -> None:
    """Send the staff alert a delivery owes, once whichever delivery gets to it; never raises."""
    try:
        sent = send_owed(key, line().spec.center.alert_number)
    except StoreError:
        log.error("staff alert not sent: the database is down")
        return
    if sent is False:
        log.error("staff alert not sent")


def alert(text: str) -> None:
    """Text the on-call staff phone; a failure is logged, never shown to the caller."""
    target = line().spec.center.alert_number
    if target:
        try:
            messenger().send(target, our_number(), text)
        except OutboundError:
            log.error("staff alert not sent")
