"""What the web adapters share: the loaded line, the store, the clock, and staff alerts."""

from __future__ import annotations

import logging
import secrets
from datetime import UTC, datetime, timedelta
from typing import cast

import phonenumbers
from flask import Flask, Request, current_app, g, request, url_for
from werkzeug.local import LocalProxy

from .menus import Line
from .oncall import OnCall, effective_line
from .outbound import Messenger, OutboundError
from .store import ENTRY, Store, StoreError

log = logging.getLogger(__name__)
# A request still sending a text after this long has died with it: another may send it.
# Far above the REST client's 4 s timeout, so a slow send is never sent twice.
SENDING_STALE = timedelta(minutes=1)


def this_app() -> Flask:
    """The app serving this request: the object itself, not Flask's `current_app` proxy.

    Each attribute read through a proxy looks the object up again (about a microsecond);
    a webhook reads a dozen, so the accessors here look it up once.
    """
    return cast("LocalProxy[Flask]", current_app)._get_current_object()


def this_request() -> Request:
    """The request being served: the object itself, not Flask's `request` proxy (see this_app)."""
    return cast("LocalProxy[Request]", request)._get_current_object()


def line() -> Line:
    """The menu and content, loaded once at start-up."""
    loaded: Line = this_app().extensions["ivr.line"]
    return loaded


def live(state: OnCall | None = None) -> Line:
    """The line as it stands for this request: menus.yaml's, with the staff console's on-call
    numbers and "closed now" or "open now" applied; read once a request (a text passes the
    `state` it read with everything else). menus.yaml's holds when the database is down."""
    found: Line | None = g.get("ivr_live")
    if state is not None or found is None:
        if state is None:
            try:
                state = store().line_state(_most_age())
            except StoreError:
                log.error("on-call state not read: the database is down; menus.yaml's holds")
        found = effective_line(line(), state)
        g.ivr_live = found
    return found


def _most_age() -> float:
    """How old a line state this request may use: a call step's (the phone menu, read on every
    step) up to IVR_LINE_STATE_SECONDS; anything else (a text reads it with what it knows of
    the number, a staff alert's retry to the backup line, the console) reads it fresh."""
    if this_request().blueprint == "voice":
        return float(this_app().config["IVR"].IVR_LINE_STATE_SECONDS)
    return 0.0


def store() -> Store:
    """The line's memory."""
    memory: Store = this_app().extensions["ivr.store"]
    return memory


def messenger() -> Messenger:
    """The sender of outbound texts."""
    sender: Messenger = this_app().extensions["ivr.messenger"]
    return sender


def now() -> datetime:
    """The app's clock: IVR_NOW when set, else the real time."""
    return this_app().config["IVR"].now() or datetime.now(UTC)


def form_text(field: str, most: int) -> str:
    """A form field as text any database keeps: at most `most` characters, no NUL."""
    return this_request().form.get(field, "")[:most].replace("\x00", "")


def caller() -> str:
    """The number that called or texted (kept short: Twilio's are E.164)."""
    return form_text("From", 20)


# What Twilio sends as the caller's number when the caller hid it: Anonymous, Restricted,
# Unavailable, Blocked and Unknown. Older calls, or other carriers, send the words.
WITHHELD = {"+266696687", "+7378742833", "+8656696", "+2562533", "+86282452253"}


def can_call_back(number: str) -> bool:
    """True when `number` is a phone number staff could call back: not hidden by the caller
    (Twilio's placeholders, 'Anonymous', empty) and of a length some country's numbers have."""
    if number in WITHHELD or not number.startswith("+"):
        return False
    try:
        return bool(phonenumbers.is_possible_number(phonenumbers.parse(number, None)))
    except phonenumbers.NumberParseException:
        return False


def twilio_id(field: str = "CallSid") -> str:
    """A Twilio id (CallSid, MessageSid...), for the keys that make a retry change nothing."""
    return form_text(field, 64)


def whole_number(field: str, most: int) -> int:
    """A count Twilio sends (seconds of a recording or a call), from 0 to `most`; 0 if unreadable.

    Only ASCII digits count, and anything longer than `most` is `most`: a form field is
    never trusted to fit a database column.
    """
    value = this_request().form.get(field, "").strip()
    if not value.isascii() or not value.isdigit():
        return 0
    value = value.lstrip("0") or "0"
    return most if len(value) > len(str(most)) else min(int(value), most)


def our_number() -> str:
    """The Twilio number the person reached: what our texts are sent from."""
    return form_text("To", 20) or line().spec.center.public_number


def base_url() -> str:
    """The public address of the app: PUBLIC_BASE_URL, else the one this request came to."""
    public: str = this_app().config["IVR"].PUBLIC_BASE_URL
    return (public or this_request().host_url).rstrip("/")


def owed_alert(text: str) -> str | None:
    """The staff alert a delivery owes, with the link to its console entry (the store fills
    in the entry's id); None when no on-call phone is set."""
    return with_link(text) if live().spec.center.alert_number else None


def with_link(text: str) -> str:
    """An alert's words and the console page of the entry it is about (no caller details)."""
    return f"{text} {base_url()}/staff/entry/{ENTRY}"


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
    """Send the staff alert a delivery owes, once whichever delivery gets to it; never raises.

    It goes to the on-call phone as the console set it (else menus.yaml's), is kept with
    its delivery status, and is followed by Twilio's status callback (alerts.py).
    """
    try:
        body = store().take_unsent(key, now(), now() - SENDING_STALE)
    except StoreError:
        log.error("staff alert not sent: the database is down")
        return
    if body is None:
        return
    sent = send_alert(body, "alert", our_number())
    try:
        store().sent(key, sent)
    except StoreError:
        log.error("could not note whether a staff alert went out")
    if not sent:
        log.error("staff alert not sent")


def send_alert(body: str, sent_to: str, sender: str, retry_of: int | None = None) -> bool:
    """Text an alert to the effective on-call phone (`alert`) or backup line (`backup`) with
    a status callback naming it, and keep it; True when Twilio took it."""
    center = live().spec.center
    phone = center.alert_number if sent_to == "alert" else center.backup_line
    if not phone:
        return False
    ref = secrets.token_urlsafe(24)
    callback = base_url() + url_for("alerts.status", ref=ref)
    try:
        sid: str | None = messenger().send(phone, sender, body, status_callback=callback)
    except OutboundError:
        sid = None
    try:
        status = "sent" if sid else "not-sent"
        store().add_alert(ref, now(), body, sent_to, phone, sid, status, retry_of)
    except StoreError:
        log.error("staff alert not kept: the database is down")
    return sid is not None


def alert(text: str) -> None:
    """Text the on-call staff phone now, when nothing could be stored (no status is kept); a
    failure is logged, never shown to the caller."""
    target = live().spec.center.alert_number
    if target:
        try:
            messenger().send(target, our_number(), text)
        except OutboundError:
            log.error("staff alert not sent")
