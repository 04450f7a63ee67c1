"""The text line's policy as tables: for a message and what the line knew of its sender,
the reply kind, what is kept with it, the staff alert it owes, and what is said when keeping
fails. Pure: no web layer, no database (ivr/textpolicy.py)."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

import pytest

from ivr import textpolicy
from ivr.limits import Limits, Recent
from ivr.textpolicy import Known, Turn

OPEN = datetime.fromisoformat("2026-12-01T10:00:00-05:00")  # a Tuesday morning
CLOSED = datetime.fromisoformat("2026-12-01T23:00:00-05:00")  # the same night
LIMITS = Limits(per_minute=20, repeats=3, crisis_repeats=10)
CRISIS_ALERT_EN = (
    "Crisis text on the help line (overdose, in English). The 911 and 988 reply was sent. "
    "No details are kept."
)
CRISIS_ALERT_ES = (
    "Crisis text on the help line (suicide, in Spanish). The 911 and 988 reply was sent. "
    "No details are kept."
)
CALLBACK_ALERT = "New call back request on the help line. See the staff queue."

# (message, what the line knew, when, reply kind, what is kept, the staff alert owed)
TABLE = [
    ("DETOX", Known(), OPEN, "keyword", None, None),
    ("STOP", Known(), OPEN, "opt-out", "opt-out", None),
    ("PARAR", Known(), OPEN, "opt-out", "opt-out", None),
    ("STOP", Known(opted_out=True), OPEN, "silent", None, None),  # confirmed once already
    ("START", Known(opted_out=True), OPEN, "opt-in", "opt-in", None),
    ("START", Known(), OPEN, "unknown", None, None),  # nothing to undo: the usual reply
    ("CALL", Known(), OPEN, "callback", "callback", CALLBACK_ALERT),
    ("CALL", Known(), CLOSED, "callback", "callback", CALLBACK_ALERT),
    ("CALL", Known(recent=Recent(repeats=3)), OPEN, "repeated", None, None),  # a machine
    ("my brother is not breathing", Known(), OPEN, "crisis", "crisis", CRISIS_ALERT_EN),
    # Closed: no one to alert now, but the person waits in the console for the morning.
    ("my brother is not breathing", Known(), CLOSED, "crisis", "crisis", None),
    # The same crisis words again: answered, but staff heard of them and keep them already.
    ("my brother is not breathing", Known(recent=Recent(repeats=1)), OPEN, "crisis", None, None),
    ("me quiero matar", Known(), OPEN, "crisis", "crisis", CRISIS_ALERT_ES),
    # A crisis is answered whatever the limits, and still alerts the first time.
    (
        "he is not breathing",
        Known(recent=Recent(replies=30, notices=1)),
        OPEN,
        "crisis",
        "crisis",
        CRISIS_ALERT_EN,
    ),
    ("DETOX", Known(recent=Recent(replies=20)), OPEN, "wait", None, None),
    ("DETOX", Known(recent=Recent(replies=21, notices=1)), OPEN, "rate-limited", None, None),
    ("DETOX", Known(opted_out=True), OPEN, "silent", None, None),
    # A crisis that also asks for no more texts: both kept; the same words again, the opt-out
    ("stop texting me, I want to die", Known(), CLOSED, "crisis", "crisis-opt-out", None),
    (
        "stop texting me, I want to die",
        Known(recent=Recent(repeats=1)),
        CLOSED,
        "crisis",
        "opt-out",
        None,
    ),
    ("stop texting me, I want to die", Known(opted_out=True), CLOSED, "crisis", "crisis", None),
]


@pytest.mark.parametrize(("body", "known", "when", "kind", "keep", "alert"), TABLE)
def test_decide(line, body, known, when, kind, keep, alert):
    turn = textpolicy.decide(line, body, known, LIMITS, when)
    assert (turn.reply.kind, turn.keep, turn.alert) == (kind, keep, alert)


def test_twilio_advanced_opt_out_is_kept_without_a_reply(line):
    turn = textpolicy.decide(line, "STOP", Known(), LIMITS, OPEN, opt_out_type="STOP")
    assert (turn.reply.body, turn.keep) == (None, "opt-out")


def test_no_alert_when_no_on_call_phone_is_set(line):
    center = line.spec.center.model_copy(update={"alert_number": None})
    bare = replace(line, spec=line.spec.model_copy(update={"center": center}))
    turn = textpolicy.decide(bare, "my brother is not breathing", Known(), LIMITS, OPEN)
    assert (turn.reply.kind, turn.alert) == ("crisis", None)


# (message, language it came in, what is said when keeping failed)
UNKEPT = [
    ("STOP", "Sorry, we could not stop texts just now. Please text STOP again, or call"),
    ("START", "Sorry, we cannot take that request right now."),
    ("CALL", "Sorry, we cannot take that request right now."),
    ("DETOX", "Withdrawal"),  # nothing to keep: the answer stands
]


@pytest.mark.parametrize(("body", "says"), UNKEPT)
def test_unkept_says_so_plainly(line, body, says):
    known = Known(opted_out=body == "START")
    turn = textpolicy.decide(line, body, known, LIMITS, OPEN)
    reply = textpolicy.unkept(line, turn)
    assert reply.body is not None and reply.body.startswith(says)
    assert reply.kind == ("keyword" if body == "DETOX" else "not-stored")
    if reply.kind == "not-stored":
        assert "911" in reply.body and "988" in reply.body  # the safety floor holds


def test_a_crisis_reply_stands_when_its_entry_cannot_be_kept(line):
    turn = textpolicy.decide(line, "he is not breathing", Known(), LIMITS, OPEN)
    assert turn.keep == "crisis"
    assert textpolicy.unkept(line, turn) == turn.reply  # never "storage down" instead of 911


def test_an_opt_out_beside_a_crisis_is_confirmed_only_when_kept(line):
    turn = textpolicy.decide(line, "stop texting me, I want to die", Known(), LIMITS, OPEN)
    assert turn.reply.followup is not None
    assert turn.reply.followup.startswith("You will get no more texts from this number.")
    unkept = textpolicy.unkept(line, turn)
    assert (unkept.body, unkept.followup) == (turn.reply.body, None)  # the safety reply stands


def test_a_crisis_alert_goes_out_even_when_nothing_is_kept(line):
    crisis = textpolicy.decide(line, "he is not breathing", Known(), LIMITS, OPEN)
    callback = textpolicy.decide(line, "CALL", Known(), LIMITS, OPEN)
    assert textpolicy.alert_anyway(crisis) == CRISIS_ALERT_EN
    assert textpolicy.alert_anyway(callback) is None  # a request not stored is not announced


def test_the_event_detail_says_whether_the_line_answered(line):
    answered = textpolicy.decide(line, "DETOX", Known(), LIMITS, OPEN)
    silent = textpolicy.decide(line, "DETOX", Known(opted_out=True), LIMITS, OPEN)
    assert (answered.detail, silent.detail) == ("reply", "silent")
    assert isinstance(answered, Turn)
