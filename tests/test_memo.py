"""Short words read once per loaded menu: the same answers, made once, bounded, never long text."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from ivr import textline, understand
from ivr.memo import LONGEST_KEPT, Memo
from ivr.menus import load_line
from ivr.understand import Heard

from .conftest import ROOT


def test_an_answer_is_made_once_per_key_and_then_kept():
    memo: Memo[str] = Memo()
    made: list[str] = []

    def make(word: str) -> str:
        made.append(word)
        return word.upper()

    assert [memo.get(w, ("en", w), lambda w=w: make(w)) for w in ("detox", "detox", "help")] == [
        "DETOX",
        "DETOX",
        "HELP",
    ]
    assert made == ["detox", "help"]
    assert memo.get("detox", ("es", "detox"), lambda: "otra") == "otra"  # the key decides


def test_long_words_are_never_kept():
    memo: Memo[int] = Memo()
    story = "x" * (LONGEST_KEPT + 1)
    calls = [memo.get(story, story, lambda n=n: n) for n in range(3)]
    assert calls == [0, 1, 2] and len(memo) == 0
    assert memo.get("x" * LONGEST_KEPT, "short", lambda: 7) == 7 and len(memo) == 1


def test_the_least_recently_used_answer_goes_first_when_full():
    memo: Memo[str] = Memo(most=2)
    memo.get("a", "a", lambda: "A")
    memo.get("b", "b", lambda: "B")
    memo.get("a", "a", lambda: "never")  # used again: now the most recent
    memo.get("c", "c", lambda: "C")  # full: "b" goes
    assert len(memo) == 2
    assert memo.get("a", "a", lambda: "new") == "A"
    assert memo.get("b", "b", lambda: "made again") == "made again"


SAID = [
    ("methadone", "main"),
    ("counselor", "main"),
    ("espanol", "main"),
    ("he is not breathing", "main"),
    ("i want to kill myself", None),
    ("go back", None),
    ("blah blah", "main"),
]


@pytest.mark.parametrize(("speech", "menu"), SAID)
def test_a_spoken_choice_means_the_same_the_first_time_and_every_time_after(speech, menu):
    line = load_line(ROOT / "menus.yaml")
    fresh = understand._meant(line, "en", menu, speech)
    said = [understand.intent(line, "en", menu, Heard(speech=speech)) for _ in range(3)]
    assert said == [fresh] * 3
    assert len(line.heard) == 1  # read once, then kept


TEXTS = ["DETOX", "narcan", "he's not breathing", "i want to die", "STOP", "hola", "METHADONE?"]


@pytest.mark.parametrize("text", TEXTS)
def test_a_short_text_gets_the_same_reply_the_first_time_and_every_time_after(text):
    line = load_line(ROOT / "menus.yaml")
    replies = [textline.reply_to(line, text, False) for _ in range(3)]
    assert replies[1:] == replies[:1] * 2
    assert len(line.read) == 1
    assert line.read.get(text, text, lambda: None) == textline._read(line, text)


def test_a_long_text_is_read_every_time_and_never_kept():
    line = load_line(ROOT / "menus.yaml")
    text = "my brother took something and now he won't wake up, his lips are blue"
    assert len(text) > LONGEST_KEPT
    first = textline.reply_to(line, text, False)
    assert first.kind == "crisis" and first.crisis == "overdose"
    assert textline.reply_to(line, text, False) == first
    assert len(line.read) == 0 and len(line.replies) == 0


STANDINGS = [  # (opted out, Twilio's OptOutType, the number's last language) -> the reply
    ((False, "", None), ("keyword", "en")),
    ((True, "", None), ("silent", "en")),  # opted out: a keyword gets no reply
    ((False, "STOP", None), ("opt-out", "en")),  # Twilio's Advanced Opt-Out already confirmed
    ((False, "", "es"), ("keyword", "es")),  # DETOX in both languages: the number's last
]


def test_a_kept_reply_is_kept_per_standing_of_the_texter():
    line = load_line(ROOT / "menus.yaml")
    for _ in range(2):
        replies = [
            textline.reply_to(line, "DETOX", out, twilio, last_lang=last)
            for (out, twilio, last), _ in STANDINGS
        ]
        assert [(r.kind, r.lang) for r in replies] == [reply for _, reply in STANDINGS]
    assert len(line.replies) == len(STANDINGS)


def test_a_call_back_reply_is_never_kept_it_says_when_staff_will_call():
    line = load_line(ROOT / "menus.yaml")
    new_york = ZoneInfo("America/New_York")
    morning, night = (datetime(2026, 12, 2, hour, tzinfo=new_york) for hour in (11, 23))
    replies = [textline.reply_to(line, "CALL", False, now=at) for at in (morning, night, morning)]
    assert [r.kind for r in replies] == ["callback"] * 3
    assert "today" in (replies[0].body or "") and "tomorrow" in (replies[1].body or "")
    assert replies[2] == replies[0] and len(line.replies) == 0
