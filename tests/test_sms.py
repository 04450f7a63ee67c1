"""The text line through its webhook: exact TwiML, storage, retries, limits, any input."""

from __future__ import annotations

import itertools
import xml.etree.ElementTree as ET
from datetime import datetime

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ivr import schedule, segments, texting, textline
from ivr.menus import normalize_word
from ivr.sms import messaging
from ivr.textline import TextReply

from . import twiml_rules
from .test_textline import CRISIS, NOT_CRISIS, STOPS, STOPS_ES, TYPOS

SENDER = "+12035550123"
_sids = itertools.count(1)
OPEN = "2026-12-01T10:00:00-05:00"
NIGHT = "2026-12-01T22:00:00-05:00"


def text(client, body, sid=None, sender=SENDER, **extra):
    """Post a text as Twilio does; return (status, parsed TwiML root, raw document)."""
    form = {
        "MessageSid": sid or f"SM{next(_sids):032x}",
        "AccountSid": "AC" + "0" * 32,
        "From": sender,
        "To": "+12032450412",
        "Body": body,
        "NumMedia": "0",
        **extra,
    }
    response = client.post("/sms", data=form)
    assert response.mimetype == "text/xml"
    return response.status_code, twiml_rules.check(response.data), response.data.decode()


def message(root):
    found = root.findall("Message")
    assert len(found) <= 1
    return found[0].text if found else None


def fixed(line, name, lang, **fields):
    """A fixed text exactly as the line sends it."""
    return texting.outgoing(getattr(line.spec.messages, name)[lang].format(**fields))


def test_a_keyword_gets_exactly_the_topic_text(client, line):
    status, root, raw = text(client, "detox")
    assert status == 200
    body = texting.topic_text(line, "withdrawal", "en")
    assert (
        raw
        == f'<?xml version="1.0" encoding="UTF-8"?><Response><Message>{body}</Message></Response>'
    )


def test_stop_then_silence_then_start(client, app):
    assert message(text(client, "STOP")[1]).startswith("You will get no more texts")
    assert app.extensions["ivr.store"].is_opted_out(SENDER)
    _, root, raw = text(client, "DETOX")
    assert raw.endswith("<Response />") and message(root) is None
    assert message(text(client, "stop")[1]) is None  # confirmed once already
    assert message(text(client, "START")[1]).startswith("You can get texts from us again.")
    assert not app.extensions["ivr.store"].is_opted_out(SENDER)
    assert message(text(client, "DETOX")[1]).startswith("Withdrawal")


def test_plain_words_opt_out_is_stored_with_the_words_used(client, app):
    text(client, "please stop texting me")
    from sqlalchemy import text as sql

    with app.extensions["ivr.store"].engine.connect() as connection:
        rows = connection.execute(sql("SELECT number, words FROM opt_outs")).all()
    assert [tuple(r) for r in rows] == [(SENDER, "please stop texting me")]


def test_a_retried_delivery_is_answered_once(make_app, prism):
    app = make_app(TWILIO_API_BASE=prism.base)
    client = app.test_client()
    mark = prism.mark()
    first = text(client, "I think he is overdosing", sid="SMretry1")[2]
    again = text(client, "I think he is overdosing", sid="SMretry1")[2]
    assert first == again and "911" in first
    store = app.extensions["ivr.store"]
    assert store.count("crisis") == 1
    assert len(prism.requests(mark)) == 1  # one staff alert, not two


def test_a_retried_stop_is_confirmed_once(client, app):
    first = text(client, "STOP", sid="SMstop")[2]
    assert text(client, "STOP", sid="SMstop")[2] == first
    assert app.extensions["ivr.store"].count("opt-out") == 1


def test_crisis_alerts_staff_in_hours_without_the_message(make_app, prism, line):
    app = make_app(TWILIO_API_BASE=prism.base)
    mark = prism.mark()
    _, root, _ = text(app.test_client(), "my son is not breathing please help")
    assert message(root) == fixed(line, "sms_crisis_overdose", "en")
    alerts = prism.requests(mark)
    assert [(a.form["To"], a.form["Body"], a.valid) for a in alerts] == [
        ("+12032450412", "Crisis text on the help line. See the staff queue now.", True)
    ]
    assert app.extensions["ivr.store"].count("crisis") == 1


def test_no_crisis_alert_out_of_hours_but_the_reply_still_goes(make_app, prism, line):
    app = make_app(TWILIO_API_BASE=prism.base, IVR_NOW=NIGHT)
    mark = prism.mark()
    _, root, _ = text(app.test_client(), "quiero quitarme la vida")
    assert message(root) == fixed(line, "sms_crisis_suicide", "es")
    assert prism.requests(mark) == []


def test_call_asks_for_a_call_back(make_app, prism, line):
    app = make_app(TWILIO_API_BASE=prism.base, IVR_NOW=NIGHT)
    mark = prism.mark()
    _, root, _ = text(app.test_client(), "llamar")
    when = schedule.callback_when(line.spec.center, datetime.fromisoformat(NIGHT), "es")
    assert when == "mañana a las 9 de la mañana"
    assert message(root) == fixed(line, "sms_callback", "es", when=when)
    waiting = app.extensions["ivr.store"].waiting()
    assert [(w.kind, w.channel, w.number, w.language) for w in waiting] == [
        ("callback", "sms", SENDER, "es")
    ]
    assert [r.form["Body"] for r in prism.requests(mark)] == [
        "New call back request on the help line. See the staff queue."
    ]


def test_rate_limit_stops_two_auto_responders_from_looping(make_app):
    client = make_app(IVR_SMS_PER_MINUTE="3").test_client()
    answered = [message(text(client, "menu")[1]) is not None for _ in range(5)]
    assert answered == [True, True, True, False, False]
    # one crisis reply still gets out, but not a stream of them
    assert message(text(client, "I want to die")[1]) is not None
    assert message(text(client, "I want to die")[1]) is None
    # another number is not limited
    assert message(text(client, "menu", sender="+12035550199")[1]) is not None


def test_database_down_still_answers_keywords_and_says_stop_failed(make_app):
    client = make_app(DATABASE_URL="postgresql://postgres@127.0.0.1:1/none").test_client()
    assert message(text(client, "naloxone")[1]).startswith("Overdose? Call 911 now.")
    assert message(text(client, "STOP")[1]).startswith("Sorry, we could not stop texts just now.")
    assert message(text(client, "call")[1]).startswith("Sorry, we cannot take that request")


@pytest.mark.parametrize(
    "body",
    [
        "</Message><Redirect>http://evil</Redirect><Message>",
        "<![CDATA[x]]>",
        "&amp; &lt;",
        '"><Hangup/>',
        "\x00\x01\x02\x1b[31m",
        "\ud800" if False else "\u202e\u200b",
        "A" * 5000,
    ],
)
def test_nothing_the_sender_writes_changes_the_twiml(client, body):
    status, root, _ = text(client, body)
    assert status == 200
    assert [c.tag for c in root] == ["Message"]
    assert "evil" not in ET.tostring(root, encoding="unicode")


def test_fallback_gives_the_number_and_988_in_both_languages(client):
    response = client.post("/sms/fallback", data={"ErrorCode": "11200"})
    root = twiml_rules.check(response.data)
    body = message(root)
    assert "203-245-0412" in body and "988" in body and "Lo siento" in body
    assert segments.count(body).parts <= 2


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.text(max_size=1700) | st.binary(max_size=300).map(lambda b: b.decode("latin-1")))
def test_any_body_gets_valid_twiml_within_the_segment_limit(client, body):
    response = client.post(
        "/sms",
        data={
            "MessageSid": f"SM{next(_sids):032x}",
            "From": f"+1203555{next(_sids) % 10000:04d}",
            "Body": body,
        },
    )
    assert response.status_code == 200
    root = twiml_rules.check(response.data)
    reply = message(root)
    if reply is not None:
        assert segments.count(reply).parts <= 2, reply


# The pure tables again, through the webhook ---------------------------------------


def _keywords(line):
    return [
        (topic_id, word)
        for topic_id, topic in line.spec.topics.items()
        for lang in ("en", "es")
        for word in topic.keywords[lang]
    ]


def test_every_keyword_through_the_webhook(client, line):
    for topic_id, word in _keywords(line):
        lang = line.keywords[normalize_word(word).replace(" ", "")][1]
        for typed in (word.lower(), f"info {word}!"):
            reply = message(text(client, typed, sender=f"+1203555{hash(typed) % 10000:04d}")[1])
            assert reply == texting.topic_text(line, topic_id, lang), typed


@pytest.mark.parametrize(("typed", "topic", "lang"), TYPOS)
def test_typos_through_the_webhook(client, line, typed, topic, lang):
    assert message(text(client, typed)[1]) == texting.topic_text(line, topic, lang)


@pytest.mark.parametrize("typed", STOPS + STOPS_ES)
def test_every_opt_out_word_through_the_webhook(make_app, typed):
    app = make_app()
    client = app.test_client()
    assert message(text(client, typed)[1]) is not None
    assert app.extensions["ivr.store"].is_opted_out(SENDER)
    assert message(text(client, "menu")[1]) is None


@pytest.mark.parametrize(("typed", "kind", "lang"), CRISIS)
def test_every_crisis_phrase_through_the_webhook(client, app, typed, kind, lang):
    reply = message(text(client, typed)[1])
    assert "988" in reply and (kind != "overdose" or "911" in reply)
    assert app.extensions["ivr.store"].count("crisis") == 1


@pytest.mark.parametrize("typed", NOT_CRISIS)
def test_no_crisis_reply_through_the_webhook(client, app, typed):
    text(client, typed)
    assert app.extensions["ivr.store"].count("crisis") == 0
