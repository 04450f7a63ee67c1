"""The phone line through its webhooks: exact TwiML, whole calls, Twilio's REST API on Prism."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from ivr import edge, texting
from ivr.twiml import RECORD_SECONDS

from . import twiml_rules
from .caller import Caller

OPEN = "2026-12-01T10:00:00-05:00"
NIGHT = "2026-12-01T22:00:00-05:00"
STAFF = "+12032450412"
CALLER = "+12035550123"

# Keys from the main menu to each topic's summary.
PATHS = {
    "treatment": "11",
    "medications": "12",
    "therapies": "13",
    "levels": "14",
    "withdrawal": "2",
    "overdose": "31",
    "relapse": "32",
    "signs": "4",
    "privacy": "51",
    "contact": "52",
}
MENU_PATHS = {"main": "", "treatment": "1", "safety": "3", "center": "5"}


@pytest.fixture
def caller(client):
    return Caller(client)


def test_answer_greets_with_911_first_inside_a_gather(caller):
    root = caller.call()
    assert twiml_rules.shape(root) == ["Gather", "Redirect"]
    gather = root.find("Gather")
    assert gather.attrib | {"hints": ""} == {
        "action": "/voice/menu?l=en&m=main",
        "method": "POST",
        "input": "dtmf speech",
        "timeout": "10",
        "numDigits": "1",
        "speechTimeout": "auto",
        "language": "en-US",
        "actionOnEmptyResult": "true",
        "hints": "",
    }
    assert "counselor" in gather.get("hints") and "operator" in gather.get("hints")
    assert caller.said[0] == (
        "Thank you for calling Waterstone Counseling Center. If this is an emergency or an "
        "overdose, hang up and dial 9 1 1."
    )
    assert caller.said[1] == "Para español, oprima el 7."
    assert caller.said[2].startswith("For treatment and medicines, press 1.")
    voices = [(s.get("voice"), s.get("language")) for s in root.iter("Say")]
    assert voices[1] == ("Polly.Lupe", "es-US")  # Spanish words in a Spanish voice
    assert set(voices[:1] + voices[2:]) == {("Polly.Joanna", "en-US")}
    assert root.find("Redirect").text == "/voice/menu?l=en&m=main"


@pytest.mark.parametrize("lang", ["en", "es"])
@pytest.mark.parametrize("topic", sorted(PATHS))
def test_every_topic_by_keys_in_both_languages(caller, line, lang, topic):
    caller.call()
    if lang == "es":
        caller.press("7")
        assert caller.said[0].startswith("Gracias por llamar")
    for key in PATHS[topic]:
        caller.press(key)
    assert caller.said[0] == " ".join(line.content[topic].spoken[lang].split())
    assert caller.gather.get("language") == ("es-US" if lang == "es" else "en-US")
    voice = "Polly.Lupe" if lang == "es" else "Polly.Joanna"
    assert {s.get("voice") for s in caller.root.iter("Say")} == {voice}


@pytest.mark.parametrize("now", [OPEN, NIGHT])
@pytest.mark.parametrize("lang", ["en", "es"])
@pytest.mark.parametrize("menu", sorted(MENU_PATHS))
def test_counselor_from_every_menu_in_and_out_of_hours(make_app, now, lang, menu):
    caller = Caller(make_app(IVR_NOW=now).test_client())
    caller.call()
    if lang == "es":
        caller.press("7")
    for key in MENU_PATHS[menu]:
        caller.press(key)
    root = caller.press("0")
    if now == OPEN:
        assert twiml_rules.shape(root) == ["Say", "Dial"]
        dial = caller.dial
        assert dial.get("timeout") == "20" and dial.get("action").startswith("/voice/dialed?")
        number = dial.find("Number")
        assert number.text == STAFF
        assert number.get("url").startswith("/voice/whisper?")
    else:
        assert twiml_rules.shape(root) == ["Gather", "Redirect"]
        assert "9 1 1" in caller.heard and "9 8 8" in caller.heard
        assert "1 8 0 0, 6 6 2, 4 3 5 7" in caller.heard


@pytest.mark.parametrize("lang", ["en", "es"])
def test_counselor_after_every_summary(caller, lang):
    for topic, keys in PATHS.items():
        caller.call()
        if lang == "es":
            caller.press("7")
        for key in keys:
            caller.press(key)
        caller.press("0")
        assert caller.dial.find("Number").text == STAFF, topic


def test_staff_who_takes_the_call_hears_the_whisper_first(caller):
    caller.call()
    caller.press("7")
    caller.press("2")
    caller.press("0")
    whisper = caller.staff_answers("1")
    assert whisper.root.find("Gather") is None and twiml_rules.shape(whisper.root) == []
    caller.dial_ends("completed", duration="300")
    assert caller.said == ["Gracias por llamar. Cuídese mucho."]
    assert twiml_rules.shape(caller.root) == ["Say", "Hangup"]


def test_whisper_words_and_keys(caller):
    caller.call()
    caller.press("2")
    caller.press("0")
    number = caller.dial.find("Number")
    staff = Caller(caller.client)
    root = staff.post(number.get("url"), ParentCallSid=caller.sid)
    assert twiml_rules.shape(root) == ["Gather", "Hangup"]
    assert root.find("Gather").get("input") == "dtmf"
    assert staff.said == [
        "Help line call, in English, after the withdrawal and detox summary. Press 1 to take it. "
        "Press any other key or hang up to let it go."
    ]


@pytest.mark.parametrize("key", [None, "2"])
def test_a_call_the_staff_phone_does_not_accept_counts_as_not_answered(caller, key):
    caller.call()
    caller.press("0")
    whisper = caller.staff_answers(key)
    assert twiml_rules.shape(whisper.root) == ["Hangup"]  # no key, or not 1: the leg is let go
    caller.dial_ends("completed", duration="25")  # a personal voicemail "answered"
    assert "No one could answer right now" in caller.heard
    assert "To leave a message, press 1." in caller.heard


@pytest.mark.parametrize("status", ["no-answer", "busy", "failed", "canceled"])
@pytest.mark.parametrize("lang", ["en", "es"])
def test_every_unanswered_outcome_reaches_the_safety_net(caller, status, lang):
    caller.call()
    if lang == "es":
        caller.press("7")
    caller.press("0")
    caller.dial_ends(status)
    net = caller.heard
    assert "9 1 1" in net and "9 8 8" in net
    assert ("oprima el 1" in net) if lang == "es" else ("To leave a message, press 1." in net)
    assert caller.gather.get("action").startswith("/voice/message?")


def test_two_silences_put_the_caller_through(caller):
    caller.call()
    caller.silence()
    assert caller.said[0] == "We did not hear a choice. Take your time."
    caller.silence()
    assert caller.dial.find("Number").text == STAFF


def test_a_wrong_key_says_so_and_repeats_the_menu(caller):
    caller.call()
    caller.press("1")
    caller.press("6")
    assert caller.said[0] == "Sorry, that is not one of the choices."
    assert caller.said[1].startswith("For treatment basics, press 1.")


def test_two_misses_after_hours_give_the_safety_message(make_app):
    caller = Caller(make_app(IVR_NOW=NIGHT).test_client())
    caller.call()
    caller.press("6")
    caller.silence()
    assert caller.said[0] == "The center is closed now. We open again tomorrow at 9 a.m."


def test_odd_digits_and_missing_fields_never_break_a_call(caller, client):
    caller.call()
    caller.press("1234567890*#")
    assert caller.said[0] == "Sorry, that is not one of the choices."
    root = twiml_rules.check(client.post("/voice/menu?m=nowhere&l=xx&n=abc").data)
    assert twiml_rules.shape(root) == ["Gather", "Redirect"]


@pytest.mark.parametrize("form", [{"Digits": k} for k in "12789"] + [{"SpeechResult": "slower"}])
def test_a_summary_of_a_topic_the_menu_no_longer_has_reads_the_menu(client, form):
    # A topic renamed while a call was in it: the next step's URL still names the old one.
    caller = Caller(client)
    root = caller.post("/voice/summary?l=en&m=treatment&t=gone", **form)
    assert twiml_rules.shape(root) == ["Gather", "Redirect"]
    assert caller.gather.get("action") == "/voice/menu?l=en&m=treatment"
    assert caller.said[0].startswith("For treatment basics, press 1.")


def test_slower_reading_uses_prosody(caller):
    caller.call()
    caller.press("8")
    prosody = caller.root.find("Gather/Say/prosody")
    assert prosody is not None and prosody.get("rate") == "85%"


def test_speech_reaches_a_topic_and_a_counselor(caller):
    caller.call()
    caller.say("I want to know about methadone")
    assert caller.said[0].startswith("Medicine is a key part of treatment")
    caller.say("can I talk to a counselor")
    assert caller.dial.find("Number").text == STAFF


# Voicemail, call-back and texts through Twilio's API (Prism) ------------------


@pytest.fixture
def texting_app(make_app, prism):
    return make_app(TWILIO_API_BASE=prism.base)


def test_text_me_this_sends_the_topic_to_the_caller(texting_app, prism, line):
    caller = Caller(texting_app.test_client())
    caller.call()
    caller.press("3")
    caller.press("1")
    mark = prism.mark()
    caller.press("2")
    assert caller.said[0] == "We sent this to your phone as a text."
    assert caller.said[1].startswith("To hear this again, press 1.")
    sent = prism.requests(mark)
    assert len(sent) == 1 and sent[0].valid
    assert sent[0].path.endswith("/Messages.json")
    assert sent[0].form["To"] == CALLER and sent[0].form["From"] == "+12032450412"
    assert sent[0].form["Body"].startswith(line.content["overdose"].text.en.split()[0])
    assert sent[0].form["Body"].endswith("Crisis: call or text 988.")


def test_a_retried_text_request_sends_one_text(texting_app, prism):
    caller = Caller(texting_app.test_client())
    caller.call()
    caller.press("2")
    action = caller.gather.get("action")
    mark = prism.mark()
    caller.post(action, Digits="2")
    caller.post(action, Digits="2")
    assert caller.said[0] == "We sent this to your phone as a text."
    assert len(prism.requests(mark)) == 1


def test_text_me_this_after_switching_to_spanish_sends_the_spanish_text(texting_app, prism, line):
    caller = Caller(texting_app.test_client())
    caller.call()
    caller.press("2")
    mark = prism.mark()
    caller.press("2")
    caller.press("7")  # to Spanish: the summary again, in Spanish
    caller.press("2")
    assert caller.said[0] == "Le enviamos esto a su teléfono por mensaje de texto."
    bodies = [r.form["Body"] for r in prism.requests(mark)]
    assert bodies == [texting.topic_text(line, "withdrawal", lang) for lang in ("en", "es")]


def test_no_text_to_a_number_that_opted_out(texting_app, prism):
    texting_app.extensions["ivr.store"].opt_out(
        CALLER, "STOP", __import__("datetime").datetime.now(__import__("datetime").UTC)
    )
    caller = Caller(texting_app.test_client())
    caller.call()
    caller.press("2")
    mark = prism.mark()
    caller.press("2")
    assert caller.said[0].startswith(
        "We cannot text this phone, because this phone asked us to stop"
    )
    assert prism.requests(mark) == []


def test_text_fails_kindly_when_twilio_cannot_be_reached(client):
    caller = Caller(client)
    caller.call()
    caller.press("2")
    caller.press("2")
    assert caller.said[0] == "Sorry, we could not send a text right now."
    assert caller.gather.get("action").startswith("/voice/summary?")  # and the offer again


def test_voicemail_is_stored_and_staff_alerted_without_caller_details(texting_app, prism):
    caller = Caller(texting_app.test_client())
    caller.call()
    caller.press("7")
    caller.press("2")
    caller.press("0")
    caller.dial_ends("no-answer")
    root = caller.press("1")
    assert twiml_rules.shape(root) == ["Say", "Record", "Redirect"]
    record = root.find("Record")
    assert record.attrib == {
        "action": "/voice/recorded?l=es&m=main&t=withdrawal&w=no-answer",
        "method": "POST",
        "maxLength": "120",
        "finishOnKey": "#",
        "playBeep": "true",
        "timeout": "10",
    }
    mark = prism.mark()
    caller.records(37)
    assert caller.said[0] == "Gracias. Su mensaje quedó guardado. Un consejero le llamará hoy."
    assert twiml_rules.shape(caller.root)[-1] == "Hangup"
    waiting = texting_app.extensions["ivr.store"].waiting()
    assert [(w.kind, w.number, w.language, w.topic, w.recording_seconds) for w in waiting] == [
        ("voicemail", CALLER, "es", "withdrawal", 37)
    ]
    alerts = prism.requests(mark)
    assert len(alerts) == 1 and alerts[0].valid
    assert alerts[0].form["To"] == "+12032450412"
    assert alerts[0].form["Body"] == (
        "New voicemail on the help line. Listen to it in the staff queue. "
        f"http://localhost/staff/entry/{waiting[0].id}"  # the console entry, never the caller
    )
    assert alerts[0].form["StatusCallback"].startswith("http://localhost/sms/alert-status/")
    assert CALLER[2:] not in alerts[0].form["Body"]


@pytest.mark.parametrize(
    ("sent", "seconds"),
    [
        ("37", 37),
        ("120", 120),
        ("121", 120),  # Twilio stops at maxLength; a longer claim is not believed
        ("99999999999999999999", 120),  # the review's crash: past 64 bits for SQLite
        ("9" * 5000, 120),  # past what int() reads at all
        ("0037", 37),
        (" 37 ", 37),
        ("0", 0),
        ("", 0),
        ("-1", 0),
        ("3.5", 0),
        ("NaN", 0),
        ("\u0661\u0662", 0),  # Arabic-Indic digits: isdigit() says yes, Twilio never sends them
        ("1e3", 0),
    ],
)
def test_recording_duration_is_read_as_bounded_seconds(app, sent, seconds):
    with app.test_request_context(
        "/voice/recorded", method="POST", data={"RecordingDuration": sent}
    ):
        assert edge.whole_number("RecordingDuration", RECORD_SECONDS) == seconds


def test_a_huge_recording_duration_still_saves_the_voicemail(texting_app, prism):
    caller = Caller(texting_app.test_client())
    caller.call()
    caller.press("0")
    caller.dial_ends("busy")
    caller.press("1")
    caller.records(99999999999999999999)
    assert caller.said[0].startswith("Thank you. Your message is saved.")
    waiting = texting_app.extensions["ivr.store"].waiting()
    assert [(w.kind, w.recording_seconds) for w in waiting] == [("voicemail", 120)]
    assert texting_app.extensions["ivr.store"].count("error") == 0


def test_an_empty_recording_offers_the_choices_again(caller):
    caller.call()
    caller.press("0")
    caller.dial_ends("busy")
    caller.press("1")
    caller.records(0)
    assert caller.said[0] == "We did not hear a choice. Take your time."
    assert caller.gather.get("action").startswith("/voice/message?")


def test_callback_request_after_hours(make_app, prism):
    app = make_app(IVR_NOW=NIGHT, TWILIO_API_BASE=prism.base)
    caller = Caller(app.test_client())
    caller.call()
    caller.press("0")
    mark = prism.mark()
    caller.press("2")
    assert caller.said[0] == (
        "Thank you. A counselor will call you back at this number after we open, tomorrow at 9 a.m."
    )
    [entry] = app.extensions["ivr.store"].waiting()
    assert (entry.kind, entry.number) == ("callback", CALLER)
    assert [r.form["Body"] for r in prism.requests(mark)] == [
        "New call back request on the help line. See the staff queue. "
        f"http://localhost/staff/entry/{entry.id}"
    ]


def test_events_follow_the_call_and_hold_no_number(app, caller):
    caller.call()
    caller.press("3")
    caller.press("1")
    caller.press("0")
    store = app.extensions["ivr.store"]
    for kind, times in (("call-started", 1), ("menu", 2), ("topic-heard", 1), ("transfer", 1)):
        assert store.count(kind) == times, kind
    with store.engine.connect() as connection:
        rows = connection.execute(text("SELECT * FROM events")).all()
    assert CALLER[2:] not in repr(rows)


# The database down: the line still answers, and says so only where it must --------


def test_database_down_calls_still_work(make_app):
    app = make_app(DATABASE_URL="postgresql://postgres@127.0.0.1:1/none")
    caller = Caller(app.test_client())
    caller.call()
    caller.press("2")
    assert caller.said[0].startswith("When a person stops using heroin")
    caller.press("0")
    assert caller.dial.find("Number").text == STAFF
    caller.dial_ends("no-answer")
    caller.press("2")  # a call back cannot be saved: a message is taken instead
    assert caller.said[0] == (
        "Sorry, we could not save your call back request. Please leave a message instead."
    )
    assert "9 8 8" in caller.said[1]
    assert caller.said[2].startswith("After the tone, tell us how we can reach you.")
    assert caller.root.find("Record") is not None
    assert app.extensions["ivr.store"].failed_writes == 5  # each step whose events were lost
    caller.records(30)
    assert caller.said[0].startswith("Thank you. Your message is saved.")


# The fallback URL ------------------------------------------------------------------


@pytest.mark.parametrize("now", [OPEN, NIGHT])
def test_fallback_apologises_and_gives_the_numbers(make_app, now):
    caller = Caller(make_app(IVR_NOW=now).test_client())
    root = caller.post("/voice/fallback", ErrorCode="11200", ErrorUrl="https://x/voice")
    assert caller.said[0] == "We are sorry. The help line is having a problem."
    assert "9 1 1" in caller.said[1] and "9 8 8" in caller.said[1]
    assert "9 8 8" in caller.said[3] and root.findall("Say")[3].get("language") == "es-US"
    if now == OPEN:
        assert root.find("Dial").text == STAFF
    assert twiml_rules.shape(root)[-1] == "Hangup"


def test_a_retried_call_back_or_recording_is_stored_and_alerted_once(texting_app, prism):
    caller = Caller(texting_app.test_client())
    caller.call()
    caller.press("0")
    caller.dial_ends("busy")
    offer = caller.gather.get("action")
    mark = prism.mark()
    caller.post(offer, Digits="2")
    caller.post(offer, Digits="2")
    assert caller.said[0].startswith("Thank you. A counselor will call you back")
    caller.post(offer, Digits="1")
    record = caller.root.find("Record").get("action")
    for _ in range(2):
        caller.post(
            record,
            RecordingUrl="https://api.twilio.com/RE5",
            RecordingDuration="8",
            RecordingSid="RE" + "5" * 32,
        )
    kinds = sorted(w.kind for w in texting_app.extensions["ivr.store"].waiting())
    assert kinds == ["callback", "voicemail"]
    assert len(prism.requests(mark)) == 2


@pytest.mark.parametrize("now", [OPEN, NIGHT])
@pytest.mark.parametrize(
    ("lang", "words"),
    [
        ("en", "he's not breathing"),
        ("en", "I want to kill myself"),
        ("es", "me quiero matar"),
        ("es", "mi hermano no respira"),
    ],
)
def test_spoken_crisis_reaches_the_safety_message_and_a_person(make_app, now, lang, words):
    caller = Caller(make_app(IVR_NOW=now).test_client())
    caller.call()
    if lang == "es":
        caller.press("7")
    root = caller.say(words)
    first = {"en": "If this is an emergency", "es": "Si es una emergencia"}[lang]
    assert caller.said[0].startswith(first) and "9 8 8" in caller.said[0]
    if now == OPEN:
        assert twiml_rules.shape(root) == ["Say", "Say", "Dial"]
        assert caller.dial.find("Number").text == STAFF
        staff = Caller(caller.client, number=caller.number)
        staff.post(caller.dial.find("Number").get("url"), ParentCallSid=caller.sid)
        assert staff.said[0].startswith(
            f"Help line call, in {'Spanish' if lang == 'es' else 'English'}, CRISIS:"
        )
    else:
        assert twiml_rules.shape(root) == ["Say", "Gather", "Redirect"]
        assert "1 8 0 0, 6 6 2, 4 3 5 7" in caller.heard  # the after-hours lines too
