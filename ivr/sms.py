"""Twilio's messaging webhooks: read the text, ask the text-line core, store, answer TwiML."""

from __future__ import annotations

import logging
from datetime import timedelta

from flask import Blueprint, Response, current_app, request
from twilio.twiml.messaging_response import MessagingResponse

from . import limits, schedule, textline
from .edge import (
    alert,
    caller,
    form_text,
    line,
    now,
    owed_alert,
    send_owed_alert,
    store,
    twilio_id,
)
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
def incoming() -> Response:
    """One incoming text: answered once per MessageSid, safety first, opt-outs obeyed."""
    sid = twilio_id("MessageSid") or twilio_id("SmsSid")
    key = f"sms:{sid}" if sid else ""
    number = caller()
    body = request.form.get("Body", "")[:1600]
    saved = _saved_reply(key)
    if saved is not None:
        # A retry: exactly the first reply, and no second event, opt-out or request; only a
        # staff alert the first delivery could not send goes out now.
        send_owed_alert(key)
        return _xml(saved)
    said = textline.plain(body)
    decision = _decide(number, body)
    recent = _recent(number, said)
    decision = limits.limit(line(), decision, recent, _limits())
    decision, first = _perform(number, key, decision, alert_crisis=recent.repeats == 0)
    if not first:  # the same message, delivered twice at once: the other answered first
        saved = _saved_reply(key)
        return _xml(saved if saved is not None else _document(_unclaimed(decision)))
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
    return _xml(_document(decision))


def _saved_reply(key: str) -> str | None:
    """The reply a delivery with this key got, when one was answered and kept."""
    try:
        return store().reply_for(key) if key else None
    except StoreError:
        return None  # cannot tell: answering twice beats not answering


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
    return limits.Limits(
        settings.IVR_SMS_PER_MINUTE, settings.IVR_SMS_REPEATS, settings.IVR_SMS_CRISIS_REPEATS
    )


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
    number: str, key: str, decision: textline.TextReply, alert_crisis: bool = True
) -> tuple[textline.TextReply, bool]:
    """Store what the decision needs stored, claiming the MessageSid with the reply in the same
    transaction; then alert staff. Returns the reply, and False when another delivery of the
    same message claimed it first (and did all this).

    When storage fails nothing is claimed, so a retry performs it again; the reply says so
    plainly. Staff hear of a crisis once, not again for the same words from the same number.
    """
    memory, at, once = store(), now(), key or None
    document, owed = _document(decision), _alert(decision, alert_crisis)
    try:
        if decision.kind == "opt-out":
            words = form_text("Body", 40)
            first = memory.opt_out(number, words, at, once=once, reply=document) is not None
        elif decision.kind == "opt-in":
            first = memory.opt_in(number, once=once, at=at, reply=document) is not None
        elif decision.kind == "callback" and decision.body:
            stored = memory.add_request(
                "callback", "sms", number, decision.lang, at, once=once, reply=document, unsent=owed
            )
            first = stored is not None
        else:
            first = memory.claim(key, at, reply=document, unsent=owed) if key else True
    except StoreError:
        if owed and decision.kind == "crisis":
            alert(owed)  # safety does not wait for the database
        return _unstored(decision), True
    if owed and key:
        send_owed_alert(key)
    elif owed:
        alert(owed)  # no MessageSid to keep it by
    return decision, first


def _alert(decision: textline.TextReply, alert_crisis: bool) -> str | None:
    """The staff alert a reply calls for (a call-back; a crisis in opening hours), if any."""
    spec = line().spec
    if decision.kind == "callback" and decision.body:
        return owed_alert(spec.staff.alert_callback)
    if decision.kind == "crisis" and alert_crisis and schedule.is_open(spec.center, now()):
        language = spec.languages[decision.lang].name
        return owed_alert(spec.staff.alert_crisis.format(kind=decision.crisis, language=language))
    return None


def _unclaimed(decision: textline.TextReply) -> textline.TextReply:
    """The reply for a delivery claimed before that kept no reply (an older version's claim).

    Opt-outs and opt-ins were stored all the same; a call-back request was not.
    """
    return _unstored(decision) if decision.kind == "callback" else decision


def _unstored(decision: textline.TextReply) -> textline.TextReply:
    """The reply when what the decision needed stored was not: say so plainly."""
    if decision.kind == "opt-out":
        name = "sms_optout_failed"
    elif decision.kind in ("opt-in", "callback") and decision.body:
        name = "sms_storage_down"  # never "you can get texts again" while the opt-out stands
    else:
        return decision  # a reply that needs nothing kept
    body = outgoing(getattr(line().spec.messages, name)[decision.lang])
    return textline.TextReply(body, decision.lang, "not-stored", decision.topic)


@bp.post("/sms/fallback")
def fallback() -> Response:
    """Twilio's fallback URL for texts: the center's number and 988, in both languages."""
    try:
        messages = line().spec.messages.sms_fallback
        body = outgoing(f"{messages.en} {messages.es}")
    except Exception:  # the last line of defence must answer something safe
        log.exception("fallback text failed; answering the fixed text")
        body = "Sorry, we had a problem. Please call 203-245-0412. Crisis: call or text 988."
    return _xml(messaging(body))
