"""Retries that never lie: each effect x (first, retry, retry after a failure, duplicate at once).

Twilio repeats a webhook when it timed out or could not read the answer, and a caller
can press the same key on the same step twice. Whatever the repeat, the person hears
what the first delivery told them (or, after a failure, the effect is performed now),
and each effect happens exactly once: a text or alert sent, a request or opt-out stored.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime

import pytest
from sqlalchemy import text

from ivr.outbound import Messenger, OutboundError
from ivr.store import Store, StoreError

from . import twiml_rules
from .caller import Caller

CALLER = "+12035550123"
STAFF = "+12032450412"  # the staff line and the on-call phone of the shipped menu
OPEN = "2026-12-01T10:00:00-05:00"


class Outbox:
    """Every text the line got through to Twilio (Prism), and switches to fail or slow them."""

    def __init__(self, monkeypatch):
        self.sent: list[tuple[str, str]] = []
        self.failures = 0  # the next sends that fail, as when Twilio cannot be reached
        self.delay = 0.0  # seconds each send takes: room for a duplicate to arrive meanwhile
        self._lock = threading.Lock()
        real = Messenger.send

        def send(messenger, to, sender, body, **options):
            with self._lock:
                failing, self.failures = self.failures > 0, max(self.failures - 1, 0)
            if failing:
                raise OutboundError("ConnectionError")
            time.sleep(self.delay)
            sid = real(messenger, to, sender, body, **options)
            with self._lock:
                self.sent.append((to, body))
            return sid

        monkeypatch.setattr(Messenger, "send", send)

    def to(self, number: str, starting: str = "") -> int:
        """How many texts went to `number` (and began with `starting`)."""
        return sum(to == number and body.startswith(starting) for to, body in self.sent)


def fail_once(monkeypatch, method: str) -> None:
    """Make one Store method fail the next time it is called, as a database flicker would."""
    real = getattr(Store, method)
    left = [1]

    def flaky(self, *args, **kwargs):
        if left[0]:
            left[0] -= 1
            raise StoreError("OperationalError")
        return real(self, *args, **kwargs)

    monkeypatch.setattr(Store, method, flaky)


# The effects ------------------------------------------------------------------------


def _post(client, path: str, form: dict) -> str:
    response = client.post(path, data=form)
    assert response.status_code == 200 and response.mimetype == "text/xml"
    twiml_rules.check(response.data)
    return response.data.decode()


def _voice_step(client, keys: str, status: str | None = None) -> tuple[str, dict]:
    """Walk a new call to a step; the step's URL and the form fields every post of it sends."""
    caller = Caller(client)
    caller.call()
    for key in keys:
        caller.press(key)
        if key == "0" and status:
            caller.dial_ends(status)
    form = {"CallSid": caller.sid, "From": CALLER, "To": STAFF}
    return caller.gather.get("action"), form


def text_me_this(client):
    action, form = _voice_step(client, "2")  # the withdrawal summary
    return lambda c: _post(c, action, {**form, "Digits": "2"})


def voice_callback(client):
    action, form = _voice_step(client, "0", status="busy")  # the safety net's offer
    return lambda c: _post(c, action, {**form, "Digits": "2"})


def voicemail(client):
    action, form = _voice_step(client, "0", status="busy")
    caller_form = {**form, "Digits": "1"}
    record = twiml_rules.check(client.post(action, data=caller_form).data).find("Record")
    recording = {
        **form,
        "RecordingUrl": "https://api.twilio.com/2010-04-01/Recordings/RE5",
        "RecordingDuration": "8",
        "RecordingSid": "RE" + "5" * 32,
    }
    return lambda c: _post(c, record.get("action"), recording)


def _text(body: str, sid: str):
    form = {"MessageSid": sid, "From": CALLER, "To": STAFF, "Body": body}
    return lambda c: _post(c, "/sms", form)


def opt_out(client):
    return _text("STOP", "SM" + "a" * 32)


def opt_in(client):
    _post(client, "/sms", {"MessageSid": "SM" + "0" * 32, "From": CALLER, "Body": "STOP"})
    return _text("START", "SM" + "b" * 32)


def crisis_alert(client):
    return _text("I think he is overdosing", "SM" + "c" * 32)


def _store(app) -> Store:
    return app.extensions["ivr.store"]


def _waiting(app, kind: str) -> int:
    return sum(w.kind == kind for w in _store(app).waiting())


@dataclass(frozen=True)
class Effect:
    """One thing a webhook does in the world, and how a test sees it done."""

    name: str
    start: Callable  # (client) -> act: (client) -> the raw answer to one post of the request
    done: Callable[[object, Outbox], tuple]  # what was done, as a tuple; all 1s when done once
    breaks: str  # what fails in the first delivery: "send" (Twilio) or a Store method
    says_done: str  # what the person hears or reads when it was done
    says_failed: str  # ... when it could not be done


EFFECTS = [
    Effect(
        "text-me-this",
        text_me_this,
        lambda app, out: (out.to(CALLER),),
        "send",
        "We sent this to your phone as a text.",
        "Sorry, we could not send a text right now.",
    ),
    Effect(
        "call-back",
        voice_callback,
        lambda app, out: (_waiting(app, "callback"), out.to(STAFF, "New call back request")),
        "add_request",
        "Thank you. A counselor will call you back",
        "Sorry, we could not save your call back request. Please leave a message instead.",
    ),
    Effect(
        "voicemail",
        voicemail,
        lambda app, out: (
            _waiting(app, "voicemail"),
            out.to(STAFF, "New voicemail on the help line. Listen"),
        ),
        "add_request",
        "Thank you. Your message is saved.",
        "Thank you. Your message is saved.",  # Twilio holds the recording; staff are told so
    ),
    Effect(
        "opt-out",
        opt_out,
        lambda app, out: (int(_store(app).is_opted_out(CALLER)), _store(app).count("opt-out")),
        "keep_text",  # a text stores everything in one transaction
        "You will get no more texts",
        "Sorry, we could not stop texts just now.",
    ),
    Effect(
        "opt-in",
        opt_in,
        lambda app, out: (int(not _store(app).is_opted_out(CALLER)), _store(app).count("opt-in")),
        "keep_text",
        "You can get texts from us again.",
        "Sorry, we cannot take that request right now.",
    ),
    Effect(
        "crisis alert",
        crisis_alert,
        lambda app, out: (out.to(STAFF, "Crisis text"), _store(app).count("crisis")),
        "send",
        "Overdose? Call 911 now.",
        "Overdose? Call 911 now.",  # the reply never waits for the alert
    ),
]


@pytest.fixture(params=["sqlite", "postgresql"])
def line_app(request, make_app, prism, postgres_database):
    """The line on each engine, texting through Prism, in opening hours."""
    changes = {"TWILIO_API_BASE": prism.base, "IVR_NOW": OPEN}
    if request.param == "postgresql":
        changes["DATABASE_URL"] = postgres_database()
    return make_app(**changes)


@pytest.fixture
def outbox(monkeypatch) -> Outbox:
    return Outbox(monkeypatch)


def _said(answer: str) -> str:
    """The first thing a voice answer says, or the first text of a messaging answer."""
    root = twiml_rules.check(answer.encode())
    first = root.find(".//Say") if root.find(".//Say") is not None else root.find("Message")
    return "".join(first.itertext()) if first is not None else ""


def _ids(effects):
    return [e.name for e in effects]


@pytest.mark.parametrize("effect", EFFECTS, ids=_ids(EFFECTS))
def test_first(line_app, outbox, effect):
    act = effect.start(line_app.test_client())
    assert _said(act(line_app.test_client())).startswith(effect.says_done)
    assert effect.done(line_app, outbox) == (1,) * len(effect.done(line_app, outbox))


@pytest.mark.parametrize("effect", EFFECTS, ids=_ids(EFFECTS))
def test_retry(line_app, outbox, effect):
    act = effect.start(line_app.test_client())
    first = act(line_app.test_client())
    again = act(line_app.test_client())
    assert again == first and _said(first).startswith(effect.says_done)
    assert effect.done(line_app, outbox) == (1,) * len(effect.done(line_app, outbox))


@pytest.mark.parametrize("effect", EFFECTS, ids=_ids(EFFECTS))
def test_retry_after_a_failure(line_app, outbox, monkeypatch, effect):
    act = effect.start(line_app.test_client())
    if effect.breaks == "send":
        outbox.failures = 1
    else:
        fail_once(monkeypatch, effect.breaks)
    failed = act(line_app.test_client())
    assert _said(failed).startswith(effect.says_failed)
    assert 1 not in effect.done(line_app, outbox)[:1]  # the effect itself did not happen
    retried = act(line_app.test_client())
    assert _said(retried).startswith(effect.says_done)  # done now, and only now said so
    assert effect.done(line_app, outbox) == (1,) * len(effect.done(line_app, outbox))
    assert act(line_app.test_client()) == retried  # and then like any retry
    assert effect.done(line_app, outbox) == (1,) * len(effect.done(line_app, outbox))


@pytest.mark.parametrize("effect", EFFECTS, ids=_ids(EFFECTS))
def test_concurrent_duplicate(line_app, outbox, effect):
    act = effect.start(line_app.test_client())
    outbox.delay = 0.3  # a send in progress when the duplicate arrives
    together = threading.Barrier(2)
    answers: list[str] = []

    def deliver():
        client = line_app.test_client()
        together.wait()
        answers.append(act(client))

    workers = [threading.Thread(target=deliver) for _ in range(2)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=30)
    assert len(answers) == 2 and answers[0] == answers[1]
    assert _said(answers[0]).startswith(effect.says_done)
    assert effect.done(line_app, outbox) == (1,) * len(effect.done(line_app, outbox))


# The lost first delivery: claimed, then the database went away -------------------------


def drop_after_first_write(monkeypatch) -> dict:
    """The database goes away right after the first write a request makes (until `up`)."""
    state = {"down": False}
    real_session = Store.session

    def session(self, reading=False, light=False):
        if state["down"]:
            raise StoreError("OperationalError")
        return real_session(self, reading, light)

    for name in ("claim", "opt_out", "opt_in", "add_request", "keep_text"):
        real = getattr(Store, name)

        def written(self, *args, _real=real, **kwargs):
            result = _real(self, *args, **kwargs)
            state["down"] = True
            return result

        monkeypatch.setattr(Store, name, written)
    monkeypatch.setattr(Store, "session", session)
    return state


def test_a_stop_is_never_confirmed_unless_it_was_stored(make_app, monkeypatch):
    """The review's case: a delivery claimed, then the opt-out and the saved reply both lost."""
    app = make_app()
    stop = _text("STOP", "SM" + "d" * 32)
    state = drop_after_first_write(monkeypatch)
    first = _said(stop(app.test_client()))
    monkeypatch.undo()  # the database is back for Twilio's retry
    assert state["down"]
    retried = _said(stop(app.test_client()))
    stored = _store(app).is_opted_out(CALLER)
    for said in (first, retried):
        assert said.startswith(("You will get no more texts", "Sorry, we could not stop texts"))
        assert stored or not said.startswith("You will get no more texts"), said
    assert stored and retried.startswith("You will get no more texts")


def test_a_text_whose_sender_died_mid_send_is_sent_by_a_later_repeat(line_app, outbox, monkeypatch):
    """A request that took the text and never said how it went holds it only SENDING_STALE."""
    act = text_me_this(line_app.test_client())
    outbox.failures = 1
    assert _said(act(line_app.test_client())).startswith("Sorry, we could not send")
    (key,) = _keys(line_app, "voice:%:text:%")
    assert _store(line_app).take_unsent(key, _at(OPEN), _at(OPEN)) is not None  # then it died
    monkeypatch.setattr("ivr.voice.WAIT_FOR_TEXT", 0.3)
    _clock(line_app, "2026-12-01T10:00:30-05:00")
    assert _said(act(line_app.test_client())).startswith("Sorry, we could not send")  # held
    _clock(line_app, "2026-12-01T10:01:30-05:00")
    assert _said(act(line_app.test_client())).startswith("We sent this")  # taken over
    assert outbox.to(CALLER) == 1


def _at(moment: str) -> datetime:
    return datetime.fromisoformat(moment)


def _clock(app, moment: str) -> None:
    app.config["IVR"] = replace(app.config["IVR"], IVR_NOW=moment)


def _keys(app, like: str) -> list[str]:
    query = text("SELECT key FROM deliveries WHERE key LIKE :like")
    with _store(app).engine.connect() as connection:
        return list(connection.execute(query, {"like": like}).scalars())
