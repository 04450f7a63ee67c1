"""What a caller meant: a key pressed or words spoken, turned into one intent."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

from rapidfuzz import fuzz, process

from .menus import Line
from .schema import Lang
from .wording import fold

KEYS = set("0123456789*#")
NUMBER_WORDS = {
    "en": {
        "zero": "0",
        "one": "1",
        "two": "2",
        "three": "3",
        "four": "4",
        "five": "5",
        "nine": "9",
        "eight": "8",
        "seven": "7",
        "star": "*",
    },
    "es": {
        "cero": "0",
        "uno": "1",
        "dos": "2",
        "tres": "3",
        "cuatro": "4",
        "cinco": "5",
        "nueve": "9",
        "ocho": "8",
        "siete": "7",
        "asterisco": "*",
    },
}
# Words that carry no meaning of their own in a label ("how to reach us").
FILLER = {
    "and",
    "of",
    "the",
    "a",
    "an",
    "to",
    "for",
    "how",
    "in",
    "on",
    "us",
    "we",
    "from",
    "about",
    "y",
    "de",
    "la",
    "el",
    "los",
    "las",
    "en",
    "un",
    "una",
    "como",
    "para",
    "que",
    "le",
    "del",
}
SIMILAR = 88  # rapidfuzz ratio at which two spoken words are taken as the same


@dataclass(frozen=True)
class Heard:
    """What Twilio sent from a <Gather>: one key, or a transcription, or nothing."""

    key: str | None = None
    speech: str = ""

    @classmethod
    def from_form(cls, digits: str | None, speech: str | None) -> Heard:
        """Read Digits and SpeechResult; anything but a single key counts as not a key."""
        digits = (digits or "").strip()
        key = digits if len(digits) == 1 and digits in KEYS else None
        if digits and key is None:
            return cls(key="?", speech="")  # several keys at once: an invalid choice
        return cls(key=key, speech=(speech or "")[:500])

    @property
    def empty(self) -> bool:
        """Nothing pressed and nothing said."""
        return self.key is None and not words(self.speech)


def words(text: str) -> list[str]:
    """Lower-case words without accents or punctuation (the one normaliser's fold)."""
    return re.findall(r"[a-z0-9*]+", fold(text))


@lru_cache(maxsize=16384)
def _phrase(phrase: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """A menu phrase's words, and those that carry its meaning (not FILLER), worked out once:
    the phrases are the menu's, so the cache holds each only once per loaded menu."""
    said = tuple(words(phrase))
    return said, tuple(w for w in said if w not in FILLER) or said


def _says(spoken: list[str], phrase: str) -> bool:
    """True when every word of `phrase` was said, in order, allowing small mishearings."""
    target = _phrase(phrase)[0]
    for start in range(len(spoken) - len(target) + 1):
        window = spoken[start : start + len(target)]
        if all(w == t or fuzz.ratio(w, t) >= SIMILAR for w, t in zip(window, target, strict=True)):
            return True
    return False


# Words a key is said after, as the prompts say it: "press two", "oprima el dos".
PRESS = frozenset({"press", "option", "number", "oprima", "opcion", "numero", "marque", "el"})


def spoken_key(lang: str, speech: str) -> str | None:
    """A key said as a word or digit ("two", "dos", "2"), alone or after words the prompts
    say it with ("press two", "oprima el dos"), when that is all that was said."""
    spoken = words(speech)
    while len(spoken) > 1 and spoken[0] in PRESS:
        spoken = spoken[1:]
    if len(spoken) == 1:
        word = spoken[0]
        if word in KEYS:
            return word
        return NUMBER_WORDS[lang].get(word)
    return None


Navigation = Literal["counselor", "repeat", "slower", "back", "text", "record", "callback"]
# Navigation a longer topic phrase said with it outranks: "again" in "I started using again",
# "back" in "he goes back to it". Never a person, a call back, a message or a text.
YIELDING = ("repeat", "slower", "back")
VoiceWord = Navigation | Literal["english", "spanish"]  # the fields of schema.VoiceWords


def navigation(line: Line, lang: str, speech: str) -> Navigation | Lang | None:
    """counselor, repeat, slower, back, text, record, callback, en or es, if said.

    The longest phrase said wins, so "call me back" asks for a call back, not to go back.
    """
    return _navigation(line, lang, words(speech))[0]


def _navigation(line: Line, lang: str, spoken: list[str]) -> tuple[Navigation | Lang | None, int]:
    """navigation(), with the number of words of the phrase that was said."""
    vocabulary = line.spec.voice_words
    best: VoiceWord | None = None
    best_length = 0
    intents: tuple[VoiceWord, ...] = (
        "counselor",
        "spanish",
        "english",
        "slower",
        "repeat",
        "back",
        "text",
        "record",
        "callback",
    )
    for intent in intents:
        for phrase in getattr(vocabulary, intent)[lang]:
            length = len(_phrase(phrase)[0])
            if length > best_length and _says(spoken, phrase):
                best, best_length = intent, length
    if best == "spanish":
        return "es", best_length
    if best == "english":
        return "en", best_length
    return best, best_length


def _score(spoken: list[str], phrase: str) -> float:
    meaningful = _phrase(phrase)[1]
    found = sum(any(w == s or fuzz.ratio(w, s) >= SIMILAR for s in spoken) for w in meaningful)
    return found / len(meaningful) if meaningful else 0.0


def spoken_option(line: Line, lang: str, menu_id: str, speech: str) -> int | None:
    """The number of the option in `menu_id` whose label was said in full, if any."""
    spoken = words(speech)
    scores = [_score(spoken, o.label[lang]) for o in line.spec.menus[menu_id].options]
    best = max(range(len(scores)), key=lambda n: scores[n], default=None)
    return best + 1 if best is not None and scores[best] == 1.0 else None


def spoken_topic(line: Line, lang: str, speech: str) -> str | None:
    """A topic named by one of its keywords or its title, from anywhere in the line."""
    found = line.spoken_topics[lang].find(words(speech))
    return found[0] if found else None


@dataclass(frozen=True)
class SpokenTopics:
    """Every topic's keywords and title in one language, as the words that carry them; built
    once per menu. A topic is said when every such word of one of its phrases was heard,
    allowing small mishearings. The longest phrase heard wins ("fentanyl test strips" is
    overdose, though "strips" alone is medications); of equally long ones, the first topic
    in the menu's order."""

    # every phrase in the menu's order: (its topic, the words that carry it, its length in
    # words in all)
    phrases: tuple[tuple[str, frozenset[str], int], ...]
    by_word: Mapping[str, tuple[int, ...]]  # each word: the phrases (their places) it is in
    vocabulary: tuple[str, ...]  # every word of those phrases, once

    @classmethod
    def build(cls, line: Line, lang: str) -> SpokenTopics:
        phrases = tuple(
            (topic_id, frozenset(_phrase(p)[1]), len(_phrase(p)[0]))
            for topic_id, topic in line.spec.topics.items()
            for p in (*topic.keywords[lang], topic.title[lang])
            if _phrase(p)[1]
        )
        by_word: dict[str, list[int]] = {}
        for place, (_, said, _) in enumerate(phrases):
            for word in said:
                by_word.setdefault(word, []).append(place)
        index = {word: tuple(places) for word, places in by_word.items()}
        return cls(phrases, index, tuple(sorted(index)))

    def find(self, spoken: list[str]) -> tuple[str, int] | None:
        """The topic whose longest phrase was said in full, with that phrase's length in
        words, if any.

        Each word heard is compared with the vocabulary once, and only the phrases holding
        a word heard are looked at: the work grows with the words heard, not with the
        number of keywords.
        """
        heard: set[str] = set()
        for said in set(spoken):
            found = process.extract_iter(
                said, self.vocabulary, scorer=fuzz.ratio, score_cutoff=SIMILAR
            )
            heard.update(word for word, _similarity, _index in found)
        places = sorted({place for word in heard for place in self.by_word[word]})
        best: tuple[str, int] | None = None
        for place in places:  # in the menu's order: the first of equally long ones stays
            topic_id, phrase, length = self.phrases[place]
            if (best is None or length > best[1]) and heard.issuperset(phrase):
                best = (topic_id, length)
        return best


IntentKind = Literal[
    "crisis",
    "counselor",
    "back",
    "repeat",
    "slower",
    "language",
    "digit",
    "topic",
    "text",
    "record",
    "callback",
    "silence",
    "invalid",
]


@dataclass(frozen=True)
class Intent:
    """What the caller meant, whatever the menu: a kind and, for some, a value."""

    kind: IntentKind
    value: str = ""


def intent(line: Line, lang: str, menu_id: str | None, heard: Heard) -> Intent:
    """Turn a key, or words, or nothing, into one intent: keys, then crisis words, then the rest."""
    key = heard.key or spoken_key(lang, heard.speech)
    if key:
        keys = line.spec.keys
        named: dict[str, IntentKind] = {
            keys.counselor: "counselor",
            keys.back: "back",
            keys.repeat: "repeat",
            keys.slower: "slower",
            keys.language: "language",
        }
        if key in named:
            other = {"en": "es", "es": "en"}[lang]
            return Intent(named[key], other if key == keys.language else "")
        return Intent("digit", key) if key.isdigit() else Intent("invalid", key)
    if heard.empty:
        return Intent("silence")
    speech = heard.speech
    meant = lambda: _meant(line, lang, menu_id, speech)  # noqa: E731
    return line.heard.get(speech, (lang, menu_id, speech), meant)


def _meant(line: Line, lang: str, menu_id: str | None, speech: str) -> Intent:
    """What words said at a menu (or after a summary, with no `menu_id`) mean there."""
    if danger := line.crisis.find(speech):
        return Intent("crisis", danger.kind)  # before any menu word: safety first
    spoken = words(speech)
    said, length = _navigation(line, lang, spoken)
    topics = line.spoken_topics[lang]
    if said in YIELDING and (topic := topics.find(spoken)) and topic[1] > length:
        return Intent("topic", topic[0])  # "I started using again": relapse, not "again"
    if said == "en" or said == "es":
        return Intent("language", said)
    if said:
        return Intent(said)
    if menu_id and (number := spoken_option(line, lang, menu_id, speech)):
        return Intent("digit", str(number))
    if topic := topics.find(spoken):
        return Intent("topic", topic[0])
    return Intent("invalid")


def hints(line: Line, lang: str, menu_id: str | None) -> tuple[str, ...]:
    """Words and phrases to tell Twilio's speech recognizer to expect (built once per menu)."""
    return line.speech_hints[lang, menu_id]
