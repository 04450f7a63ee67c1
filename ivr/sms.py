"""Twilio's messaging webhooks: what is known, the text core's turn, one write, the answer."""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import timedelta
from functools import lru_cache

from flask import Blueprint, Response
from twilio.twiml.messaging_response import MessagingResponse

from . import limits, textline, textpolicy
from .edge import (
    alert,
    caller,
    form_text,
    line,
    live,
    now,
    send_owed_alert,
    store,
    this_app,
    this_request,
    twilio_id,
    with_link,
)
from .store import Note, Recalled, StoreError
from .texting import outgoing

bp = Blueprint("sms", __name__)
log = logging.getLogger(__name__)
MINUTE = timedelta(minutes=1)


@lru_cache(maxsize=512)  # most replies are the menu's fixed texts: each is rendered once
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
    """One incoming text: answered once per MessageSid, safety first, opt-outs obeyed.

    Read what is known of the sender (one transaction), let the core decide, store
    everything the text needs (one transaction, before the reply), then alert staff.
    """
    sid = twilio_id("MessageSid") or twilio_id("SmsSid")
    key = f"sms:{sid}" if sid else ""
    number = caller()
    form = this_request().form
    body = form.get("Body", "")[:1600]
    said = textline.plain(body)
    known = _recall(key, number, said)
    if known.reply is not None:
        # A retry: exactly the first reply, and no second event, opt-out or request; only a
        # staff alert the first delivery could not send goes out now.
        send_owed_alert(key)
        return _xml(known.reply)
    facts = textpolicy.Known(
        known.opted_out,
        known.language,
        limits.Recent(known.replies, known.notices, known.repeats),
    )
    opt_out_type = form.get("OptOutType", "")
    # The line as the console set it (on-call phone, closed or open now), read with the rest.
    turn = textpolicy.decide(live(known.state), body, facts, _limits(), now(), opt_out_type)
    reply, first = _keep(number, key, said, turn)
    if not first:  # the same message, delivered twice at once: the other answered first
        saved = _saved_reply(key)
        return _xml(saved if saved is not None else _document(_unclaimed(turn)))
    return _xml(_document(reply))


def _recall(key: str, number: str, said: str) -> Recalled:
    """What the line knows of the sender; nothing known when the database is down
    (answering beats silence, and the message itself still tells its language)."""
    window = timedelta(minutes=this_app().config["IVR"].IVR_SMS_REPEAT_WINDOW_MINUTES)
    try:
        return store().recall_text(key, number, said, now() - MINUTE, now() - window)
    except StoreError:
        return Recalled()


def _keep(
    number: str, key: str, said: str, turn: textpolicy.Turn
) -> tuple[textline.TextReply, bool]:
    """Store everything the turn needs in one transaction, the MessageSid claimed with the
    reply; then alert staff. Returns the reply, and False when another delivery of the same
    message claimed it first (and did all this).

    When storage fails nothing is claimed, so a retry performs it again; the reply says so
    plainly, and a crisis alert still goes out.
    """
    reply = turn.reply
    note = Note(
        "sms",
        reply.kind,
        reply.lang,
        reply.topic or reply.crisis,
        turn.detail,
        said,
    )
    try:
        first = store().keep_text(
            now(),
            key,
            number,
            note,
            reply=_document(reply),
            keep=turn.keep,
            words=form_text("Body", 40),
            unsent=with_link(turn.alert) if turn.alert else None,
        )
    except StoreError:
        reply = textpolicy.unkept(line(), turn)
        # Queued, not written now: the database just failed, and a second wait for it would
        # hold the reply (a crisis reply) past Twilio's 15 s.
        store().note_later(now(), number or None, [replace(note, kind=reply.kind)])
        if owed := textpolicy.alert_anyway(turn):
            alert(owed)
        return reply, True
    if turn.alert and key:
        send_owed_alert(key)
    elif turn.alert:
        alert(turn.alert)  # no MessageSid to keep it by
    return reply, first


def _saved_reply(key: str) -> str | None:
    """The reply a delivery with this key got, when one was answered and kept."""
    try:
        return store().reply_for(key) if key else None
    except StoreError:
        return None  # cannot tell: answering twice beats not answering


def _limits() -> limits.Limits:
    settings = this_app().config["IVR"]
    return limits.Limits(
        settings.IVR_SMS_PER_MINUTE, settings.IVR_SMS_REPEATS, settings.IVR_SMS_CRISIS_REPEATS
    )


def _unclaimed(turn: textpolicy.Turn) -> textline.TextReply:
    """The reply for a delivery claimed before that kept no reply (an older version's claim).

    Opt-outs and opt-ins were stored all the same; a call-back request was not.
    """
    return textpolicy.unkept(line(), turn) if turn.keep == "callback" else turn.reply


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
