"""The text line's decisions: a message (and whether its sender opted out) -> a reply value.

Pure: textpolicy.py adds the limits, what to keep and whom to alert; sms.py carries it out.
Order matters and follows ../shared/ACCESSIBILITY.md: crisis first, then the
opt-out rules, then keywords.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

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
from .crisis import MODEL, Danger, DangerKind
from .menus import ECHO_MIN, ECHO_WORDS, Line, normalize_word
from .texting import menu_text, outgoing, topic_text
from .wording import fill, fold, sentences, tokens

LEADING = {"INFO", "ABOUT", "ON", "SOBRE", "ACERCA", "DE", "MAS", "MORE", "PLEASE", "PORFAVOR"}
FUZZY_CUTOFF = 80  # rapidfuzz ratio; tests check that no two keywords are this close
SLIP = 85  # one long word of a longer message, a letter or two off a keyword
SLIP_LENGTH = 6
MAX_PHRASE = 4  # the most words a keyword has


ReplyKind = Literal[
    # what reply_to decides
    "keyword",
    "menu",
    "unknown",
    "help",
    "opt-out",
    "opt-in",
    "crisis",
    "callback",
    "silent",
    "echo",
    # what the limits (limits.limit) and the web layer (sms) make of a decision
    "repeated",
    "wait",
    "rate-limited",
    "not-stored",
]


@dataclass(frozen=True)
class TextReply:
    """What to answer a text with (None: stay silent) and what the web layer must do."""

    body: str | None
    lang: str
    kind: ReplyKind
    topic: str | None = None
    crisis: DangerKind | None = None
    followup: str | None = None  # a second text: the answer a crisis message also asked for
    opts_out: bool = False  # a crisis message that also asked for no more texts


def plain(text: str) -> str:
    """Lower-case, no accents, punctuation as spaces, single spaces (the one normaliser's fold)."""
    return " ".join(re.sub(r"[^a-z0-9]+", " ", fold(text)).split())


def match_topic(line: Line, text: str) -> tuple[str, str | None] | None:
    """The topic a message asks for, and the language its keyword belongs to (None: both).

    Forgives case, spaces, punctuation, a leading 'info', plurals and small typos, and
    finds keywords anywhere in a longer message. When several topics are named, the one
    of higher `priority` wins ("how much is methadone": contact), then the one the topic
    model finds likelier ("how soon after my last bag can I start suboxone without getting
    sick": medications), then the one named most, then the one named last. When only
    related words are found ("can I still work if I do the program"), the model's reading
    wins when it is sure enough.
    """
    table = line.keywords
    words = normalize_word(text).split()
    if (whole := "".join(words)) in table:
        return _keyword(line, table[whole][0], whole)
    while len(words) > 1 and words[0] in LEADING:
        words = words[1:]
    if (whole := "".join(words)) in table:
        return _keyword(line, table[whole][0], whole)
    said = tokens(text)
    model = line.topic_model
    for strong in (True, False):
        hits = _hits(line, said, strong)
        if not hits and strong:
            hits = _slips(line, said, whole, len(words))
        if not hits:
            continue
        if not strong and model and (guess := model.best(text)):
            return guess, None  # only related words ("program"): the model reads the question
        counts = Counter(topic for _, topic, _ in hits)
        rank = {t: line.spec.topics[t].priority if strong else 0 for t in counts}
        chances = model.chances(text) if model and len(counts) > 1 else {}
        # Keywords of two topics ("suboxone" and "sick"): priority, then the model, then
        # the topic named most, then the one named last.
        _, topic, lang = max(
            hits, key=lambda hit: (rank[hit[1]], chances.get(hit[1], 0), counts[hit[1]], hit[0])
        )
        return topic, lang
    if model and (guess := model.best(text)):
        return guess, None  # no keyword at all: the model trained on real questions
    return None


QUESTION_WORDS = frozenset(
    "how what where when which should can could do does is are will who why "
    "como que donde cuando cual debo puedo puede hay tengo se".split()
)


# Questions about the center itself, which an emergency does not change (see reply_to).
ABOUT_US = frozenset({"contact", "privacy", "therapies"})


def _asks(text: str) -> bool:
    """True when a message asks something ("how do i use narcan"), not only names a danger."""
    return "?" in text or "¿" in text or bool(QUESTION_WORDS & set(tokens(text)))


def _bare_keyword(line: Line, text: str) -> bool:
    """True when the message is one topic keyword, with or without a leading 'info'."""
    words = normalize_word(text).split()
    while len(words) > 1 and words[0] in LEADING:
        words = words[1:]
    return "".join(words) in line.keywords


def _keyword(line: Line, topic: str, joined: str) -> tuple[str, str | None]:
    return topic, line.keyword_language.get(joined)


def _hits(line: Line, said: tuple[str, ...], strong: bool) -> list[tuple[int, str, str | None]]:
    """(position, topic, language) of every keyword (or related word) in the message."""
    hits = []
    covered: set[int] = set()  # words inside a longer keyword already found ("sleeps all day")
    for size in range(MAX_PHRASE, 0, -1):
        for start in range(len(said) - size + 1):
            if covered.issuperset(range(start, start + size)):
                continue
            window = said[start : start + size]
            found = line.phrases.get(window)
            last = window[-1]
            if found is None and len(last) > 3 and last.endswith("s"):
                found = line.phrases.get((*window[:-1], last[:-1]))  # "meetings", "test strip"
            if found and found[2] == strong:
                hits.append((start, found[0], found[1]))
                covered.update(range(start, start + size))
    return hits


def _slips(
    line: Line, said: tuple[str, ...], whole: str, count: int
) -> list[tuple[int, str, str | None]]:
    """Keywords typed with a small typo: the whole short message, or one long word."""
    table = line.keywords
    if len(whole) >= 4 and count <= 2:
        best = process.extractOne(whole, table.keys(), scorer=fuzz.ratio, score_cutoff=FUZZY_CUTOFF)
        if best:
            topic = table[best[0]][0]
            return [(0, *_keyword(line, topic, best[0]))]
    singles = [w[0] for w, (_, _, strong) in line.phrases.items() if strong and len(w) == 1]
    hits = []
    for at, word in enumerate(said):
        if len(word) >= SLIP_LENGTH:
            best = process.extractOne(word, singles, scorer=fuzz.ratio, score_cutoff=SLIP)
            if best and len(best[0]) >= SLIP_LENGTH - 1:
                topic = line.phrases[(best[0],)][0]
                hits.append((at, topic, line.phrases[(best[0],)][1]))
    return hits


def _echo(line: Line, text: str) -> bool:
    """True when a message opens with the first words of a text the line sends."""
    said = tokens(text)
    return any(said[:n] in line.own_texts for n in range(ECHO_MIN, ECHO_WORDS + 1))


def _opt_out_words(text: str) -> str | None:
    """The language of a plain-words opt-out, or None."""
    said = plain(text)
    for pattern, lang in PLAIN_OPT_OUT:
        if re.search(pattern, said):
            return lang
    return None


def _message(line: Line, name: str, lang: str, **fields: str) -> str:
    return outgoing(fill(getattr(line.spec.messages, name)[lang], **fields))


def _read(line: Line, text: str) -> tuple[tuple[str, str | None] | None, Danger | None]:
    """The topic a message asks for (and its keyword's language), and the danger it speaks of."""
    danger = line.crisis.find(text)
    if danger and danger.phrase == MODEL and (_bare_keyword(line, text) or _opts_out(text)):
        # a bare topic keyword ("LLAMAR AL 911") asks for that topic; an opt-out in plain
        # words ("dont text me anymore") asks for no more texts: the model read their words
        # wrongly. A crisis phrase still wins ("stop texting me, I want to die").
        danger = None
    return match_topic(line, text), danger


def _opts_out(text: str) -> bool:
    """True when a message asks for no more texts: an opt-out word, or plain words."""
    return normalize_word(text).replace(" ", "") in STOP_WORDS or bool(_opt_out_words(text))


def _added_to_echo(line: Line, text: str) -> str:
    """The sentences of a message that opens with one of the line's texts that are not the
    line's own ("Sorry, we did not understand. I want to kill myself"), joined; empty when
    it is an echo and nothing more. A sentence cut short counts as the line's own."""
    added = [said for said in sentences(text) if said not in line.own_sentences]
    return ". ".join(" ".join(said) for said in added)


def reply_to(
    line: Line,
    text: str,
    opted_out: bool,
    opt_out_type: str = "",
    now: datetime | None = None,
    last_lang: str | None = None,
) -> TextReply:
    """Decide the reply to one incoming text; `last_lang` is what this number wrote in before.

    The same short words from a texter standing the same way get the same reply: it is kept
    (memo.py), except a call-back's, which says when staff will call (it depends on `now`).
    """
    word = normalize_word(text).replace(" ", "")
    if word in CALL_WORDS:
        return _reply_to(line, text, word, opted_out, opt_out_type, now, last_lang)
    standing = (text, opted_out, opt_out_type.upper(), last_lang)
    return line.replies.get(
        text,
        standing,
        lambda: _reply_to(line, text, word, opted_out, opt_out_type, None, last_lang),
    )


def _reply_to(
    line: Line,
    text: str,
    word: str,
    opted_out: bool,
    opt_out_type: str,
    now: datetime | None,
    last_lang: str | None,
) -> TextReply:
    found, danger = line.read.get(text, text, lambda: _read(line, text))
    hint = (danger.lang if danger else None) or last_lang or (found[1] if found else None)
    lang = line.languages.of(text, hint)  # the message, then the number's last, then English
    twilio = opt_out_type.upper()
    if twilio in ("STOP", "START"):  # Advanced Opt-Out: Twilio already confirmed
        return TextReply(None, lang, "opt-out" if twilio == "STOP" else "opt-in")
    if _echo(line, text):
        # Our own reply sent back by a machine is not answered (it could loop); what a person
        # wrote after it is read for a danger all the same.
        added = _added_to_echo(line, text)
        found, danger = _read(line, added) if added else (None, None)
        if not danger:
            return TextReply(None, lang, "echo")
        text = added  # the person's words alone: ours would read as a question or an opt-out
    if danger:
        body: str | None = _message(line, f"sms_crisis_{danger.kind}", lang)
        asked = not opted_out and _asks(text)
        if danger.kind == "overdose" and line.crisis.what_to_do_asked(text):
            if not found or found[0] not in ABOUT_US:
                # "what do I do?" beside someone overdosing asks about the overdose, not
                # about the needle or the heroin the message names (signs, treatment)
                found, asked = ("overdose", lang), not opted_out
        answer = topic_text(line, found[0], lang) if found and asked else None
        topic = found[0] if found and answer else None
        if not opted_out and _opts_out(text):
            # "Stop texting me, I want to die": the safety reply, and the opt-out kept and
            # confirmed (no later text is answered, but a crisis is, as for anyone opted out)
            stopped = _message(line, "sms_stopped", lang)
            return TextReply(body, lang, "crisis", None, danger.kind, stopped, opts_out=True)
        return TextReply(body, lang, "crisis", topic, danger.kind, followup=answer)
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
        help_lang = "es" if word == "AYUDA" else "en" if word == "HELP" else lang
        body = None if twilio == "HELP" else _message(line, "sms_help", help_lang)
        return TextReply(body, help_lang, "help")
    if opted_out:
        return TextReply(None, lang, "silent")
    if word in MENU_WORDS:
        menu_lang = "es" if "Ú" in text.upper() or word == "TEMAS" else last_lang or "en"
        menu_lang = "en" if word == "TOPICS" else menu_lang
        return TextReply(menu_text(line, menu_lang), menu_lang, "menu")
    if word in CALL_WORDS:
        call_lang = CALL_WORDS[word]
        when = schedule.callback_when(line.spec.center, now, call_lang) if now else ""
        return TextReply(
            _message(line, "sms_callback", call_lang, when=when), call_lang, "callback"
        )
    if found:
        return TextReply(topic_text(line, found[0], lang), lang, "keyword", topic=found[0])
    body = _message(line, "sms_unknown", lang, menu=menu_text(line, lang))
    return TextReply(body, lang, "unknown")
