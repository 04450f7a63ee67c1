"""Twilio's messaging webhooks: read the text, ask the text-line core, store, answer TwiML."""

from __future__ import annotations

import logging
from datetime import timedelta

from flask import Blueprint, Response, current_app, request
from twilio.twiml.messaging_response import MessagingResponse

from . import limits, schedule, textline
from .edge import alert, caller, line, now, store
from .store import StoreError
from .texting import outgoing

bp = Blueprint("sms", __name__)
log = logging.getLogger(__name__)
MINUTE = timedelta(minutes=1)


def messaging(body: str | None, followup: str | None = None) -> str:
    """A messaging TwiML document: the reply, then its follow-up if any; empty to stay silent."""
    response = MessagingResponse()
    for text in (body, followup if body else None):
        if text:
            response.message(text)
    return str(response)


def _document(decision: textline.TextReply) -> str:
    return messaging(decision.body, decision.followup)


def _xml(document: str) -> Response:
    return Response(document, mimetype="text/xml")


@bp.post("/sms")
def incoming():
    """One incoming text: answered once per MessageSid, safety first, opt-outs obeyed."""
    sid = (request.form.get("MessageSid") or request.form.get("SmsSid") or "")[:64]
    key = f"sms:{sid}" if sid else ""
    number = caller()
    body = request.form.get("Body", "")[:1600]
    if key and not _first_delivery(key):
        # A retry: exactly the saved reply, and no second event, opt-out or alert.
        saved = _saved_reply(key)
        return _xml(saved if saved is not None else _document(_decide(number, body)))
    said = textline.plain(body)
    decision = _decide(number, body)
    recent = _recent(number, said)
    decision = limits.limit(line(), decision, recent, _limits())
    decision = _perform(number, decision, alert_crisis=recent.repeats == 0)
    document = _document(decision)
    store().record(
        now(),
        "sms",
        decision.kind,
        number=number or None,
        language=decision.lang,
        topic=decision.topic or decision.crisis,
        detail="reply" if decision.body else "silent",
        said=said,
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
    try:
        last_lang = store().last_language(number)
    except StoreError:
        last_lang = None  # the message itself still tells its language
    opt_out_type = request.form.get("OptOutType", "")
    return textline.reply_to(line(), body, opted_out, opt_out_type, now(), last_lang=last_lang)


def _limits() -> limits.Limits:
    settings = current_app.config["IVR"]
    return limits.Limits(settings.IVR_SMS_PER_MINUTE, settings.IVR_SMS_REPEATS)


def _recent(number: str, said: str) -> limits.Recent:
    """What the line sent this number lately; nothing known when the database is down."""
    window = timedelta(minutes=current_app.config["IVR"].IVR_SMS_REPEAT_WINDOW_MINUTES)
    memory, minute_ago = store(), now() - MINUTE
    try:
        return limits.Recent(
            replies=memory.replies_since(number, minute_ago),
            notices=memory.replies_since(number, minute_ago, "wait"),
            repeats=memory.replies_since(number, now() - window, said=said),
        )
    except StoreError:
        return limits.Recent()  # cannot count: answering beats silence


def _perform(
    number: str, decision: textline.TextReply, alert_crisis: bool = True
) -> textline.TextReply:
    """Store what the decision needs stored; say so plainly when storage fails.

    Staff hear of a crisis once, not again for the same words from the same number.
    """
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
    if decision.kind == "crisis" and alert_crisis and schedule.is_open(spec.center, now()):
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
