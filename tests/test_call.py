"""The call core, as tables: menu, where the caller is, what they did -> what happens next."""

from __future__ import annotations

from datetime import datetime

import pytest

from ivr import call, schedule
from ivr.menus import load_line
from ivr.reply import Dial, Gather, Hangup, Record, Reply, Say, Where
from ivr.understand import Heard

OPEN = datetime.fromisoformat("2026-12-01T10:00:00-05:00")  # a Tuesday morning
NIGHT = datetime.fromisoformat("2026-12-01T22:00:00-05:00")
WEEKEND = datetime.fromisoformat("2026-11-28T11:00:00-05:00")
THANKSGIVING = datetime.fromisoformat("2026-11-26T11:00:00-05:00")
CHRISTMAS_EVE = datetime.fromisoformat("2026-12-24T11:00:00-05:00")  # a closure in menus.yaml


def outcome(decision) -> tuple:
    """A short, comparable name for what the core decided."""
    if isinstance(decision, call.Effect):
        return ("effect", decision.kind)
    for verb in decision.verbs:
        if isinstance(verb, Dial):
            return ("dial", verb.number)
        if isinstance(verb, Record):
            return ("record",)
        if isinstance(verb, Gather):
            place = {
                "menu": verb.where.menu,
                "summary": verb.where.topic,
                "message": verb.where.why,
            }[verb.step]
            return (verb.step, place, decision.lang)
    if decision.verbs and isinstance(decision.verbs[-1], Hangup):
        return ("hangup",)
    return ("empty",)


def texts(reply: Reply) -> list[str]:
    out = []
    for verb in reply.verbs:
        if isinstance(verb, Say):
            out.append(verb.text)
        if isinstance(verb, Gather):
            out += [s.text for s in verb.says]
    return out


def key(k):
    return Heard(key=k)


SILENCE = Heard()

# (menu, key, expected) for every key at every menu, in opening hours.
MENU_KEYS = [
    ("main", "1", ("menu", "treatment", "en")),
    ("main", "2", ("summary", "withdrawal", "en")),
    ("main", "3", ("menu", "safety", "en")),
    ("main", "4", ("summary", "signs", "en")),
    ("main", "5", ("menu", "center", "en")),
    ("main", "6", ("menu", "main", "en")),  # not an option: sorry, and the menu again
    ("main", "0", ("dial", "+12032450412")),
    ("main", "*", ("menu", "main", "en")),  # nowhere further back
    ("main", "9", ("menu", "main", "en")),
    ("main", "8", ("menu", "main", "en")),
    ("main", "7", ("menu", "main", "es")),
    ("main", "#", ("menu", "main", "en")),
    ("main", "?", ("menu", "main", "en")),
    ("treatment", "1", ("summary", "treatment", "en")),
    ("treatment", "2", ("summary", "medications", "en")),
    ("treatment", "3", ("summary", "therapies", "en")),
    ("treatment", "4", ("summary", "levels", "en")),
    ("treatment", "5", ("menu", "treatment", "en")),
    ("treatment", "0", ("dial", "+12032450412")),
    ("treatment", "*", ("menu", "main", "en")),
    ("treatment", "9", ("menu", "treatment", "en")),
    ("treatment", "7", ("menu", "treatment", "es")),
    ("safety", "1", ("summary", "overdose", "en")),
    ("safety", "2", ("summary", "relapse", "en")),
    ("safety", "3", ("menu", "safety", "en")),
    ("safety", "0", ("dial", "+12032450412")),
    ("safety", "*", ("menu", "main", "en")),
    ("center", "1", ("summary", "privacy", "en")),
    ("center", "2", ("summary", "contact", "en")),
    ("center", "3", ("effect", "callback")),
    ("center", "0", ("dial", "+12032450412")),
    ("center", "*", ("menu", "main", "en")),
]


@pytest.mark.parametrize(("menu", "k", "expected"), MENU_KEYS)
def test_every_key_at_every_menu(line, menu, k, expected):
    assert outcome(call.at_menu(line, Where(menu=menu), key(k), OPEN)) == expected


def test_every_menu_offers_and_reaches_a_counselor_in_both_languages(line):
    for menu in line.spec.menus:
        for lang in ("en", "es"):
            where = Where(lang=lang, menu=menu)
            reply = call.menu(line, where)
            assert any("0" in t and ("counselor" in t or "consejero" in t) for t in texts(reply))
            assert outcome(call.at_menu(line, where, key("0"), OPEN)) == ("dial", "+12032450412")
            assert outcome(call.at_menu(line, where, key("0"), NIGHT)) == (
                "message",
                "after-hours",
                lang,
            )


SPEECH = [
    ("en", "main", "counselor", ("dial", "+12032450412")),
    ("en", "main", "I need to talk to a person", ("dial", "+12032450412")),
    ("en", "main", "operator please", ("dial", "+12032450412")),
    ("es", "main", "quiero hablar con un consejero", ("dial", "+12032450412")),
    ("es", "main", "Ayuda", ("dial", "+12032450412")),
    ("en", "main", "español", ("menu", "main", "es")),
    ("es", "main", "English", ("menu", "main", "en")),
    ("en", "main", "two", ("summary", "withdrawal", "en")),
    ("es", "main", "dos", ("summary", "withdrawal", "es")),
    ("en", "main", "withdrawal and detox", ("summary", "withdrawal", "en")),
    ("en", "main", "methadone", ("summary", "medications", "en")),
    ("en", "main", "what about narcan", ("summary", "overdose", "en")),
    ("es", "main", "metadona", ("summary", "medications", "es")),
    ("es", "main", "señales de adicción", ("summary", "signs", "es")),
    ("en", "main", "overdose and relapse", ("menu", "safety", "en")),
    ("en", "safety", "go back", ("menu", "main", "en")),
    ("es", "safety", "regresar", ("menu", "main", "es")),
    ("en", "main", "repeat", ("menu", "main", "en")),
    ("en", "main", "slower please", ("menu", "main", "en")),
    ("en", "center", "call me back", ("effect", "callback")),
    ("en", "main", "the weather in Hartford", ("menu", "main", "en")),
    # Every option label said in Spanish does what its key does
    ("es", "center", "que un consejero le llame", ("effect", "callback")),
    ("es", "main", "quiero hablar con un representante", ("dial", "+12032450412")),
    ("es", "main", "con un humano", ("dial", "+12032450412")),
    ("es", "center", "que me devuelvan la llamada", ("effect", "callback")),
    ("es", "treatment", "menú anterior", ("menu", "main", "es")),
    ("es", "main", "repítalo por favor", ("menu", "main", "es")),
    ("en", "main", "I started using again", ("summary", "relapse", "en")),
]


@pytest.mark.parametrize(
    ("lang", "speech", "expected"),
    [
        ("en", "call me back", ("effect", "callback")),
        ("es", "llámenme", ("effect", "callback")),
        ("en", "leave a message", ("record",)),
        ("es", "quiero dejar un mensaje", ("record",)),
        ("es", "envíemelo", ("effect", "text")),
        ("es", "mándeme un mensaje", ("effect", "text")),
    ],
)
def test_speech_after_a_summary_does_what_it_does_at_a_menu(line, lang, speech, expected):
    where = Where(lang=lang, menu="safety", topic="relapse")
    assert outcome(call.at_summary(line, where, Heard(speech=speech), OPEN)) == expected


@pytest.mark.parametrize(("lang", "menu", "speech", "expected"), SPEECH)
def test_speech_at_a_menu(line, lang, menu, speech, expected):
    heard = Heard(speech=speech)
    assert outcome(call.at_menu(line, Where(lang=lang, menu=menu), heard, OPEN)) == expected


def test_a_summary_is_found_by_speech_from_any_menu_and_back_returns_to_its_home(line):
    reply = call.at_menu(line, Where(menu="center"), Heard(speech="suboxone"), OPEN)
    assert outcome(reply) == ("summary", "medications", "en")
    gather = reply.verbs[0]
    assert gather.where.menu == "treatment"
    back = call.at_summary(line, gather.where, key("*"), OPEN)
    assert outcome(back) == ("menu", "treatment", "en")


def test_repeat_offers_the_slower_key_and_slower_reads_slowly(line):
    repeated = call.at_menu(line, Where(), key("9"), OPEN)
    assert texts(repeated)[-1] == "To hear it more slowly, press 8."
    slow = call.at_menu(line, Where(), key("8"), OPEN)
    assert all(s.slow for s in slow.verbs[0].says)


def test_language_key_greets_again_in_spanish(line):
    reply = call.at_menu(line, Where(), key("7"), OPEN)
    assert texts(reply)[0].startswith("Gracias por llamar a Waterstone Counseling Center.")
    assert "cuelgue y marque el 9 1 1" in texts(reply)[0]
    offer = reply.verbs[0].says[1]
    assert (offer.text, offer.lang) == ("For English, press 7.", "en")
    assert reply.events == (("language", "", "es"),)


@pytest.mark.parametrize(
    ("first", "lead"),
    [(SILENCE, "We did not hear a choice."), (key("6"), "Sorry, that is not one of the choices.")],
)
def test_first_miss_says_so_and_reads_the_menu_again(line, first, lead):
    reply = call.at_menu(line, Where(menu="treatment"), first, OPEN)
    assert outcome(reply) == ("menu", "treatment", "en")
    assert texts(reply)[0].startswith(lead)
    assert reply.verbs[0].where.tries == 1


@pytest.mark.parametrize("now", [OPEN, NIGHT])
@pytest.mark.parametrize("second", [SILENCE, key("6"), key("#")])
def test_second_miss_puts_the_caller_through(line, now, second):
    reply = call.at_menu(line, Where(menu="treatment", tries=1), second, now)
    if now is OPEN:
        assert outcome(reply) == ("dial", "+12032450412")
        assert reply.verbs[1].where.why == "tries"
    else:
        assert outcome(reply) == ("message", "after-hours", "en")


def test_a_good_choice_clears_the_count_of_misses(line):
    reply = call.at_menu(line, Where(menu="main", tries=1), key("3"), OPEN)
    assert reply.verbs[0].where.tries == 0


SUMMARY_KEYS = [
    ("1", ("summary", "relapse", "en")),
    ("9", ("summary", "relapse", "en")),
    ("8", ("summary", "relapse", "en")),
    ("2", ("effect", "text")),
    ("0", ("dial", "+12032450412")),
    ("*", ("menu", "safety", "en")),
    ("7", ("summary", "relapse", "es")),
    ("5", ("summary", "relapse", "en")),
    (None, ("summary", "relapse", "en")),
]


@pytest.mark.parametrize(("k", "expected"), SUMMARY_KEYS)
def test_every_key_after_a_summary(line, k, expected):
    where = Where(menu="safety", topic="relapse")
    assert outcome(call.at_summary(line, where, key(k), OPEN)) == expected


def test_summary_reads_the_topic_then_the_four_choices(line):
    reply = call.summary(line, Where(menu="main", topic="withdrawal"))
    assert texts(reply) == [
        line.content["withdrawal"].spoken.en,
        "To hear this again, press 1. To get it by text, press 2. To talk with a counselor, "
        "press 0. To go back to the menu, press star.",
    ]
    assert reply.events == (("topic-heard", "withdrawal", ""),)


def test_a_miss_after_a_summary_repeats_only_the_choices(line):
    reply = call.at_summary(line, Where(topic="withdrawal"), SILENCE, OPEN)
    assert texts(reply)[0] == "We did not hear a choice. Take your time."
    assert line.content["withdrawal"].spoken.en not in texts(reply)


@pytest.mark.parametrize(
    ("result", "said"),
    [
        ("sent", "We sent this to your phone as a text."),
        ("opted-out", "We cannot text this phone, because this phone asked us to stop texting it."),
        ("failed", "Sorry, we could not send a text right now."),
    ],
)
def test_after_text_says_what_happened_and_offers_again(line, result, said):
    reply = call.after_text(line, Where(topic="overdose"), result)
    assert texts(reply)[0].startswith(said)
    assert outcome(reply) == ("summary", "overdose", "en")
    assert reply.events == (("topic-texted", "overdose", result),)


@pytest.mark.parametrize(
    ("now", "is_open"),
    [(OPEN, True), (NIGHT, False), (WEEKEND, False), (THANKSGIVING, False), (CHRISTMAS_EVE, False)],
)
def test_transfer_dials_in_hours_only(line, now, is_open):
    reply = call.transfer(line, Where(lang="es", topic="withdrawal"), now, "asked")
    if is_open:
        assert outcome(reply) == ("dial", "+12032450412")
        assert texts(reply) == ["Espere, por favor. Ya lo comunicamos con un consejero."]
    else:
        assert outcome(reply) == ("message", "after-hours", "es")
        said = " ".join(texts(reply))
        for number in ("9 1 1", "9 8 8", "1 8 0 0, 6 6 2, 4 3 5 7", "1 8 0 0, 5 6 3, 4 0 8 6"):
            assert number in said
        assert "Abrimos otra vez" in said


def test_after_hours_says_when_the_center_opens(line):
    reply = call.transfer(line, Where(), THANKSGIVING, "asked")
    assert texts(reply)[0] == "The center is closed now. We open again tomorrow at 9 a.m."
    reply = call.transfer(line, Where(), CHRISTMAS_EVE, "asked")  # then Christmas, a weekend
    assert texts(reply)[0] == "The center is closed now. We open again on Monday at 9 a.m."
    reply = call.transfer(line, Where(lang="es"), NIGHT, "asked")
    assert texts(reply)[0] == (
        "El centro está cerrado ahora. Abrimos otra vez mañana a las 9 de la mañana."
    )


DIAL_RESULTS = [
    ("completed", True, ("hangup",)),
    ("answered", True, ("hangup",)),
    ("completed", False, ("message", "no-answer", "en")),  # a personal voicemail took it
    ("no-answer", False, ("message", "no-answer", "en")),
    ("busy", False, ("message", "no-answer", "en")),
    ("failed", False, ("message", "no-answer", "en")),
    ("canceled", False, ("message", "no-answer", "en")),
    ("", False, ("message", "no-answer", "en")),
]


@pytest.mark.parametrize(("status", "accepted", "expected"), DIAL_RESULTS)
def test_every_transfer_outcome(line, status, accepted, expected):
    reply = call.dialed(line, Where(topic="overdose", why="asked"), status, accepted, OPEN)
    assert outcome(reply) == expected
    if expected[0] == "message":
        said = " ".join(texts(reply))
        assert "No one could answer right now" in said and "9 1 1" in said and "9 8 8" in said
        assert "To leave a message, press 1. To ask for a call back" in said


def test_backup_line_rings_before_the_safety_net(line):
    center = line.spec.center.model_copy(update={"backup_line": "+18605550100"})
    backed = line.__class__(
        line.spec.model_copy(update={"center": center}), line.content, line.path
    )
    first = call.dialed(backed, Where(why="asked"), "no-answer", False, OPEN)
    assert outcome(first) == ("dial", "+18605550100")
    assert first.verbs[1].where.leg == 1
    second = call.dialed(backed, first.verbs[1].where, "busy", False, OPEN)
    assert outcome(second) == ("message", "no-answer", "en")


MESSAGE_KEYS = [
    ("1", ("record",)),
    ("2", ("effect", "callback")),
    ("0", ("dial", "+12032450412")),
    ("9", ("message", "no-answer", "en")),
    ("8", ("message", "no-answer", "en")),
    ("*", ("menu", "main", "en")),
    ("7", ("message", "no-answer", "es")),
    ("4", ("message", "no-answer", "en")),
    (None, ("message", "no-answer", "en")),
]


@pytest.mark.parametrize(("k", "expected"), MESSAGE_KEYS)
def test_every_key_at_the_safety_net(line, k, expected):
    assert outcome(call.at_message(line, Where(why="no-answer"), key(k), OPEN)) == expected


def test_silence_at_the_safety_net_rereads_it_and_never_hangs_up_early(line):
    where = Where(why="after-hours")
    for tries in range(call.MAX_NET_TRIES - 1):
        reply = call.at_message(line, where.to(tries=tries), SILENCE, NIGHT)
        assert outcome(reply) == ("message", "after-hours", "en")
        assert "9 1 1" in " ".join(texts(reply))
    last = call.at_message(line, where.to(tries=call.MAX_NET_TRIES - 1), SILENCE, NIGHT)
    assert outcome(last) == ("hangup",)
    assert (
        "9 8 8" in texts(last)[0]
        and texts(last)[1] == "Thank you for calling. Take care of yourself."
    )


@pytest.mark.parametrize("heard", [key("5"), key("?"), Heard(speech="banana")])
def test_wrong_keys_at_the_safety_net_never_end_the_call(line, heard):
    """ACCESSIBILITY.md 9: never end a call because of input errors. A wrong key or word
    after the silences that would end it re-reads the net, and the count starts again."""
    where = Where(why="after-hours", tries=call.MAX_NET_TRIES - 1)
    reply = call.at_message(line, where, heard, NIGHT)
    assert outcome(reply) == ("message", "after-hours", "en")
    assert "9 1 1" in " ".join(texts(reply))
    net = next(verb for verb in reply.verbs if isinstance(verb, Gather))
    assert net.where.tries == 0


def test_recording_asks_for_a_message_that_ends_with_pound(line):
    reply = call.record(line, Where(lang="es"))
    assert texts(reply)[0].startswith("Después del tono")
    assert isinstance(reply.verbs[1], Record)


@pytest.mark.parametrize(
    ("now", "when"),
    [
        (OPEN, "A counselor will call you back today."),
        (NIGHT, "A counselor will call you back after we open, tomorrow at 9 a.m."),
        (THANKSGIVING, "A counselor will call you back after we open, tomorrow at 9 a.m."),
    ],
)
def test_voicemail_and_callback_say_when_staff_will_call(line, now, when):
    saved = call.after_voicemail(line, Where(), now, saved=True)
    assert texts(saved)[0] == f"Thank you. Your message is saved. {when}"
    assert outcome(saved) == ("hangup",)
    callback = call.after_callback(line, Where(), now, saved=True)
    assert texts(callback)[0] == "Thank you. " + when.replace("back", "back at this number")
    assert "9 1 1" in texts(callback)[1]


def test_callback_that_cannot_be_saved_says_so_gives_the_numbers_and_takes_a_message(line):
    """The database down: no dead end. Twilio keeps a recording, and staff hear of it."""
    reply = call.after_callback(line, Where(), OPEN, saved=False)
    assert texts(reply)[0] == (
        "Sorry, we could not save your call back request. Please leave a message instead."
    )
    assert "9 1 1" in texts(reply)[1] and "9 8 8" in texts(reply)[1]
    assert texts(reply)[2].startswith("After the tone, tell us how we can reach you.")
    assert outcome(reply) == ("record",)


@pytest.mark.parametrize(
    ("where", "expected"),
    [
        (Where(menu="center"), ("menu", "center", "en")),
        (Where(lang="es", menu="safety", topic="relapse"), ("summary", "relapse", "es")),
    ],
)
def test_an_empty_message_asked_for_at_a_menu_goes_back_there(line, where, expected):
    """No one was rung: not "no one could answer", but the menu or summary again."""
    reply = call.after_voicemail(line, where, OPEN, saved=False)
    assert outcome(reply) == expected
    assert not any("No one could answer" in t or "Nadie pudo" in t for t in texts(reply))


def test_an_empty_recording_goes_back_to_the_offer(line):
    reply = call.after_voicemail(line, Where(why="after-hours"), NIGHT, saved=False)
    assert outcome(reply) == ("message", "after-hours", "en")


def test_whisper_tells_staff_the_language_and_where_the_caller_was(line):
    reply = call.whisper(line, Where(lang="es", topic="withdrawal", why="asked"))
    assert texts(reply) == [
        "Help line call, in Spanish, after the withdrawal and detox summary. "
        "Press 1 to take it. Press any other key or hang up to let it go."
    ]
    assert isinstance(reply.verbs[-1], Hangup)  # no key: the leg ends and the caller is not joined
    tries = call.whisper(line, Where(menu="treatment", why="tries"))
    assert texts(tries)[0].startswith(
        "Help line call, in English, from the treatment menu, after two"
    )


@pytest.mark.parametrize(("k", "joined"), [("1", True), ("2", False), (None, False)])
def test_only_1_accepts_the_call(k, joined):
    reply = call.accept(key(k))
    assert (reply.verbs == ()) is joined


def test_fallback_in_and_out_of_hours(line):
    open_reply = call.fallback(line, OPEN)
    assert outcome(open_reply) == ("dial", "+12032450412")
    assert texts(open_reply)[:2] == [
        "We are sorry. The help line is having a problem.",
        line.spec.messages.safety.en,
    ]
    assert texts(open_reply)[3] == line.spec.messages.safety.es
    closed = call.fallback(line, NIGHT)
    assert outcome(closed) == ("hangup",)
    assert "1 8 0 0, 6 6 2, 4 3 5 7" in " ".join(texts(closed))


def test_schedule_open_hours_and_holidays(line):
    center = line.spec.center
    assert schedule.is_open(center, OPEN)
    assert not schedule.is_open(center, datetime.fromisoformat("2026-12-01T08:59:00-05:00"))
    assert not schedule.is_open(center, datetime.fromisoformat("2026-12-01T17:00:00-05:00"))
    assert schedule.closure(center, THANKSGIVING.date()) == "Thanksgiving Day"
    assert schedule.closure(center, CHRISTMAS_EVE.date()) == "Christmas Eve"
    # 14:30 UTC is 09:30 in Connecticut.
    assert schedule.is_open(center, datetime.fromisoformat("2026-12-01T14:30:00+00:00"))


def test_where_survives_hostile_query_strings(line):
    where = Where.parse({"l": "fr", "m": "../etc", "t": "<x>", "n": "99999", "g": "7"}, line)
    assert where == Where()


def test_the_safety_net_can_be_heard_more_slowly(line):
    reply = call.at_message(line, Where(why="after-hours"), key("8"), NIGHT)
    assert all(say.slow for say in reply.verbs[0].says)
    assert "9 8 8" in " ".join(texts(reply))


# Words of a danger now, said at any prompt: the safety message first, then a person
# in opening hours, or the safety net when closed. Never "not one of the choices".
SPOKEN_CRISIS = [
    ("en", "he's not breathing", "overdose"),
    ("en", "my brother is not breathing", "overdose"),
    ("en", "I can't wake her up", "overdose"),
    ("en", "I want to kill myself", "suicide"),
    ("en", "I don't want to live anymore", "suicide"),
    ("es", "me quiero matar", "suicide"),
    ("es", "mi hermano no respira", "overdose"),
    ("es", "no está respirando", "overdose"),
    ("es", "le di narcan y no despierta", "overdose"),
]
SAFETY_FIRST = {
    "en": "If this is an emergency or an overdose, hang up and dial 9 1 1.",
    "es": "Si es una emergencia o una sobredosis, cuelgue y marque el 9 1 1.",
}
PROMPTS = [
    ("menu", lambda line, where, heard, now: call.at_menu(line, where, heard, now)),
    ("summary", lambda line, where, heard, now: call.at_summary(line, where, heard, now)),
    ("message", lambda line, where, heard, now: call.at_message(line, where, heard, now)),
]


@pytest.mark.parametrize(("lang", "words", "kind"), SPOKEN_CRISIS)
@pytest.mark.parametrize(("step", "at"), PROMPTS)
def test_spoken_crisis_reaches_the_safety_message_and_a_person(line, lang, words, kind, step, at):
    where = Where(lang=lang, menu="main", topic="overdose" if step == "summary" else "")
    where = where.to(why="after-hours") if step == "message" else where
    heard = Heard(speech=words)
    reply = at(line, where, heard, OPEN)
    first = reply.verbs[0]
    assert isinstance(first, Say) and first.text.startswith(SAFETY_FIRST[lang])
    assert "9 8 8" in first.text
    assert outcome(reply) == ("dial", "+12032450412")
    assert reply.events[0] == ("crisis", where.topic, kind)
    closed = at(line, where, heard, NIGHT)
    assert closed.verbs[0].text.startswith(SAFETY_FIRST[lang])
    assert outcome(closed) == ("message", "after-hours", lang)


@pytest.mark.parametrize(
    ("lang", "words"),
    [
        ("en", "what should I do if someone stops breathing"),
        ("en", "my son overdosed last year"),
        ("es", "mi jefe va a matarme"),
        ("es", "qué hago si alguien no respira"),
    ],
)
def test_a_question_about_a_crisis_is_not_one(line, lang, words):
    reply = call.at_menu(line, Where(lang=lang), Heard(speech=words), OPEN)
    assert all(event[0] != "crisis" for event in reply.events)


def test_the_whisper_tells_staff_it_is_a_crisis(line):
    reply = call.whisper(line, Where(lang="es", why="crisis"))
    said = texts(reply)[0]
    assert said.startswith(
        "Help line call, in Spanish, CRISIS: the caller spoke of an overdose or suicide, "
        "from the main menu."
    )


def test_a_menu_read_is_built_once_per_loaded_menu(line):
    """Issue 11: what depends on the menu alone is not built again per call; a menu loaded
    again (staff edited it) builds its own, equal when nothing changed."""
    where = Where(lang="es", menu="main")
    first = call.menu(line, where, greet=True)
    assert call.menu(line, where, greet=True) is first
    assert call.summary(line, where.to(topic="overdose")) is call.summary(
        line, where.to(topic="overdose")
    )
    again = load_line(line.path)
    assert call.menu(again, where, greet=True) == first
    assert call.menu(again, where, greet=True) is not first
