"""Calling back as the center: Twilio rings a counselor's own phone, says whose call-back it
is, and on their key press connects them to the person waiting, showing the center's number.

The console places the call (`place`); the counselor's leg then follows four Twilio webhooks
under /voice/callback/<ref>/, signature-checked like every /voice webhook and needing no
staff session. `ref` is a random reference made for each try, so knowing a request's number
opens nothing; it names one try, bound to the first call that uses it, and only until that
try ends. The caller's number goes into <Dial> alone: it is never spoken nor shown.
"""

from __future__ import annotations

import logging
import secrets
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from flask import Blueprint, Response, current_app, request, url_for
from twilio.twiml.voice_response import VoiceResponse

from .edge import form_text, line, now, store, twilio_id, whole_number
from .menus import Line
from .outbound import Dialer, OutboundError
from .settings import Settings
from .store import Leg, StoreError

bp = Blueprint("callbacks", __name__, url_prefix="/voice/callback")
log = logging.getLogger(__name__)
ANSWER_WITHIN = timedelta(minutes=10)  # a reference rings and connects only this long
GATHER_SECONDS = 10
DIAL_SECONDS = 30  # how long the caller's phone rings
CALL_SECONDS = 4 * 60 * 60  # the most a connected call can last, as a count
MACHINES = ("machine", "fax")  # AnsweredBy starting so: the counselor's own voicemail
KINDS = {"voicemail": "a voicemail", "callback": "a call-back request"}

# How a try ended, in the words the console and the audit list show.
OUTCOMES = {
    "connected": "connected with the caller",
    "caller-no-answer": "the caller did not answer",
    "caller-busy": "the caller's line was busy",
    "caller-failed": "the call to the caller failed",
    "not-connected": "the counselor answered but did not connect",
    "voicemail": "the counselor's voicemail answered",
    "no-answer": "the counselor's phone did not answer",
    "busy": "the counselor's phone was busy",
    "failed": "the call to the counselor's phone failed",
    "not-placed": "Twilio could not place the call",
}
DIALED = {  # DialCallStatus of the caller's leg
    "completed": "connected",
    "answered": "connected",
    "busy": "caller-busy",
    "no-answer": "caller-no-answer",
    "failed": "caller-failed",
    "canceled": "not-connected",
}
ENDED = {  # CallStatus of the counselor's leg, when it ended with no dial outcome
    "completed": "not-connected",
    "busy": "busy",
    "no-answer": "no-answer",
    "failed": "failed",
    "canceled": "no-answer",
}
NOT_VALID = "This call-back is not valid any more. Nothing was connected. Goodbye."
NO_KEY = "No key was pressed, so the caller was not called. The entry stays waiting. Goodbye."
NOT_PRESSED = "The caller was not called. The entry stays waiting. Goodbye."
AFTER_DIAL = {
    "connected": "The call has ended. Please mark the entry handled with a short note.",
    "caller-busy": "The caller's line was busy. The entry stays waiting. Goodbye.",
    "caller-no-answer": "The caller did not answer. The entry stays waiting. Goodbye.",
    "caller-failed": "The call to the caller failed. The entry stays waiting. Goodbye.",
    "not-connected": "The caller was not connected. The entry stays waiting. Goodbye.",
}


def new_ref() -> str:
    """A reference no one can guess (192 random bits), one for each try."""
    return secrets.token_urlsafe(24)


# Placing the call (from the console) -------------------------------------------------


def place(request_id: int, staff: str, phone: str) -> str:
    """Ring the counselor `staff` at `phone` to call back request `request_id` as the center.

    Returns one of: placed, not-waiting, in-progress, not-placed (Twilio refused or could
    not be reached: the try is recorded as such and the entry stays waiting).
    Raises StoreError when the database fails.
    """
    ref, at = new_ref(), now()
    started = store().start_callback(request_id, staff, at, ref, at - ANSWER_WITHIN)
    if started != "placed":
        return started
    answer, status = leg_urls(ref)
    try:
        sid = dialer().ring(phone, line().spec.center.public_number, answer, status)
    except OutboundError as exc:
        store().callback_outcome(ref, at, "not-placed", ended=True, note=f"not placed: {exc}")
        return "not-placed"
    store().callback_placed(ref, sid)
    return "placed"


def dialer() -> Dialer:
    """The placer of calls."""
    placer: Dialer = current_app.extensions["ivr.dialer"]
    return placer


def leg_urls(ref: str) -> tuple[str, str]:
    """The absolute URLs Twilio calls for a try: when answered, and when the call ends."""
    settings: Settings = current_app.config["IVR"]
    base = settings.PUBLIC_BASE_URL.rstrip("/") or request.host_url.rstrip("/")
    return (
        base + url_for("callbacks.answer", ref=ref),
        base + url_for("callbacks.status", ref=ref),
    )


# What the counselor hears (pure: plain values in, TwiML out) --------------------------


def spoken_time(at: datetime) -> str:
    """A time as a voice reads it well: 'Tuesday, December 1 at 7:55 AM'."""
    hour = at.hour % 12 or 12
    return f"{at:%A}, {at:%B} {at.day} at {hour}:{at:%M} {'AM' if at.hour < 12 else 'PM'}"


def briefing_text(leg: Leg, line: Line) -> str:
    """Whose call-back this is: the entry, when, language, topic; never the number."""
    zone = ZoneInfo(line.spec.center.time_zone)
    topic = line.spec.topics.get(leg.topic) if leg.topic else None
    about = f"about {topic.title['en']}" if topic else "with no topic chosen"
    language = line.spec.languages[leg.language].name if leg.language in ("en", "es") else "?"
    return (
        f"{line.spec.center.name} help line. This is your call-back of entry {leg.request_id}: "
        f"{KINDS.get(leg.kind, 'a request')} from {spoken_time(leg.at.astimezone(zone))}, "
        f"in {language}, {about}. The caller will see the center's number. "
        "Press 1 to connect."
    )


def briefing(text: str, connect_url: str, voice: str, language: str) -> str:
    """The briefing, said twice at most, each time waiting for a key; then goodbye."""
    response = VoiceResponse()
    for _ in range(2):
        gather = response.gather(
            input="dtmf",
            action=connect_url,
            method="POST",
            num_digits=1,
            timeout=GATHER_SECONDS,
        )
        gather.say(text, voice=voice, language=language)
    response.say(NO_KEY, voice=voice, language=language)
    response.hangup()
    return str(response)


def bridge(number: str, center: str, dialed_url: str) -> str:
    """Connect the counselor to the caller, who sees the center's number."""
    response = VoiceResponse()
    dial = response.dial(caller_id=center, action=dialed_url, method="POST", timeout=DIAL_SECONDS)
    dial.number(number)
    return str(response)


def goodbye(text: str | None, voice: str, language: str) -> str:
    """Say `text` (if any) and hang up."""
    response = VoiceResponse()
    if text:
        response.say(text, voice=voice, language=language)
    response.hangup()
    return str(response)


# The counselor's leg (Twilio's webhooks) ----------------------------------------------


def _xml(body: str) -> Response:
    return Response(body, mimetype="text/xml")


def _voice() -> tuple[str, str]:
    english = line().spec.languages["en"]
    return english.voice, english.speech


def _leg(ref: str, fresh: bool) -> Leg | None:
    """The try this request's reference and CallSid name; None (and a log line) if none."""
    since = now() - ANSWER_WITHIN if fresh else None
    try:
        leg = store().callback_leg(ref, twilio_id(), since)
    except StoreError:
        log.error("call-back: the database is down")
        return None
    if leg is None:
        log.warning("call-back webhook with an unknown, ended or foreign reference")
    return leg


@bp.post("/<ref>/answer")
def answer(ref: str) -> Response:
    """The counselor's phone answered: say whose call-back it is and ask for 1."""
    leg = _leg(ref, fresh=True)
    if leg is None:
        return _xml(goodbye(NOT_VALID, *_voice()))
    if form_text("AnsweredBy", 40).startswith(MACHINES):
        _record(ref, "voicemail")
        return _xml(goodbye(None, *_voice()))  # nothing about the caller on a voicemail
    connect = url_for("callbacks.connect", ref=ref)
    return _xml(briefing(briefing_text(leg, line()), connect, *_voice()))


@bp.post("/<ref>/connect")
def connect(ref: str) -> Response:
    """The counselor's key: 1 dials the caller with the center's number as caller ID.

    The dial is claimed with its answer, once. Twilio acts on one answer per request, so
    a repeat of this request (Twilio retrying when the first answer was lost) gets the
    same answer while that dial has not ended, and a goodbye once it has: the caller is
    dialed once.
    """
    leg = _leg(ref, fresh=True)
    if leg is None:
        return _xml(goodbye(NOT_VALID, *_voice()))
    if request.form.get("Digits", "") != "1":
        return _xml(goodbye(NOT_PRESSED, *_voice()))
    key = f"callback:{ref}:connect"
    center = line().spec.center.public_number
    xml = bridge(leg.number, center, url_for("callbacks.dialed", ref=ref))
    try:
        if store().claim(key, now(), reply=xml):
            return _xml(xml)
        first = store().reply_for(key)
    except StoreError:
        return _xml(goodbye(NOT_PRESSED, *_voice()))
    if leg.outcome is not None or first is None:
        return _xml(goodbye(None, *_voice()))
    return _xml(first)


@bp.post("/<ref>/dialed")
def dialed(ref: str) -> Response:
    """The caller's leg ended: record how (once), tell the counselor, hang up."""
    leg = _leg(ref, fresh=False)
    if leg is None:
        return _xml(goodbye(None, *_voice()))
    outcome = DIALED.get(form_text("DialCallStatus", 20), "caller-failed")
    seconds = whole_number("DialCallDuration", CALL_SECONDS) if outcome == "connected" else None
    _record(ref, outcome, seconds)
    return _xml(goodbye(AFTER_DIAL[outcome], *_voice()))


@bp.post("/<ref>/status")
def status(ref: str) -> Response:
    """The counselor's leg ended: close the try, with its outcome unless the dial gave one."""
    leg = _leg(ref, fresh=False)
    if leg is not None:
        answered_by = form_text("AnsweredBy", 40)
        outcome = ENDED.get(form_text("CallStatus", 20), "failed")
        if outcome == "not-connected" and answered_by.startswith(MACHINES):
            outcome = "voicemail"
        _record(ref, outcome, ended=True)
    return _xml(str(VoiceResponse()))


def _record(ref: str, outcome: str, seconds: int | None = None, ended: bool = False) -> None:
    """Record a try's outcome once (retries change nothing); a database fault is logged."""
    words = OUTCOMES[outcome]
    if seconds:
        words += f" for {max(1, round(seconds / 60))} min"
    try:
        store().callback_outcome(ref, now(), outcome, seconds, ended=ended, note=words)
    except StoreError:
        log.error("call-back outcome not recorded: the database is down")


FAULT = (
    '<?xml version="1.0" encoding="UTF-8"?><Response><Say language="en-US">The call-back ran '
    "into a problem and was not connected. The entry stays waiting.</Say><Hangup/></Response>"
)
