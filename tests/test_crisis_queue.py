"""A crisis text waits in the console for staff to follow up: once per person, without its
words, on both engines, and the safety reply never depends on it."""

from __future__ import annotations

import re

from ivr.store import Store, StoreError

from .test_staff import ADMIN, sign_in

TEXTER = "+12035557777"


def _text(client, body: str, sid: str) -> str:
    response = client.post("/sms", data={"MessageSid": sid, "From": TEXTER, "Body": body})
    assert response.status_code == 200
    return response.text


def test_a_crisis_text_waits_once_without_its_words(console):
    client = console.test_client()
    assert "911" in _text(client, "my brother is not breathing", "SM" + "1" * 32)
    assert "911" in _text(client, "please he is turning blue", "SM" + "2" * 32)
    waiting = console.extensions["ivr.store"].waiting()
    assert [(w.kind, w.channel, w.number, w.topic) for w in waiting] == [
        ("crisis-text", "sms", TEXTER, "overdose")
    ]
    staff = console.test_client()
    sign_in(staff)
    page = staff.get("/staff").text
    assert "Crisis text (the 911 and 988 reply was sent; the words are not kept)" in page
    assert "<dd>an overdose happening now</dd>" in page
    assert "number ending in 7777" in page and "5557777" not in re.sub(r"\D", "", page)
    assert "not breathing" not in page and "turning blue" not in page


def test_a_handled_crisis_text_lets_a_new_one_wait(console):
    client = console.test_client()
    store = console.extensions["ivr.store"]
    _text(client, "i want to kill myself", "SM" + "3" * 32)
    [first] = store.waiting()
    assert first.topic == "suicide"
    store.handle(first.id, ADMIN, first.at, "called, safe with family")
    _text(client, "i cant do this anymore i want to die", "SM" + "4" * 32)
    assert [w.kind for w in store.waiting()] == ["crisis-text"]


def test_the_safety_reply_does_not_wait_for_the_database(make_app, monkeypatch):
    app = make_app()

    def down(self, *args, **kwargs):
        raise StoreError("OperationalError")

    monkeypatch.setattr(Store, "keep_text", down)
    reply = _text(app.test_client(), "my brother is not breathing", "SM" + "5" * 32)
    assert "Call 911 now" in reply
