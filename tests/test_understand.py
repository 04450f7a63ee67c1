"""Keys and speech turned into one intent, as a table."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rapidfuzz import fuzz

from ivr.understand import SIMILAR, Heard, Intent, _phrase, hints, intent, spoken_topic, words


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
    ("en", "main", Heard(speech="press two"), Intent("digit", "2")),
    ("en", "main", Heard(speech="option 3"), Intent("digit", "3")),
    ("es", "main", Heard(speech="oprima el dos"), Intent("digit", "2")),
    ("en", "main", Heard(speech="press"), Intent("invalid")),
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
    # A topic's longer phrase outranks a shorter one of another topic or of "again", "back"
    ("en", "main", Heard(speech="I started using again"), Intent("topic", "relapse")),
    (
        "en",
        "treatment",
        Heard(speech="my son goes back to it every time"),
        Intent("topic", "relapse"),
    ),
    ("es", "safety", Heard(speech="tengo miedo de volver a usar"), Intent("topic", "relapse")),
    ("en", None, Heard(speech="where can I get fentanyl test strips"), Intent("topic", "overdose")),
    ("en", "safety", Heard(speech="what is the recovery position"), Intent("topic", "overdose")),
    # ... but never a person, a call back or a language asked for
    ("en", "main", Heard(speech="I need to talk to someone about relapse"), Intent("counselor")),
    ("en", None, Heard(speech="go back"), Intent("back")),
    ("en", "main", Heard(speech="say that again"), Intent("repeat")),
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


def _said_in_full(spoken: list[str], phrase: tuple[str, ...]) -> bool:
    """The plain rule, word by word: every meaningful word of the phrase was heard, or one
    close to it (the index must agree with this on anything said)."""
    return bool(phrase) and all(
        any(w == s or fuzz.ratio(w, s) >= SIMILAR for s in spoken) for w in phrase
    )


def _every_keyword(line, lang: str, spoken: list[str]) -> str | None:
    """The topic of the longest phrase said in full (the first topic of equally long ones)."""
    best, best_length = None, 0
    for topic_id, topic in line.spec.topics.items():
        for p in [*topic.keywords[lang], topic.title[lang]]:
            if _said_in_full(spoken, _phrase(p)[1]) and len(_phrase(p)[0]) > best_length:
                best, best_length = topic_id, len(_phrase(p)[0])
    return best


def _misheard(word: str, cut: int) -> str:
    return word[: max(1, len(word) - cut % 3)] if cut % 2 else word


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data())
def test_spoken_topics_index_finds_what_checking_every_keyword_finds(line, data):
    lang = data.draw(st.sampled_from(["en", "es"]))
    vocabulary = line.spoken_topics[lang].vocabulary
    picked = data.draw(st.lists(st.sampled_from(vocabulary), max_size=5))
    cuts = data.draw(st.lists(st.integers(0, 5), min_size=len(picked), max_size=len(picked)))
    noise = data.draw(
        st.lists(st.sampled_from(["um", "the", "please", "about", "necesito"]), max_size=3)
    )
    spoken = [_misheard(w, c) for w, c in zip(picked, cuts, strict=True)] + noise
    assert spoken_topic(line, lang, " ".join(spoken)) == _every_keyword(line, lang, spoken)
