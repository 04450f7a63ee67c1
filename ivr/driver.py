"""Twilio's part, played in process against the line's own webhooks: what `ivr call`, `ivr text`
and the console's preview share.

Each request is signed with the app's auth token exactly as Twilio signs it, so it passes the
signature check a real call passes, and each TwiML answer is read back as a Turn: the words the
line says, then what it waits for. The terminal simulator asks a person at each wait; the
preview answers one wait per browser request.
"""

from __future__ import annotations

import uuid
import xml.etree.ElementTree as ET
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal
from zoneinfo import ZoneInfo

from flask import Flask
from sqlalchemy import select
from twilio.request_validator import RequestValidator

from . import schedule
from .schema import Center
from .store import Event, Store, StoreError

CALLER = "+12035550100"  # a fictional number (555-01xx is reserved for fiction)
RECORDED_SECONDS = 12  # the length of a message left in a simulated call
# Why the text line stayed silent, by the kind of decision the SMS webhook recorded.
WITHHELD = {
    "silent": "this number opted out",
    "repeated": "the same words again — an auto-responder is cut off",
    "rate-limited": "rate limit",
    "echo": "the line's own reply sent back — a loop is cut off",
    "opt-out": "Twilio confirms an opt-out itself (Advanced Opt-Out)",
    "opt-in": "Twilio confirms an opt-in itself (Advanced Opt-Out)",
    "help": "Twilio answers HELP itself (Advanced Opt-Out)",
}
WaitKind = Literal["gather", "dial", "record", "redirect", "hangup", "end"]


class SimulatorError(RuntimeError):
    """The app answered a webhook with something other than 200 and TwiML."""


@dataclass(frozen=True)
class Said:
    """One <Say>: its words, its language (en-US, es-US) and its rate ("85%" when slowed)."""

    text: str
    language: str
    rate: str | None = None


@dataclass(frozen=True)
class Wait:
    """What the line does once it has spoken: listen (gather), ring (dial), record, go on to
    another step at once (redirect), hang up, or nothing more (end).

    `action` is where the answer is posted (a redirect's URL); `seconds` how long it waits,
    rings or records; `number` whom a dial rings and `whisper` what that person hears first.
    """

    kind: WaitKind
    action: str | None = None
    seconds: int = 0
    speech: bool = False
    language: str | None = None
    number: str | None = None
    whisper: str | None = None


@dataclass(frozen=True)
class Turn:
    """One TwiML answer: the words in order, then the wait."""

    said: tuple[Said, ...]
    then: Wait


def _said(say: ET.Element) -> Said:
    prosody = say.find("prosody")
    text = " ".join("".join(say.itertext()).split())
    return Said(text, say.get("language", ""), prosody.get("rate") if prosody is not None else None)


def _seconds(verb: ET.Element, name: str, default: int) -> int:
    value = verb.get(name, "")
    return int(value) if value.isdigit() else default


def read(root: ET.Element) -> Turn:
    """A TwiML answer as a Turn, up to its first verb that waits (Twilio's own order)."""
    said: list[Said] = []
    for verb in root:
        if verb.tag == "Say":
            said.append(_said(verb))
        elif verb.tag == "Gather":
            said += [_said(say) for say in verb.iter("Say")]
            speech = "speech" in verb.get("input", "dtmf")
            seconds = _seconds(verb, "timeout", 5)
            wait = Wait("gather", verb.get("action"), seconds, speech, verb.get("language"))
            return Turn(tuple(said), wait)
        elif verb.tag == "Dial":
            number = verb.find("Number")
            target = (number.text if number is not None else verb.text) or ""
            whisper = number.get("url") if number is not None else None
            seconds = _seconds(verb, "timeout", 30)
            wait = Wait("dial", verb.get("action"), seconds, number=target.strip(), whisper=whisper)
            return Turn(tuple(said), wait)
        elif verb.tag == "Record":
            wait = Wait("record", verb.get("action"), _seconds(verb, "maxLength", 3600))
            return Turn(tuple(said), wait)
        elif verb.tag == "Redirect":
            return Turn(tuple(said), Wait("redirect", (verb.text or "").strip()))
        elif verb.tag == "Hangup":
            return Turn(tuple(said), Wait("hangup"))
    return Turn(tuple(said), Wait("end"))


def given(value: str | None, what: str) -> str:
    """A URL the line's TwiML always gives; a SimulatorError when it does not."""
    if not value:
        raise SimulatorError(f"the line's TwiML has no {what}")
    return value


def fresh_sid(prefix: str) -> str:
    """A new Twilio-shaped id (two letters, 32 hex digits), so no run replays another's."""
    return prefix + uuid.uuid4().hex


def moment_words(center: Center, moment: datetime) -> str:
    """A moment in the center's time zone, and whether staff answer then."""
    local = moment.astimezone(ZoneInfo(center.time_zone))
    state = "open" if schedule.is_open(center, local) else "closed"
    return f"{local:%a %d %b %Y %H:%M %Z} at the center: {state}"


class Twilio:
    """Posts what Twilio would post to one app, as one caller, and reads the TwiML back.

    `environ` goes with every request into the WSGI environ: a way in for the in-process
    preview that no request over the network can take (see edge.now).
    """

    def __init__(
        self, app: Flask, caller: str = CALLER, environ: Mapping[str, object] | None = None
    ):
        self.client = app.test_client()
        self.settings = app.config["IVR"]
        self.center: Center = app.extensions["ivr.line"].spec.center
        self.store: Store = app.extensions["ivr.store"]
        self.caller = caller
        self.environ = dict(environ or {})
        self.sid = fresh_sid("CA")

    def now(self) -> datetime:
        """The line's clock as the app reads it without a request: IVR_NOW, else the time."""
        settings_now: datetime | None = self.settings.now()
        return settings_now or datetime.now(UTC)

    def post(self, path: str, form: dict[str, str]) -> ET.Element:
        """One webhook request, signed as Twilio signs it."""
        form = {
            "From": self.caller,
            "To": self.center.public_number,
            "AccountSid": self.settings.TWILIO_ACCOUNT_SID or "AC" + "0" * 32,
            **form,
        }
        url = (self.settings.PUBLIC_BASE_URL or "http://localhost").rstrip("/") + path
        signature = RequestValidator(self.settings.TWILIO_AUTH_TOKEN).compute_signature(url, form)
        response = self.client.post(
            path,
            data=form,
            headers={"X-Twilio-Signature": signature},
            environ_overrides=self.environ,
        )
        if response.status_code != 200:
            raise SimulatorError(f"{path} answered {response.status_code}")
        return ET.fromstring(response.data)

    def call(self) -> Turn:
        """A new call (a new CallSid): the greeting."""
        self.sid = fresh_sid("CA")
        return read(self.post("/voice", {"CallSid": self.sid}))

    def gather(self, wait: Wait, digits: str = "", words: str = "") -> Turn:
        """A key, words (as Twilio's speech recognition hands them on) or silence at a Gather."""
        heard = (
            {"Digits": digits}
            if digits
            else {"SpeechResult": words, "Confidence": "0.9"}
            if words
            else {}
        )
        action = given(wait.action, "<Gather> action")
        return read(self.post(action, {"CallSid": self.sid, **heard}))

    def redirect(self, wait: Wait) -> Turn:
        """Where a Redirect leads."""
        return read(self.post(given(wait.action, "<Redirect> URL"), {"CallSid": self.sid}))

    def record(self, wait: Wait) -> Turn:
        """A message left at a Record (a recording Twilio would keep)."""
        form = {
            "CallSid": self.sid,
            "RecordingUrl": "https://api.twilio.com/simulated",
            "RecordingDuration": str(RECORDED_SECONDS),
            "RecordingSid": fresh_sid("RE"),
        }
        return read(self.post(given(wait.action, "<Record> action"), form))

    def staff(self, wait: Wait, key: str) -> tuple[tuple[Said, ...], Turn]:
        """The staff phone at a Dial: `key` after the whisper (1 takes the call), or no answer
        (""). What the staff member heard, and the caller's next turn."""
        heard: tuple[Said, ...] = ()
        status = "no-answer"
        if key:
            child = {"CallSid": fresh_sid("CA"), "ParentCallSid": self.sid}
            whisper = read(self.post(given(wait.whisper, "<Number> url"), child))
            heard = whisper.said
            action = given(whisper.then.action, "whisper <Gather> action")
            self.post(action, {**child, "Digits": key})
            status = "completed"
        form = {"CallSid": self.sid, "DialCallStatus": status}
        return heard, read(self.post(given(wait.action, "<Dial> action"), form))

    def text(self, body: str) -> list[str]:
        """One incoming text (a new MessageSid); the line's replies, none when it stays silent."""
        form = {"MessageSid": fresh_sid("SM"), "Body": body}
        return [m.text or "" for m in self.post("/sms", form).iter("Message")]

    def withheld(self) -> str:
        """Why the last text got no reply, read from the event the line stored for this number."""
        query = (
            select(Event.kind, Event.detail)
            .where(Event.caller == self.store.caller(self.caller), Event.channel == "sms")
            .order_by(Event.id.desc())
            .limit(1)
        )
        self.store.later.flush()  # a silent text's event is written moments after the answer
        try:
            with self.store.session() as session:
                last = session.execute(query).first()
        except StoreError:
            last = None
        if last is None or last.detail != "silent":
            return "the line stays silent"
        return WITHHELD.get(last.kind, f"the line stays silent ({last.kind})")
