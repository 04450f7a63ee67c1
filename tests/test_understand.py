"""Keys and speech turned into one intent, as a table."""

from __future__ import annotations

import pytest

from ivr.understand import Heard, Intent, hints, intent, words


@pytest.mark.parametrize(
    ("digits", "speech", "heard"),
    [
        ("1", None, Heard("1", "")),
        (" 0 ", None, Heard("0", "")),
        ("*", "", Heard("*", "")),
        ("", "", Heard(None, "")),
        (None, None, Heard(None, "")),
        ("12", None, Heard("?", "")),
        ("1234567890*#", "help", Heard("?", "")),
        ("x", None, Heard("?", "")),
        (None, "  counselor ", Heard(None, "  counselor ")),
    ],
)
def test_heard_from_twilio_form(digits, speech, heard):
    assert Heard.from_form(digits, speech) == heard


def test_silence_is_nothing_pressed_and_nothing_said():
    assert Heard().empty and Heard(speech=" ... ").empty
    assert not Heard(key="#").empty and not Heard(speech="ok").empty


INTENTS = [
    ("en", "main", Heard("0"), Intent("counselor")),
    ("en", "main", Heard("*"), Intent("back")),
    ("en", "main", Heard("9"), Intent("repeat")),
    ("en", "main", Heard("8"), Intent("slower")),
    ("en", "main", Heard("7"), Intent("language", "es")),
    ("es", "main", Heard("7"), Intent("language", "en")),
    ("en", "main", Heard("3"), Intent("digit", "3")),
    ("en", "main", Heard("#"), Intent("invalid", "#")),
    ("en", "main", Heard("?"), Intent("invalid", "?")),
    ("en", "main", Heard(), Intent("silence")),
    ("en", "main", Heard(speech="three"), Intent("digit", "3")),
    ("es", "main", Heard(speech="cero"), Intent("counselor")),
    ("en", "main", Heard(speech="Operator!"), Intent("counselor")),
    ("es", "main", Heard(speech="quiero hablar con alguien"), Intent("counselor")),
    ("en", "main", Heard(speech="could you say that again"), Intent("repeat")),
    ("en", "main", Heard(speech="slow down please"), Intent("slower")),
    ("es", "main", Heard(speech="más despacio"), Intent("slower")),
    ("en", "main", Heard(speech="en español por favor"), Intent("language", "es")),
    ("en", None, Heard(speech="text me"), Intent("text")),
    ("en", None, Heard(speech="call me back"), Intent("callback")),
    ("en", None, Heard(speech="I'd like to leave a message"), Intent("record")),
    ("en", "safety", Heard(speech="relapse"), Intent("digit", "2")),
    ("en", None, Heard(speech="relapse"), Intent("topic", "relapse")),
    ("en", "main", Heard(speech="buprenorphine"), Intent("topic", "medications")),
    ("en", "main", Heard(speech="suboxon"), Intent("topic", "medications")),
    ("es", "main", Heard(speech="la naloxona"), Intent("topic", "overdose")),
    ("en", "main", Heard(speech="purple elephants"), Intent("invalid")),
]


@pytest.mark.parametrize(("lang", "menu", "heard", "expected"), INTENTS)
def test_intent_table(line, lang, menu, heard, expected):
    assert intent(line, lang, menu, heard) == expected


def test_words_fold_case_accents_and_punctuation():
    assert words("¡Más DESPACIO, por favor!") == ["mas", "despacio", "por", "favor"]


def test_hints_name_the_menu_the_keywords_and_the_way_to_a_person(line):
    spanish = hints(line, "es", "main")
    assert "consejero" in spanish and "metadona" in spanish
    assert "síntomas de abstinencia y desintoxicación" in spanish
    assert len(spanish) == len(set(spanish)) < 500  # Twilio takes up to 500 hints


@pytest.mark.parametrize("lang", ["en", "es"])
@pytest.mark.parametrize("menu", ["main", "treatment", "safety", "center", None])
def test_hints_stay_within_twilios_limits_and_keep_every_topic(line, lang, menu):
    said = hints(line, lang, menu)
    assert len(said) == len(set(said)) <= 500  # past 500, Twilio warns (13330) and may drop them
    assert all(0 < len(h) <= 100 and "," not in h for h in said)
    assert {"counselor", "operator"} <= set(said) if lang == "en" else "consejero" in said
    for topic in line.spec.topics.values():  # every topic keeps its title and first keyword
        assert topic.title[lang] in said and topic.keywords[lang][0].lower() in said
