"""Twilio's messaging webhooks: read the text, ask the text-line core, store, answer TwiML."""

from __future__ import annotations

import logging
from datetime import timedelta

from flask import Blueprint, Response, current_app, request
from twilio.twiml.messaging_response import MessagingResponse

from . import schedule, textline
from .edge import alert, caller, line, now, store
from .store import StoreError
from .texting import outgoing

bp = Blueprint("sms", __name__)
log = logging.getLogger(__name__)
MINUTE = timedelta(minutes=1)


def messaging(body: str | None) -> str:
    """A messaging TwiML document with one message, or an empty one to stay silent."""
    response = MessagingResponse()
    if body:
        response.message(body)
    return str(response)


def _xml(document: str) -> Response:
    return Response(document, mimetype="text/xml")


@bp.post("/sms")
def incoming():
    """One incoming text: answered once per MessageSid, safety first, opt-outs obeyed."""
    sid = (request.form.get("MessageSid") or request.form.get("SmsSid") or "")[:64]
    key = f"sms:{sid}" if sid else ""
    number = caller()
    if key and not _first_delivery(key):
        # A retry: the same reply, and no second event, opt-out or alert.
        saved = _saved_reply(key)
        if saved is None:
            saved = messaging(_decide(number, request.form.get("Body", "")[:1600]).body)
        return _xml(saved)
    decision = _decide(number, request.form.get("Body", "")[:1600])
    decision = _limit(number, decision)
    decision = _perform(number, decision)
    document = messaging(decision.body)
    store().record(
        now(),
        "sms",
        decision.kind,
        number=number or None,
        language=decision.lang,
        topic=decision.topic or decision.crisis,
        detail="reply" if decision.body else "silent",
    )
    if key:
        try:
            store().save_reply(key, document)
        except StoreError:
            log.error("reply not kept for retries")
    return _xml(document)


def _first_delivery(key: str) -> bool:
    try:
        return store().claim(key, now())
    except StoreError:
        return True  # cannot tell: answering twice beats not answering


def _saved_reply(key: str) -> str | None:
    try:
        return store().reply_for(key)
    except StoreError:
        return None


def _decide(number: str, body: str) -> textline.TextReply:
    try:
        opted_out = store().is_opted_out(number)
    except StoreError:
        opted_out = False  # they just wrote to us: answer what they asked
    return textline.reply_to(line(), body, opted_out, request.form.get("OptOutType", ""), now())


def _limit(number: str, decision: textline.TextReply) -> textline.TextReply:
    """At most IVR_SMS_PER_MINUTE replies a minute per number; one crisis reply always gets out."""
    if not decision.body or decision.kind in ("opt-out", "opt-in"):
        return decision
    limit = current_app.config["IVR"].IVR_SMS_PER_MINUTE
    try:
        recent = store().replies_since(number, now() - MINUTE)
        crises = store().replies_since(number, now() - MINUTE, "crisis")
    except StoreError:
        return decision
    if recent < limit or (decision.kind == "crisis" and crises == 0):
        return decision
    return textline.TextReply(None, decision.lang, "rate-limited", decision.topic, decision.crisis)


def _perform(number: str, decision: textline.TextReply) -> textline.TextReply:
    """Store what the decision needs stored; say so plainly when storage fails."""
    spec, memory = line().spec, store()
    try:
        if decision.kind == "opt-out":
            memory.opt_out(number, request.form.get("Body", "")[:40], now())
        elif decision.kind == "opt-in":
            memory.opt_in(number)
        elif decision.kind == "callback" and decision.body:
            memory.add_request("callback", "sms", number, decision.lang, now())
            alert(spec.staff.alert_callback)
    except StoreError:
        name = "sms_optout_failed" if decision.kind == "opt-out" else "sms_storage_down"
        if decision.kind == "opt-in":
            return decision  # they asked for texts again; the reply does no harm
        body = outgoing(getattr(spec.messages, name)[decision.lang])
        return textline.TextReply(body, decision.lang, "error", decision.topic)
    if decision.kind == "crisis" and schedule.is_open(spec.center, now()):
        language = spec.languages[decision.lang].name
        alert(spec.staff.alert_crisis.format(kind=decision.crisis, language=language))
    return decision


@bp.post("/sms/fallback")
def fallback():
    """Twilio's fallback URL for texts: the center's number and 988, in both languages."""
    try:
        messages = line().spec.messages.sms_fallback
        body = outgoing(f"{messages.en} {messages.es}")
    except Exception:  # the last line of defence must answer something safe
        body = "Sorry, we had a problem. Please call 203-245-0412. Crisis: call or text 988."
    return _xml(messaging(body))
