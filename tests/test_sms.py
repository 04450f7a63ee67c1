"""The text line through its webhook: exact TwiML, storage, retries, limits, any input."""

from __future__ import annotations

import itertools
import threading
import xml.etree.ElementTree as ET
from datetime import datetime

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ivr import segments, texting, textline
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


def replies(root):
    """The text of every non-empty message in a reply."""
    return [m.text for m in root.findall("Message") if m.text]


# Golden texts, written out: a broken footer, spelling or encoding fails the tests that use them.
CRISIS_OVERDOSE_EN = (
    "Overdose? Call 911 now. Give naloxone (Narcan). No response in 2-3 min? Give a 2nd dose. "
    "Not breathing? 911 will tell you how to give breaths. If breathing, lay them on their "
    "side. Stay with them. Crisis: call or text 988. Our staff: 203-245-0412."
)
CRISIS_SUICIDE_EN = (
    "Your life matters. Please call or text 988 now to talk with someone, any time. If you "
    "are in danger, call 911. 988 also helps with drug and alcohol crises. Our staff: "
    "203-245-0412."
)
CRISIS_SUICIDE_ES = (
    "Su vida importa. Llame al 988 y oprima el 2, o envie AYUDA al 988, para hablar en "
    "español con alguien, a cualquier hora. Si esta en peligro, llame al 911. Nuestro "
    "personal: 203-245-0412."
)
CALLBACK_ES_AT_NIGHT = (
    "Gracias. Un consejero le llamara a este numero cuando abramos, mañana a las 9 de la "
    "mañana. Emergencia: 911. Crisis: llame o envie texto al 988."
)
WAIT_EN = (
    "You are texting fast. Please wait a minute, then text again. Emergency: 911. Crisis: "
    "call or text 988. Us: 203-245-0412."
)
WITHDRAWAL_EN = (
    "Withdrawal can bring pain, diarrhea, nausea, vomiting, muscle aches and poor sleep. Detox "
    "is safer with medical help. Some medicines ease cravings and withdrawal. After detox, an "
    "old dose can cause an overdose. Keep naloxone. Talk to a counselor: 203-245-0412. Crisis: "
    "call or text 988."
)
WAIT = {
    "en": "You are texting fast. Please wait a minute, then text again. Emergency: 911. "
    "Crisis: call or text 988. Us: 203-245-0412.",
    "es": "Esta enviando muchos textos. Espere un minuto y escriba otra vez. Emergencia: 911. "
    "Crisis: llame o envie texto al 988. Nosotros: 203-245-0412.",
}


def test_a_keyword_gets_exactly_the_topic_text(client, line):
    status, root, raw = text(client, "detox")
    assert status == 200
    assert raw == (
        '<?xml version="1.0" encoding="UTF-8"?><Response>'
        f"<Message>{WITHDRAWAL_EN}</Message></Response>"
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
    assert replies(root)[0] == CRISIS_OVERDOSE_EN
    alerts = prism.requests(mark)
    said = line.spec.staff.alert_crisis.format(
        kind="overdose", language=line.spec.languages["en"].name
    )
    [entry] = app.extensions["ivr.store"].waiting()
    link = f"http://localhost/staff/entry/{entry.id}"  # the crisis entry in the console
    assert [(a.form["To"], a.form["Body"], a.valid) for a in alerts] == [
        ("+12032450412", f"{said} {link}", True)
    ]
    assert "breathing" not in said
    assert app.extensions["ivr.store"].count("crisis") == 1


def test_no_crisis_alert_out_of_hours_but_the_reply_still_goes(make_app, prism, line):
    app = make_app(TWILIO_API_BASE=prism.base, IVR_NOW=NIGHT)
    mark = prism.mark()
    _, root, _ = text(app.test_client(), "quiero quitarme la vida")
    assert replies(root)[0] == CRISIS_SUICIDE_ES
    assert prism.requests(mark) == []


def test_call_asks_for_a_call_back(make_app, prism, line):
    app = make_app(TWILIO_API_BASE=prism.base, IVR_NOW=NIGHT)
    mark = prism.mark()
    _, root, _ = text(app.test_client(), "llamar")
    assert message(root) == CALLBACK_ES_AT_NIGHT
    waiting = app.extensions["ivr.store"].waiting()
    assert [(w.kind, w.channel, w.number, w.language) for w in waiting] == [
        ("callback", "sms", SENDER, "es")
    ]
    assert [r.form["Body"] for r in prism.requests(mark)] == [
        "New call back request on the help line. See the staff queue. "
        f"http://localhost/staff/entry/{waiting[0].id}"
    ]


# Limits for machines, not people ----------------------------------------------

AWAY = "Thanks for your message! I am away from my phone and will reply soon."


def test_thirty_identical_auto_replies_get_at_most_three_answers(app, client, line):
    sent = [
        replies(text(client, typed)[1])
        for typed in [
            AWAY,
            AWAY.upper(),
            f"  {AWAY.lower()}!!",
            "thanks for your message, i am away",
        ]
        + [AWAY] * 26
    ]
    answered = [bool(r) for r in sent]
    # the fourth says less, so it is other words; the rest repeat the first
    assert answered == [True] * 4 + [False] * 26
    assert sum(len(r) for r in sent) <= 10
    assert WAIT_EN not in sum(sent, [])  # no notice to a machine
    assert app.extensions["ivr.store"].count("repeated") == 26
    # the same words from another number are its own
    assert replies(text(client, AWAY, sender="+12035550199")[1]) != []


def test_a_burst_of_ten_different_keywords_in_a_minute_is_all_answered(client, line):
    words = ["detox", "meds", "therapy", "levels", "signs", "relapse", "privacy", "contact"]
    words += ["tratamiento", "terapia"]
    sent = [replies(text(client, word)[1]) for word in words]
    assert all(len(r) == 1 for r in sent), sent
    answers = {
        (texting.topic_text(line, topic, lang), topic)
        for topic in line.spec.topics
        for lang in ("en", "es")
    }
    topics = dict(answers)
    # every one a topic's answer (in either language: the core chooses), none a notice
    assert [topics.get(r[0]) for r in sent] == [
        "withdrawal",
        "medications",
        "therapies",
        "levels",
        "signs",
        "relapse",
        "privacy",
        "contact",
        "treatment",
        "therapies",
    ]


def test_a_fast_person_gets_answers_then_one_notice_then_silence(make_app, line):
    client = make_app(IVR_SMS_PER_MINUTE="3").test_client()
    sent = [message(text(client, word)[1]) for word in ("detox", "meds", "therapy", "signs")]
    assert sent[:3] == [
        texting.topic_text(line, topic, "en")
        for topic in ("withdrawal", "medications", "therapies")
    ]
    assert sent[0] == WITHDRAWAL_EN
    assert sent[3] == WAIT["en"]
    assert [message(text(client, word)[1]) for word in ("relapse", "privacy")] == [None, None]
    # another number is not limited
    assert message(text(client, "menu", sender="+12035550199")[1]) is not None


def test_the_wait_notice_is_in_the_senders_language(make_app, line):
    client = make_app(IVR_SMS_PER_MINUTE="1").test_client()
    text(client, "tratamiento")
    assert message(text(client, "terapia")[1]) == WAIT["es"]


def test_a_crisis_text_after_a_burst_is_always_answered(app, client, line):
    sent = [message(text(client, f"question number {n}")[1]) for n in range(25)]
    assert [s is not None for s in sent] == [True] * 21 + [False] * 4  # 20, then the notice
    assert sent[20] == WAIT["en"]
    for _ in range(5):  # again and again: never cut off, never a notice
        crisis = replies(text(client, "I want to die")[1])
        assert crisis and crisis[0] == CRISIS_SUICIDE_EN
    assert app.extensions["ivr.store"].count("crisis") == 5


def test_the_repeat_window_is_a_setting(make_app):
    client = make_app(IVR_SMS_REPEATS="1", IVR_SMS_REPEAT_WINDOW_MINUTES="1").test_client()
    assert [message(text(client, "menu")[1]) is not None for _ in range(3)] == [True, False, False]


def test_opt_out_and_in_are_confirmed_whatever_the_limits(make_app):
    client = make_app(IVR_SMS_PER_MINUTE="1", IVR_SMS_REPEATS="1").test_client()
    assert message(text(client, "detox")[1]) is not None
    assert message(text(client, "meds")[1]) is not None  # the notice
    assert message(text(client, "STOP")[1]).startswith("You will get no more texts")
    assert message(text(client, "START")[1]).startswith("You can get texts from us again.")
    assert message(text(client, "STOP")[1]).startswith("You will get no more texts")


def test_the_words_are_kept_only_as_a_keyed_hash(app, client):
    from sqlalchemy import text as sql

    text(client, AWAY)
    memory = app.extensions["ivr.store"]
    memory.later.flush()  # a question's event is written moments after the answer
    with memory.engine.connect() as connection:
        rows = connection.execute(sql("SELECT * FROM events")).all()
    assert [r._mapping["said"] for r in rows] == [memory.said(SENDER, textline.plain(AWAY))]
    assert "away" not in repr(rows).lower() and SENDER[1:] not in repr(rows)


# Language memory and two texts in one reply ------------------------------------


def spy_on_reply_to(monkeypatch):
    """Record the last_lang the webhook hands the text-line core."""
    seen = []
    real = textline.reply_to

    def spy(*args, **kwargs):
        seen.append(kwargs["last_lang"])
        return real(*args, **kwargs)

    monkeypatch.setattr(textline, "reply_to", spy)
    return seen


def test_the_language_a_number_last_used_reaches_the_core(app, client, monkeypatch):
    seen = spy_on_reply_to(monkeypatch)
    text(client, "DETOX")
    memory = app.extensions["ivr.store"]
    memory.add_event(datetime.fromisoformat(OPEN), "sms", "keyword", number=SENDER, language="es")
    text(client, "DETOX")
    text(client, "DETOX", sender="+12035550199")
    assert seen == [None, "es", None]


def test_language_memory_with_the_database_down_is_none(make_app, monkeypatch):
    seen = spy_on_reply_to(monkeypatch)
    client = make_app(DATABASE_URL="postgresql://postgres@127.0.0.1:1/none").test_client()
    assert message(text(client, "detox")[1]) is not None
    assert seen == [None]


CRISIS_AND_QUESTION = TextReply(
    "Overdose? Call 911 now. Crisis: call or text 988.",
    "en",
    "crisis",
    crisis="overdose",
    followup="We are open Monday to Friday, 8 to 8. Call 203-245-0412.",
)


def test_a_followup_is_a_second_message_after_the_crisis_reply(client, monkeypatch):
    monkeypatch.setattr(textline, "reply_to", lambda *args, **kwargs: CRISIS_AND_QUESTION)
    _, root, raw = text(client, "he took too much, when are you open", sid="SMtwo")
    assert [(m.tag, m.text) for m in root] == [
        ("Message", CRISIS_AND_QUESTION.body),
        ("Message", CRISIS_AND_QUESTION.followup),
    ]
    monkeypatch.undo()  # a retry replays the saved document, it does not decide again
    assert text(client, "he took too much, when are you open", sid="SMtwo")[2] == raw


@pytest.mark.parametrize(
    ("body", "followup", "expected"),
    [
        ("a", None, ["a"]),
        ("a", "b", ["a", "b"]),
        (None, "b", []),  # silence stays silence
        (None, None, []),
    ],
)
def test_messaging_renders_each_text_in_order(body, followup, expected):
    root = twiml_rules.check(messaging(body, followup).encode())
    assert [m.text for m in root.findall("Message")] == expected
    assert [c.tag for c in root] == ["Message"] * len(expected)


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
        "\u202e\u200b",  # right-to-left override, zero-width space
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
    sent = replies(root)
    assert len(sent) <= 2  # a crisis reply may be followed by the answer the text asked for
    for reply in sent:
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
    senders = itertools.count(1)  # a new number each time: no language memory, no limits
    for topic_id, word in _keywords(line):
        lang = line.keywords[normalize_word(word).replace(" ", "")][1]
        for typed in (word.lower(), f"info {word}!"):
            reply = message(text(client, typed, sender=f"+1203556{next(senders):04d}")[1])
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
    sent = replies(text(client, typed)[1])
    assert 1 <= len(sent) <= 2  # the safety reply first, then maybe the answer it also asked for
    assert "988" in sent[0] and (kind != "overdose" or "911" in sent[0])
    assert app.extensions["ivr.store"].count("crisis") == 1


@pytest.mark.parametrize("typed", NOT_CRISIS)
def test_no_crisis_reply_through_the_webhook(client, app, typed):
    text(client, typed)
    assert app.extensions["ivr.store"].count("crisis") == 0


def test_a_crisis_reply_never_waits_long_for_a_stuck_events_writer(
    app, client, monkeypatch, caplog
):
    """A number's earlier events are written before its next text is read and kept, but a
    writer stuck behind a locked database holds the text IN_ORDER_WAIT at most, not
    FLUSH_WAIT each time: the overdose reply goes out while the writer is still stuck (it
    once took 45 s, when Twilio gives up at 15)."""
    from ivr import eventlog

    store = app.extensions["ivr.store"]
    release, entered, left = threading.Event(), threading.Event(), threading.Event()
    write = store.later._write

    def stuck(batch):
        entered.set()
        release.wait(90)
        left.set()
        return write(batch)

    monkeypatch.setattr(store.later, "_write", stuck)
    try:
        text(client, "meds")  # its claim and event are queued for the writer, which sticks
        assert entered.wait(10)
        _, root, _ = text(client, "he is not breathing")
        assert not left.is_set()  # answered while the writer was still stuck
        assert replies(root)[0] == CRISIS_OVERDOSE_EN
    finally:
        release.set()
    waits = [r.args[0] for r in caplog.records if "of a flush" in r.getMessage()]
    assert waits and all(wait == eventlog.IN_ORDER_WAIT for wait in waits)
    store.later.flush()
    assert [w.kind for w in store.waiting()] == ["crisis-text"]


def test_a_crisis_that_also_asks_to_stop_gets_the_safety_reply_and_is_opted_out(app, client):
    _, root, _ = text(client, "Stop texting me, I want to die")
    first, second = replies(root)
    assert first == CRISIS_SUICIDE_EN
    assert second.startswith("You will get no more texts from this number.")
    store = app.extensions["ivr.store"]
    assert store.is_opted_out(SENDER)
    assert [w.kind for w in store.waiting()] == ["crisis-text"]
    assert replies(text(client, "DETOX")[1]) == []  # no more texts
    assert replies(text(client, "I want to die")[1]) == [CRISIS_SUICIDE_EN]  # but a crisis, yes
