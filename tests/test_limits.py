"""The text line's limits as a table: which reply goes out for which counts, and the settings."""

from __future__ import annotations

import pytest

from ivr import segments
from ivr.limits import Limits, Recent, limit
from ivr.settings import SettingsError, load_settings
from ivr.texting import outgoing
from ivr.textline import TextReply

LIMITS = Limits(per_minute=20, repeats=3)
KEYWORD = TextReply("Withdrawal ... 988.", "en", "keyword", topic="withdrawal")
SPANISH = TextReply("Abstinencia ... 988.", "es", "keyword", topic="withdrawal")
CRISIS = TextReply("Call 911 now.", "en", "crisis", crisis="overdose", followup="Our hours ...")
STOPPED = TextReply("You will get no more texts.", "en", "opt-out")
STARTED = TextReply("You can get texts from us again.", "en", "opt-in")
HELP = TextReply("Waterstone help line ...", "en", "help")
QUIET = TextReply(None, "en", "silent")

# (decision, what was sent lately, what goes out: "same", "wait", "rate-limited" or "repeated")
TABLE = [
    (KEYWORD, Recent(), "same"),
    (KEYWORD, Recent(replies=19), "same"),
    (KEYWORD, Recent(replies=20), "wait"),
    (SPANISH, Recent(replies=20), "wait"),
    (HELP, Recent(replies=25), "wait"),
    (KEYWORD, Recent(replies=21, notices=1), "rate-limited"),
    (KEYWORD, Recent(replies=2, notices=1), "same"),  # the window passed: answers again
    (KEYWORD, Recent(repeats=2), "same"),
    (KEYWORD, Recent(repeats=3), "repeated"),
    (KEYWORD, Recent(replies=20, repeats=3), "repeated"),  # no notice to a machine
    (CRISIS, Recent(replies=99, notices=1, repeats=9), "same"),  # a crisis is always answered
    (CRISIS, Recent(replies=20), "same"),
    (CRISIS, Recent(repeats=10), "echo"),  # ... but not our own crisis reply echoed forever
    (STOPPED, Recent(replies=99, notices=1, repeats=99), "same"),
    (STARTED, Recent(replies=99, notices=1, repeats=99), "same"),
    (QUIET, Recent(replies=99, notices=1, repeats=99), "same"),
]


@pytest.mark.parametrize(("decision", "recent", "outcome"), TABLE)
def test_limit_table(line, decision, recent, outcome):
    sent = limit(line, decision, recent, LIMITS)
    expected = {
        "same": decision,
        "wait": TextReply(
            outgoing(line.spec.messages.sms_wait[decision.lang]),
            decision.lang,
            "wait",
            decision.topic,
        ),
        "rate-limited": TextReply(None, decision.lang, "rate-limited", decision.topic),
        "repeated": TextReply(None, decision.lang, "repeated", decision.topic),
        "echo": TextReply(None, decision.lang, "repeated", decision.topic, decision.crisis),
    }[outcome]
    assert sent == expected


@pytest.mark.parametrize(
    ("per_minute", "replies", "kind"), [(1, 0, "keyword"), (1, 1, "wait"), (5, 4, "keyword")]
)
def test_the_cap_is_the_setting(line, per_minute, replies, kind):
    sent = limit(line, KEYWORD, Recent(replies=replies), Limits(per_minute=per_minute))
    assert sent.kind == kind


@pytest.mark.parametrize("lang", ["en", "es"])
def test_the_wait_notice_carries_911_and_988_in_two_segments(line, lang):
    body = limit(line, KEYWORD if lang == "en" else SPANISH, Recent(replies=20), LIMITS).body
    assert "911" in body and "988" in body
    assert segments.count(body).parts <= 2


def test_limit_settings_and_their_defaults():
    settings = load_settings({})
    assert (
        settings.IVR_SMS_PER_MINUTE,
        settings.IVR_SMS_REPEATS,
        settings.IVR_SMS_REPEAT_WINDOW_MINUTES,
        settings.IVR_SMS_CRISIS_REPEATS,
    ) == (20, 3, 60, 10)
    changed = load_settings({"IVR_SMS_REPEATS": "5", "IVR_SMS_REPEAT_WINDOW_MINUTES": "10"})
    assert (changed.IVR_SMS_REPEATS, changed.IVR_SMS_REPEAT_WINDOW_MINUTES) == (5, 10)


@pytest.mark.parametrize(
    "name",
    [
        "IVR_SMS_PER_MINUTE",
        "IVR_SMS_REPEATS",
        "IVR_SMS_REPEAT_WINDOW_MINUTES",
        "IVR_SMS_CRISIS_REPEATS",
    ],
)
def test_a_limit_below_one_is_refused(name):
    with pytest.raises(SettingsError, match=f"{name}: must be 1 or more: 0"):
        load_settings({name: "0"})
