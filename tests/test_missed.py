"""Missed calls wait too: a caller who asked for a counselor, whom no one answered, and who left
neither a message nor a call-back request, is in the console to be called back; once a person,
until handled. Through the real webhooks, on both engines."""

from __future__ import annotations

import html
from datetime import timedelta

import pytest

from ivr import call
from ivr.reply import Dial, Hangup, Reply, Say, Where

from .caller import Caller
from .test_staff import ADMIN, NOW, add_staff, set_clock, sign_in

CALLER = "+12035550123"
NO_ONE = "We are sorry. No one could answer right now."


@pytest.fixture
def line_app(make_app, db_url):
    app = make_app(DATABASE_URL=db_url)
    add_staff(app, ADMIN, "admin")
    return app


def waiting(app):
    rows = app.extensions["ivr.store"].waiting()
    return [(r.kind, r.channel, r.number, r.language, r.topic) for r in rows]


def asks_for_a_person(app, keys: str = "", number: str = CALLER) -> Caller:
    caller = Caller(app.test_client(), number=number)
    caller.call()
    for key in keys:
        caller.press(key)
    caller.press("0")
    return caller


@pytest.mark.parametrize(
    ("keys", "ends", "missed"),
    [
        ("", [("no-answer", None)], ("missed-call", "voice", CALLER, "en", None)),
        ("", [("busy", None)], ("missed-call", "voice", CALLER, "en", None)),
        ("", [("failed", None)], ("missed-call", "voice", CALLER, "en", None)),
        ("2", [("no-answer", None)], ("missed-call", "voice", CALLER, "en", "withdrawal")),
        ("7", [("no-answer", None)], ("missed-call", "voice", CALLER, "es", None)),
        # Staff picked up but did not press 1: the caller was not answered.
        ("", [("completed", "")], ("missed-call", "voice", CALLER, "en", None)),
        # Staff took the call: nothing waits.
        ("", [("completed", "1")], None),
    ],
)
def test_an_unanswered_transfer_waits_as_a_missed_call(line_app, keys, ends, missed):
    caller = asks_for_a_person(line_app, keys)
    for status, staff_key in ends:
        if staff_key is not None:
            caller.staff_answers(staff_key or None)
        caller.dial_ends(status)
    assert waiting(line_app) == ([missed] if missed else [])
    if missed:
        assert caller.said[0] in (NO_ONE, "Lo sentimos. Nadie pudo contestar en este momento.")


def test_with_a_backup_line_it_waits_only_after_both_legs(make_app, db_url):
    app = make_app(DATABASE_URL=db_url)
    app.extensions["ivr.store"].set_on_call("+12035550177", "+12035550188", None, ADMIN, NOW)
    caller = asks_for_a_person(app)
    caller.dial_ends("no-answer")
    assert caller.dial.find("Number").text == "+12035550188" and waiting(app) == []
    caller.dial_ends("busy")
    assert waiting(app) == [("missed-call", "voice", CALLER, "en", None)]


@pytest.mark.parametrize(
    ("seconds", "kept"),
    [(0, False), (7, False), (8, True), (60, True)],
)
def test_a_caller_who_hung_up_at_once_is_not_entered(line_app, seconds, kept):
    """Put through, then gone within 8 seconds: a changed mind or a slip, not a missed call."""
    caller = asks_for_a_person(line_app)
    set_clock(line_app, NOW + timedelta(seconds=seconds))
    caller.post(caller.dial.get("action"), DialCallStatus="no-answer", CallStatus="completed")
    assert len(waiting(line_app)) == (1 if kept else 0)


def test_one_entry_a_person_until_handled(line_app):
    for _ in range(2):
        asks_for_a_person(line_app).dial_ends("no-answer")
    caller = asks_for_a_person(line_app)
    action = caller.dial.get("action")
    for _ in range(2):  # Twilio repeating the same step
        caller.post(action, DialCallStatus="no-answer")
    store = line_app.extensions["ivr.store"]
    [entry] = store.waiting()
    assert store.handle(entry.id, ADMIN, NOW, "left a message")
    asks_for_a_person(line_app).dial_ends("no-answer")
    assert waiting(line_app) == [("missed-call", "voice", CALLER, "en", None)]


@pytest.mark.parametrize(("key", "kind"), [("1", "voicemail"), ("2", "callback")])
def test_a_message_or_call_back_request_takes_the_missed_calls_place(line_app, key, kind):
    caller = asks_for_a_person(line_app, "2")
    caller.dial_ends("no-answer")
    assert waiting(line_app) == [("missed-call", "voice", CALLER, "en", "withdrawal")]
    caller.press(key)
    if kind == "voicemail":
        caller.records(30)
    assert waiting(line_app) == [(kind, "voice", CALLER, "en", "withdrawal")]
    assert line_app.extensions["ivr.store"].handled(NOW - timedelta(days=1)) == []


def test_a_missed_call_someone_called_back_stays_on_record(line_app):
    store = line_app.extensions["ivr.store"]
    caller = asks_for_a_person(line_app)
    caller.dial_ends("no-answer")
    [missed] = store.waiting()
    assert store.start_callback(missed.id, ADMIN, NOW, "r" * 32, NOW) == "placed"
    caller.press("1")
    caller.records(30)
    [entry] = store.waiting()
    [closed] = store.handled(NOW - timedelta(days=1))
    assert (closed.id, closed.handled_by, closed.handled_note) == (
        missed.id,
        "the line",
        f"followed by a voicemail (#{entry.id})",
    )


def test_a_text_asking_for_a_call_back_takes_its_place_too(line_app):
    asks_for_a_person(line_app).dial_ends("no-answer")
    form = {"MessageSid": "SM" + "3" * 32, "From": CALLER, "To": "+12032450412", "Body": "CALL"}
    assert line_app.test_client().post("/sms", data=form).status_code == 200
    assert waiting(line_app) == [("callback", "sms", CALLER, "en", None)]


def test_after_hours_no_one_was_rung_so_nothing_is_missed(line_app):
    set_clock(line_app, NOW + timedelta(hours=10))  # 20:00 at the center
    caller = asks_for_a_person(line_app)
    assert caller.root.find("Dial") is None and waiting(line_app) == []


def test_the_console_shows_a_missed_call_masked(line_app):
    asks_for_a_person(line_app, "2").dial_ends("no-answer")
    browser = line_app.test_client()
    sign_in(browser, ADMIN)
    page = html.unescape(browser.get("/staff").get_data(as_text=True))
    assert "#1 Missed call (no one answered when they asked for a counselor; no message)" in page
    assert "<dd>number ending in 0123</dd>" in page
    assert "<dd>Withdrawal and detox</dd>" in page
    assert CALLER not in page and "5550123" not in page


NET = (Say("We are sorry. No one could answer right now."),)
BACKUP = (Dial("+12035550188", Where(leg=1)),)


@pytest.mark.parametrize(
    ("verbs", "outcome", "gone", "after", "missed"),
    [
        (NET, "no-answer", False, 0, True),
        (NET, "busy", False, 0, True),
        (NET, "not-accepted", False, 0, True),
        (NET, "no-answer", True, 3, False),
        (NET, "no-answer", True, 8, True),
        (BACKUP, "no-answer", False, 0, False),  # the backup line rings
        ((Hangup(),), "answered", False, 0, False),
    ],
)
def test_missed_is_decided_by_the_core(verbs, outcome, gone, after, missed):
    reply = Reply("en", verbs, (("transfer-outcome", "", outcome),))
    assert call.missed(reply, NOW, NOW + timedelta(seconds=after), gone) is missed
    assert call.missed(reply, None, NOW, gone) is (verbs is NET)  # unknown: kept
    assert call.missed(Reply("en", NET, (("menu", "", "main"),)), NOW, NOW, False) is False


# Twilio's placeholders for a hidden caller ID, the words older calls carry, and nothing.
WITHHELD = ["+266696687", "+7378742833", "+8656696", "Anonymous", "Restricted", ""]


@pytest.mark.parametrize("number", WITHHELD)
def test_a_caller_who_hid_their_number_is_asked_how_to_reach_them(line_app, number):
    """A call back 'at this number' cannot be kept for a hidden number: pressing 2 for one
    asks for a message saying how to reach them, and an unanswered transfer leaves no
    missed call that no one could return."""
    caller = asks_for_a_person(line_app, number=number)
    caller.dial_ends("no-answer")
    assert waiting(line_app) == []  # no missed call: there is no number to call
    caller.press("2")
    assert caller.said[0].startswith("After the tone, tell us how we can reach you.")
    assert caller.root.find("Record") is not None
    caller.records(20)
    assert [(r.kind, r.number) for r in line_app.extensions["ivr.store"].waiting()] == [
        ("voicemail", number)
    ]


def test_a_number_from_abroad_can_still_be_called_back(line_app):
    caller = asks_for_a_person(line_app, number="+447911123456")
    caller.dial_ends("no-answer")
    caller.press("2")
    assert caller.said[0].startswith("Thank you. A counselor will call you back at this number")
    assert [r.kind for r in line_app.extensions["ivr.store"].waiting()] == ["callback"]
