"""Trying the line without a phone: the terminal call and text, and the staff queue commands."""

from __future__ import annotations

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
    assert out.startswith("#1 ") and "voicemail by voice in es after relapse: +12035550123" in out
    assert "recording https://api.twilio.com/RE9 (31 s)" in out
    assert main(["handle", "1", "--by", "Dana"]) == 0
    assert main(["handle", "1", "--by", "Lee"]) == 1
    assert main(["queue"]) == 0
    assert capsys.readouterr().out.splitlines() == [
        "#1 handled by Dana.",
        "#1 is not waiting.",
        "No one is waiting.",
    ]
