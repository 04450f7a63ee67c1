"""Twilio's voice webhooks: read the form, ask the call core, perform effects, answer TwiML."""

from __future__ import annotations

import logging
import time

from flask import Blueprint, Response

from . import call, texting
from .edge import (
    alert,
    caller,
    can_call_back,
    form_text,
    line,
    live,
    now,
    owed_alert,
    send_owed,
    send_owed_alert,
    store,
    this_app,
    this_request,
    twilio_id,
    whole_number,
)
from .reply import Dial, Reply, Where
from .store import Note, RecalledCall, StoreError
from .twiml import RECORD_SECONDS, render
from .understand import Heard

bp = Blueprint("voice", __name__)
log = logging.getLogger(__name__)
WAIT_FOR_TEXT = 6.0  # seconds a repeat waits for the request sending its text (REST times out at 4)


def _where() -> Where:
    return Where.parse(this_request().args, line())


def _heard() -> Heard:
    form = this_request().form
    return Heard.from_form(form.get("Digits"), form.get("SpeechResult"))


def notes(reply: Reply) -> list[Note]:
    """The events a reply records."""
    return [
        Note("voice", kind, reply.lang, topic or None, detail or None)
        for kind, topic, detail in reply.events
    ]


def twiml(reply: Reply, noted: bool = False) -> Response:
    """Record the reply's events (never failing the call), unless they were stored with its
    effect (`noted`), and answer its TwiML.

    A reply that puts the call through to staff also keeps when it first did (to tell, if
    no one answers, a caller who hung up at once from one who waited)."""
    if not noted:
        puts_through = any(isinstance(verb, Dial) for verb in reply.verbs)
        claim = f"voice:{twilio_id()}:transfer" if puts_through and twilio_id() else None
        if claim:  # kept now: a later step of this call reads it
            store().note(now(), caller() or None, notes(reply), claim=claim)
        else:  # analytics only: written in a batch moments after the answer
            store().note_later(now(), caller() or None, notes(reply))
    return Response(rendered(reply), mimetype="text/xml")


RENDERED_MOST = 4096  # replies kept rendered per app; the shipped menu has a few hundred


def rendered(reply: Reply) -> str:
    """The TwiML of a reply, rendered once per app and kept: a reply value and the menu
    decide its TwiML entirely (action URLs are the app's own paths)."""
    cache: dict[Reply, str] = this_app().extensions.setdefault("ivr.rendered", {})
    xml = cache.get(reply)
    if xml is None:
        if len(cache) >= RENDERED_MOST:
            cache.clear()  # a bound, not a policy: a real menu never gets here
        xml = cache[reply] = render(reply, line())
    return xml


def _decide(decision: Reply | call.Effect) -> Response:
    """Perform an effect the core asked for, then answer what the core says of its outcome."""
    if isinstance(decision, Reply):
        return twiml(decision)
    where = decision.where
    if decision.kind == "text":
        return twiml(call.after_text(live(), where, _send_topic(where)))
    if not can_call_back(caller()):
        # A hidden number cannot be called back: the message prompt asks how to reach them.
        return twiml(call.record(live(), where))
    done = call.after_callback(live(), where, now(), saved=True)
    if _save_callback(where, notes(done)):
        return twiml(done, noted=True)  # its events were stored with the request
    return twiml(call.after_callback(live(), where, now(), saved=False))


def _send_topic(where: Where) -> str:
    """Text the topic to the caller unless they opted out; sent, opted-out or failed.

    The text is claimed with this call step, sent once, and a repeat of the step says
    what happened to it: sent, or (when it failed) it is sent now.
    """
    number = caller()
    # Per language: a caller who asks again after switching to Spanish gets the Spanish text
    key = f"voice:{twilio_id()}:text:{where.topic}:{where.lang}"
    try:
        if store().is_opted_out(number):
            return "opted-out"
        store().claim(key, now(), unsent=texting.topic_text(line(), where.topic, where.lang))
        sent = send_owed(key, number)
        return _text_outcome(key) if sent is None else "sent" if sent else "failed"
    except StoreError:
        return "failed"


def _text_outcome(key: str) -> str:
    """What became of a text another request of this step is sending (or sent): sent or failed."""
    deadline = time.monotonic() + WAIT_FOR_TEXT
    while (state := store().sending(key)) == "sending" and time.monotonic() < deadline:
        time.sleep(0.1)
    return "sent" if state == "sent" else "failed"  # still sending: it cannot be promised


def _save_callback(where: Where, events: list[Note]) -> bool:
    """Store a call-back request with its events and alert the on-call phone (without caller
    details), once."""
    key = f"voice:{twilio_id()}:callback"
    try:
        store().add_request(
            "callback",
            "voice",
            caller(),
            where.lang,
            now(),
            topic=where.topic or None,
            once=key,
            unsent=owed_alert(live().spec.staff.alert_callback),
            notes=events,
        )
    except StoreError:
        return False
    send_owed_alert(key)  # on a retry, only an alert the first request could not send
    return True


@bp.post("/voice")
def incoming() -> Response:
    """A new call: greeting, emergency sentence, language choice and main menu."""
    return twiml(call.answer(line()))


@bp.post("/voice/menu")
def menu() -> Response:
    """A key, words or silence at a menu."""
    return _decide(call.at_menu(live(), _where(), _heard(), now()))


@bp.post("/voice/summary")
def summary() -> Response:
    """A key, words or silence after a summary; with no such topic, the menu it was under."""
    where = _where()
    if not where.topic:  # a topic renamed or removed during the call: it has nothing to repeat
        return twiml(call.menu(live(), where))
    return _decide(call.at_summary(live(), where, _heard(), now()))


@bp.post("/voice/message")
def message() -> Response:
    """A key, words or silence at the safety net's message offer."""
    return _decide(call.at_message(live(), _where(), _heard(), now()))


@bp.post("/voice/recorded")
def recorded() -> Response:
    """A voicemail was recorded: keep where to find it, alert staff, thank the caller."""
    where, seconds = _where(), whole_number("RecordingDuration", RECORD_SECONDS)
    recording = form_text("RecordingUrl", 300)
    if not recording or seconds == 0:
        return twiml(call.after_voicemail(live(), where, now(), saved=False))
    key = f"voice:recording:{(form_text('RecordingSid', 60) or recording)[:60]}"
    done = call.after_voicemail(live(), where, now(), saved=True)
    try:
        store().add_request(
            "voicemail",
            "voice",
            caller(),
            where.lang,
            now(),
            topic=where.topic or None,
            recording_url=recording,
            recording_seconds=seconds,
            once=key,
            unsent=owed_alert(line().spec.staff.alert_voicemail),
            notes=notes(done),
        )
    except StoreError:
        alert(line().spec.staff.alert_voicemail_unsaved)  # Twilio still holds the recording
        return twiml(done)
    send_owed_alert(key)  # on a retry, only an alert the first request could not send
    return twiml(done, noted=True)  # its events were stored with the voicemail


@bp.post("/voice/dialed")
def dialed() -> Response:
    """The staff (or backup) leg ended: connected, or the safety net; when no one answered,
    the caller waits in the console as a missed call (unless they hung up at once)."""
    status = form_text("DialCallStatus", 20)
    try:
        known = store().recall_call(twilio_id())
    except StoreError:
        known = RecalledCall()  # cannot tell: the safety net is the side to err on
    where = _where()
    reply = call.dialed(live(known.state), where, status, known.accepted, now())
    gone = form_text("CallStatus", 20) not in ("", "in-progress", "ringing")
    if call.missed(reply, known.transfer_at, now(), gone) and can_call_back(caller()):
        return _keep_missed(where, reply)
    return twiml(reply)


def _keep_missed(where: Where, reply: Reply) -> Response:
    """Store the missed call with the step's events, once a call; the caller hears the net."""
    try:
        store().add_missed(
            caller(),
            where.lang,
            now(),
            where.topic or None,
            once=f"voice:{twilio_id()}:missed",
            notes=notes(reply),
        )
    except StoreError:
        log.error("missed call not kept: the database is down")
        return twiml(reply)
    return twiml(reply, noted=True)


@bp.post("/voice/whisper")
def whisper() -> Response:
    """Played to the staff member who picks up, before the caller is joined."""
    return Response(rendered(call.whisper(line(), _where())), mimetype="text/xml")


@bp.post("/voice/accept")
def accept() -> Response:
    """The staff member's answer to the whisper: 1 takes the call."""
    reply = call.accept(_heard())
    if not reply.verbs:
        parent = twilio_id("ParentCallSid")
        try:
            store().claim(f"voice:{parent}:accepted", now())
        except StoreError:
            log.error("could not note that staff took a call")
    return twiml(reply)


@bp.post("/voice/status")
def status() -> Response:
    """Twilio's call status callback (set by `ivr twilio configure`): a call ended; kept as
    an event for the activity report (how it ended and how long it lasted, never who)."""
    ended = form_text("CallStatus", 20) or "unknown"
    minutes = whole_number("CallDuration", 24 * 3600) // 60
    detail = f"{ended}, {minutes} min"
    try:
        first = store().claim(f"voice:{twilio_id()}:status", now())  # a retry counts once
    except StoreError:
        first = False  # the event could not be kept either
    if first:
        store().note(now(), caller() or None, [Note("voice", "call-ended", None, None, detail)])
    return Response(EMPTY, mimetype="text/xml")


EMPTY = '<?xml version="1.0" encoding="UTF-8"?><Response/>'


@bp.post("/voice/fallback")
def fallback() -> Response:
    """Twilio's fallback URL: apologise, give 911 and 988, and ring the staff line in hours."""
    return Response(safety_twiml(), mimetype="text/xml")


def safety_twiml() -> str:
    """A safety response from the loaded settings alone; if even that fails, a fixed text."""
    try:
        return render(call.fallback(live(), now()), line())
    except Exception:  # the last line of defence must answer something safe
        log.exception("fallback TwiML failed; answering the fixed text")
        return STATIC_SAFETY


STATIC_SAFETY = (
    '<?xml version="1.0" encoding="UTF-8"?><Response>'
    '<Say language="en-US">We are sorry. The help line is having a problem. If this is an '
    "emergency or an overdose, hang up and dial 9 1 1. For a crisis, call or text 9 8 8.</Say>"
    '<Say language="es-US">Lo sentimos. La línea de ayuda tiene un problema. Si es una '
    "emergencia o una sobredosis, cuelgue y marque el 9 1 1. Si está en crisis, llame o envíe "
    "un texto al 9 8 8.</Say><Hangup/></Response>"
)
