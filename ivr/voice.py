"""Twilio's voice webhooks: read the form, ask the call core, perform effects, answer TwiML."""

from __future__ import annotations

import logging

from flask import Blueprint, Response, request

from . import call, texting
from .edge import alert, caller, line, messenger, now, our_number, store
from .outbound import OutboundError
from .store import StoreError
from .twiml import Reply, Where, render
from .understand import Heard

bp = Blueprint("voice", __name__)
log = logging.getLogger(__name__)


def _where() -> Where:
    return Where.parse(request.args, line())


def _heard() -> Heard:
    return Heard.from_form(request.form.get("Digits"), request.form.get("SpeechResult"))


def twiml(reply: Reply) -> Response:
    """Record the reply's events (never failing the call) and answer its TwiML."""
    for kind, topic, detail in reply.events:
        store().record(
            now(),
            "voice",
            kind,
            number=caller() or None,
            language=reply.lang,
            topic=topic or None,
            detail=detail or None,
        )
    return Response(render(reply, line()), mimetype="text/xml")


def _decide(decision: Reply | call.Effect) -> Response:
    """Perform an effect the core asked for, then answer what the core says of its outcome."""
    if isinstance(decision, Reply):
        return twiml(decision)
    where = decision.where
    if decision.kind == "text":
        return twiml(call.after_text(line(), where, _send_topic(where)))
    return twiml(call.after_callback(line(), where, now(), _save_callback(where)))


def _send_topic(where: Where) -> str:
    """Text the topic to the caller unless they opted out; sent, opted-out or failed."""
    number = caller()
    try:
        if store().is_opted_out(number):
            return "opted-out"
        if not store().claim(f"voice:{request.form.get('CallSid', '')}:text:{where.topic}", now()):
            return "sent"  # a retried request: the text already went out
        messenger().send(number, our_number(), texting.topic_text(line(), where.topic, where.lang))
        return "sent"
    except (StoreError, OutboundError):
        return "failed"


def _save_callback(where: Where) -> bool:
    """Store a call-back request and alert the on-call phone (without caller details)."""
    key = f"voice:{request.form.get('CallSid', '')}:callback"
    try:
        stored = store().add_request(
            "callback", "voice", caller(), where.lang, now(), topic=where.topic or None, once=key
        )
    except StoreError:
        return False
    if stored is not None:  # not on a retry
        alert(line().spec.staff.alert_callback)
    return True


@bp.post("/voice")
def incoming():
    """A new call: greeting, emergency sentence, language choice and main menu."""
    return twiml(call.answer(line()))


@bp.post("/voice/menu")
def menu():
    """A key, words or silence at a menu."""
    return _decide(call.at_menu(line(), _where(), _heard(), now()))


@bp.post("/voice/summary")
def summary():
    """A key, words or silence after a summary."""
    return _decide(call.at_summary(line(), _where(), _heard(), now()))


@bp.post("/voice/message")
def message():
    """A key, words or silence at the safety net's message offer."""
    return _decide(call.at_message(line(), _where(), _heard(), now()))


@bp.post("/voice/recorded")
def recorded():
    """A voicemail was recorded: keep where to find it, alert staff, thank the caller."""
    where, seconds = _where(), request.form.get("RecordingDuration", "0")
    recording = request.form.get("RecordingUrl", "")[:300]
    seconds = int(seconds) if seconds.isdigit() else 0
    if not recording or seconds == 0:
        return twiml(call.after_voicemail(line(), where, now(), saved=False))
    sid = request.form.get("RecordingSid") or recording
    try:
        stored = store().add_request(
            "voicemail",
            "voice",
            caller(),
            where.lang,
            now(),
            topic=where.topic or None,
            recording_url=recording,
            recording_seconds=seconds,
            once=f"voice:recording:{sid[:60]}",
        )
        if stored is not None:  # not on a retry
            alert(line().spec.staff.alert_voicemail)
    except StoreError:
        alert(line().spec.staff.alert_voicemail_unsaved)  # Twilio still holds the recording
    return twiml(call.after_voicemail(line(), where, now(), saved=True))


@bp.post("/voice/dialed")
def dialed():
    """The staff (or backup) leg ended: connected, or the safety net."""
    status = request.form.get("DialCallStatus", "")[:20]
    try:
        accepted = store().seen(f"voice:{request.form.get('CallSid', '')}:accepted")
    except StoreError:
        accepted = False  # cannot tell: the safety net is the side to err on
    return twiml(call.dialed(line(), _where(), status, accepted, now()))


@bp.post("/voice/whisper")
def whisper():
    """Played to the staff member who picks up, before the caller is joined."""
    return Response(render(call.whisper(line(), _where()), line()), mimetype="text/xml")


@bp.post("/voice/accept")
def accept():
    """The staff member's answer to the whisper: 1 takes the call."""
    reply = call.accept(_heard())
    if not reply.verbs:
        parent = request.form.get("ParentCallSid", "")
        try:
            store().claim(f"voice:{parent}:accepted", now())
        except StoreError:
            log.error("could not note that staff took a call")
    return twiml(reply)


@bp.post("/voice/fallback")
def fallback():
    """Twilio's fallback URL: apologise, give 911 and 988, and ring the staff line in hours."""
    return Response(safety_twiml(), mimetype="text/xml")


def safety_twiml() -> str:
    """A safety response from the loaded settings alone; if even that fails, a fixed text."""
    try:
        return render(call.fallback(line(), now()), line())
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
