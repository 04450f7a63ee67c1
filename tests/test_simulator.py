"""Trying the line without a phone: the terminal call and text, and the staff queue commands."""

from __future__ import annotations

import pytest

from ivr.cli import main
from ivr.simulator import Simulator


def scripted(app, answers):
    said, asked = [], iter(answers)
    simulator = Simulator(app, lambda prompt: next(asked), said.append)
    return simulator, said


def test_a_simulated_call_reaches_a_summary_then_leaves_a_call_back(app):
    simulator, said = scripted(app, ["2", "0", "", "2"])
    simulator.call()
    assert said[0].startswith("Thank you for calling Waterstone Counseling Center.")
    assert any(s.startswith("When a person stops using heroin") for s in said)
    assert "[ringing +12032450412]" in said
    assert "Thank you. A counselor will call you back at this number today." in said
    assert said[-1] == "[call ended]"
    assert [r.kind for r in app.extensions["ivr.store"].waiting()] == ["callback"]


def test_a_simulated_call_where_staff_take_it(app):
    simulator, said = scripted(app, ["7", "0", "1"])
    simulator.call()
    assert (
        "[staff hears] Help line call, in Spanish, from the main menu. Press 1 to take it. "
        "Press any other key or hang up to let it go." in said
    )
    assert said[-2:] == ["Gracias por llamar. Cuídese mucho.", "[call ended]"]


def test_a_simulated_text(app):
    simulator, _ = scripted(app, [])
    assert simulator.text("info metadona").startswith("Las medicinas")
    assert simulator.text("STOP").startswith("You will get no more texts")
    assert simulator.text("detox") is None


def test_queue_and_handle(tmp_path, monkeypatch, make_store, capsys):
    from datetime import UTC, datetime

    url = f"sqlite:///{tmp_path / 'q.sqlite3'}"
    store = make_store(url)
    store.add_request(
        "voicemail",
        "voice",
        "+12035550123",
        "es",
        datetime(2026, 12, 1, 15, tzinfo=UTC),
        topic="relapse",
        recording_url="https://api.twilio.com/RE9",
        recording_seconds=31,
    )
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.setenv("TZ", "UTC")
    assert main(["queue"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("#1 Tue 01 Dec 10:00 EST voicemail by voice in es after relapse: ")
    assert "+12035550123" in out
    assert "recording https://api.twilio.com/RE9 (31 s)" in out
    assert main(["handle", "1", "--by", "Dana"]) == 0
    assert main(["handle", "1", "--by", "Lee"]) == 1
    assert main(["queue"]) == 0
    assert capsys.readouterr().out.splitlines() == [
        "#1 handled by Dana.",
        "#1 is not waiting.",
        "No one is waiting.",
    ]


def test_two_runs_of_a_text_get_their_own_answers(app):
    first, _ = scripted(app, [])
    second, _ = scripted(app, [])  # another `ivr text`: new MessageSids, not a retry
    assert first.text("info metadona").startswith("Las medicinas")
    assert second.text("STOP").startswith("You will get no more texts")
    assert app.extensions["ivr.store"].is_opted_out(second.caller)


def test_a_second_voicemail_reaches_the_queue(app):
    for _ in range(2):  # two runs of `ivr call`, each leaving a message after no one answers
        simulator, said = scripted(app, ["0", "", "1", ""])
        simulator.call()
        assert "Thank you. Your message is saved. A counselor will call you back today." in said
    waiting = app.extensions["ivr.store"].waiting()
    assert [r.kind for r in waiting] == ["voicemail", "voicemail"]


@pytest.mark.parametrize(
    ("changes", "texts", "reason"),
    [
        ({}, ["STOP", "detox"], "this number opted out"),
        (
            {"IVR_SMS_REPEATS": "1"},
            ["detox", "detox"],
            "the same words again — an auto-responder is cut off",
        ),
        ({"IVR_SMS_PER_MINUTE": "1"}, ["menu", "help", "topics"], "rate limit"),
    ],
)
def test_a_withheld_reply_says_why(make_app, changes, texts, reason):
    simulator, _ = scripted(make_app(**changes), [])
    replies = [simulator.text(words) for words in texts]
    assert replies[-1] is None and all(replies[:-1])
    assert simulator.withheld() == reason


def test_without_credentials_texts_and_alerts_are_shown_not_sent(make_app):
    app = make_app(TWILIO_ACCOUNT_SID="", TWILIO_AUTH_TOKEN="")
    simulator, said = scripted(app, ["2", "2", "0", "", "2"])
    simulator.call()
    topic = next(s for s in said if s.startswith("[would text +12035550100: "))
    assert topic.startswith("[would text +12035550100: Withdrawal can bring pain")
    assert said[said.index(topic) + 1] == "We sent this to your phone as a text."
    alert = app.extensions["ivr.line"].spec.staff.alert_callback
    [waiting] = app.extensions["ivr.store"].waiting()  # the missed call gave way to it
    assert waiting.kind == "callback"
    link = f"http://localhost/staff/entry/{waiting.id}"
    assert f"[would text the staff phone +12032450412: {alert} {link}]" in said


def test_the_clock_is_the_centers(make_app):
    simulator, _ = scripted(make_app(IVR_NOW="2026-12-01T15:00:00+00:00"), [])
    assert simulator.clock() == "[Tue 01 Dec 2026 10:00 EST at the center: open]"
    simulator, _ = scripted(make_app(IVR_NOW="2026-12-25T15:00:00+00:00"), [])
    assert simulator.clock() == "[Fri 25 Dec 2026 10:00 EST at the center: closed]"
