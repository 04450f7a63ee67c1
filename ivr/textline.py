"""The text line's decisions: a message (and whether its sender opted out) -> a reply value.

Pure: the web layer stores opt-outs and call-backs, alerts staff, and limits the rate.
Order matters and follows ../shared/ACCESSIBILITY.md: crisis first, then the
opt-out rules, then keywords.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import datetime

from rapidfuzz import fuzz, process

from . import schedule
from .compliance import (
    CALL_WORDS,
    HELP_WORDS,
    MENU_WORDS,
    PLAIN_OPT_OUT,
    SPANISH_STOP,
    START_WORDS,
    STOP_WORDS,
)
from .menus import Line, normalize_word
from .texting import menu_text, outgoing, topic_text

LEADING = {"INFO", "ABOUT", "ON", "SOBRE", "ACERCA", "DE", "MAS", "MORE", "PLEASE", "PORFAVOR"}
SPANISH_HINTS = {
    "hola",
    "que",
    "quiero",
    "necesito",
    "ayuda",
    "por",
    "favor",
    "como",
    "mi",
    "hijo",
    "hija",
    "gracias",
    "donde",
    "informacion",
    "tengo",
    "esta",
    "es",
}
FUZZY_CUTOFF = 80  # rapidfuzz ratio; tests check that no two keywords are this close


@dataclass(frozen=True)
class TextReply:
    """What to answer a text with (None: stay silent) and what the web layer must do."""

    body: str | None
    lang: str
    kind: str  # keyword, menu, unknown, help, opt-out, opt-in, crisis, callback, silent
    topic: str | None = None
    crisis: str | None = None  # overdose | suicide
    followup: str | None = None  # a second text: the answer a crisis message also asked for


def plain(text: str) -> str:
    """Lower-case, no accents, punctuation as spaces, single spaces."""
    folded = unicodedata.normalize("NFKD", unicodedata.normalize("NFKC", text).lower())
    bare = "".join(c for c in folded if not unicodedata.combining(c))
    return " ".join(re.sub(r"[^a-z0-9]+", " ", bare).split())


def crisis(line: Line, text: str) -> tuple[str, str] | None:
    """('overdose' or 'suicide', language) when a message speaks of either."""
    said = f" {plain(text)} "
    for kind in ("overdose", "suicide"):
        words = getattr(line.spec.crisis, kind)
        for lang in ("en", "es"):
            if any(f" {plain(phrase)} " in said for phrase in words[lang]):
                return kind, lang
    return None


def match_topic(line: Line, text: str) -> tuple[str, str] | None:
    """The topic a message asks for, forgiving case, spaces, punctuation, 'info', small typos."""
    table = line.keywords
    words = normalize_word(text).split()
    if "".join(words) in table:
        return table["".join(words)]
    while len(words) > 1 and words[0] in LEADING:
        words = words[1:]
    whole = "".join(words)
    if whole in table:
        return table[whole]
    for size in (2, 1):  # a keyword somewhere in a longer message
        for start in range(len(words) - size + 1):
            if (joined := "".join(words[start : start + size])) in table:
                return table[joined]
    if len(whole) >= 4 and len(words) <= 2:
        best = process.extractOne(whole, table.keys(), scorer=fuzz.ratio, score_cutoff=FUZZY_CUTOFF)
        if best:
            return table[best[0]]
    return None


def guess_language(text: str) -> str:
    """Spanish when the message has accents or common Spanish words; else English."""
    if re.search(r"[áéíóúñ¿¡]", text.lower()):
        return "es"
    return "es" if set(plain(text).split()) & SPANISH_HINTS else "en"


def _opt_out_words(text: str) -> str | None:
    """The language of a plain-words opt-out, or None."""
    said = plain(text)
    for pattern, lang in PLAIN_OPT_OUT:
        if re.search(pattern, said):
            return lang
    return None


def _message(line: Line, name: str, lang: str, **fields: str) -> str:
    return outgoing(getattr(line.spec.messages, name)[lang].format(**fields))


def reply_to(
    line: Line,
    text: str,
    opted_out: bool,
    opt_out_type: str = "",
    now: datetime | None = None,
    last_lang: str | None = None,
) -> TextReply:
    """Decide the reply to one incoming text."""
    word = normalize_word(text).replace(" ", "")
    lang = guess_language(text)
    twilio = opt_out_type.upper()
    if twilio in ("STOP", "START"):  # Advanced Opt-Out: Twilio already confirmed
        return TextReply(None, lang, "opt-out" if twilio == "STOP" else "opt-in")
    if danger := crisis(line, text):
        kind, lang = danger
        body = _message(line, f"sms_crisis_{kind}", lang)
        return TextReply(body, lang, "crisis", crisis=kind)
    stop_lang = (
        "es" if word in SPANISH_STOP else "en" if word in STOP_WORDS else _opt_out_words(text)
    )
    if stop_lang:
        if opted_out:
            return TextReply(None, stop_lang, "silent")  # confirmed once already
        return TextReply(_message(line, "sms_stopped", stop_lang), stop_lang, "opt-out")
    if word in START_WORDS and opted_out:
        start_lang = "es" if word == "SI" else "en"
        return TextReply(_message(line, "sms_started", start_lang), start_lang, "opt-in")
    if twilio == "HELP" or word in HELP_WORDS:
        help_lang = HELP_WORDS.get(word, lang)
        body = None if twilio == "HELP" else _message(line, "sms_help", help_lang)
        return TextReply(body, help_lang, "help")
    if opted_out:
        return TextReply(None, lang, "silent")
    if word in MENU_WORDS:
        menu_lang = "es" if "Ú" in text.upper() else MENU_WORDS[word]
        return TextReply(menu_text(line, menu_lang), menu_lang, "menu")
    if word in CALL_WORDS:
        call_lang = CALL_WORDS[word]
        when = schedule.callback_when(line.spec.center, now, call_lang) if now else ""
        return TextReply(
            _message(line, "sms_callback", call_lang, when=when), call_lang, "callback"
        )
    if found := match_topic(line, text):
        topic, topic_lang = found
        return TextReply(topic_text(line, topic, topic_lang), topic_lang, "keyword", topic=topic)
    body = _message(line, "sms_unknown", lang, menu=menu_text(line, lang))
    return TextReply(body, lang, "unknown")
