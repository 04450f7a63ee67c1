"""Try the line without a phone: a call or a text in the terminal, through the real webhooks."""

from __future__ import annotations

import uuid
import xml.etree.ElementTree as ET
from collections.abc import Callable
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from flask import Flask
from sqlalchemy import select
from twilio.request_validator import RequestValidator

from . import schedule
from .outbound import PrintingMessenger
from .store import Event, Store, StoreError

Ask = Callable[[str], str]
CALLER = "+12035550100"  # a fictional number (555-01xx is reserved for fiction)
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


class SimulatorError(RuntimeError):
    """The app answered a webhook with something other than 200 and TwiML."""


def _given(value: str | None, what: str) -> str:
    """A URL the line's TwiML always gives; a SimulatorError when it does not."""
    if value is None:
        raise SimulatorError(f"the line's TwiML has no {what}")
    return value


def fresh_sid(prefix: str) -> str:
    """A new Twilio-shaped id (two letters, 32 hex digits), so no run replays another's."""
    return prefix + uuid.uuid4().hex


class Simulator:
    """Posts what Twilio would post, signed with the app's own auth token, and reads the TwiML.

    Without Twilio credentials, texts and staff alerts are shown on the console, not sent.
    """

    def __init__(self, app: Flask, ask: Ask, say: Callable[[str], None], caller: str = CALLER):
        self.client = app.test_client()
        self.settings = app.config["IVR"]
        self.center = app.extensions["ivr.line"].spec.center
        self.store: Store = app.extensions["ivr.store"]
        self.ask, self.say = ask, say
        self.caller = caller
        self.sid = fresh_sid("CA")
        if not (self.settings.TWILIO_ACCOUNT_SID and self.settings.TWILIO_AUTH_TOKEN):
            app.extensions["ivr.messenger"] = PrintingMessenger(say, self.center.alert_number)

    def clock(self) -> str:
        """The line's moment in the center's time zone, and whether staff answer then."""
        moment = (self.settings.now() or datetime.now(UTC)).astimezone(
            ZoneInfo(self.center.time_zone)
        )
        state = "open" if schedule.is_open(self.center, moment) else "closed"
        return f"[{moment:%a %d %b %Y %H:%M %Z} at the center: {state}]"

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
        response = self.client.post(path, data=form, headers={"X-Twilio-Signature": signature})
        if response.status_code != 200:
            raise SimulatorError(f"{path} answered {response.status_code}")
        return ET.fromstring(response.data)

    def call(self) -> None:
        """A whole call: speak each <Say>, ask at each <Gather>, play out <Dial> and <Record>."""
        self.sid = fresh_sid("CA")
        root: ET.Element | None = self.post("/voice", {"CallSid": self.sid})
        while root is not None:
            root = self._play(root)
        self.say("[call ended]")

    def _play(self, root: ET.Element) -> ET.Element | None:
        for verb in root:
            if verb.tag == "Say":
                self._speak(verb)
            elif verb.tag == "Gather":
                for say in verb.iter("Say"):
                    self._speak(say)
                heard = self.ask("press a key, type words, or Enter for silence > ").strip()
                field = (
                    {}
                    if not heard
                    else {"Digits": heard}
                    if len(heard) == 1
                    else {"SpeechResult": heard, "Confidence": "0.9"}
                )
                action = _given(verb.get("action"), "<Gather> action")
                return self.post(action, {"CallSid": self.sid, **field})
            elif verb.tag == "Dial":
                return self._dial(verb)
            elif verb.tag == "Record":
                self.ask("[recording: say your message, then press Enter] > ")
                form = {
                    "CallSid": self.sid,
                    "RecordingUrl": "https://api.twilio.com/simulated",
                    "RecordingDuration": "12",
                    "RecordingSid": fresh_sid("RE"),
                }
                return self.post(_given(verb.get("action"), "<Record> action"), form)
            elif verb.tag == "Redirect":
                return self.post(_given(verb.text, "<Redirect> URL"), {"CallSid": self.sid})
            elif verb.tag == "Hangup":
                return None
        return None

    def _speak(self, say: ET.Element) -> None:
        slow = say.find("prosody") is not None
        text = " ".join("".join(say.itertext()).split())
        self.say(f"{'(slowly) ' if slow else ''}{text}")

    def _dial(self, dial: ET.Element) -> ET.Element | None:
        number = dial.find("Number")
        target = number.text if number is not None else (dial.text or "").strip()
        self.say(f"[ringing {target}]")
        if number is None or not dial.get("action"):
            return None
        answer = self.ask("[staff phone] 1 = take the call, Enter = no answer > ").strip()
        status = "no-answer"
        if answer:
            child = {"CallSid": fresh_sid("CA"), "ParentCallSid": self.sid}
            whisper = self.post(_given(number.get("url"), "<Number> url"), child)
            for say in whisper.iter("Say"):
                self.say(f"[staff hears] {' '.join(''.join(say.itertext()).split())}")
            gather = whisper.find("Gather")
            action = gather.get("action") if gather is not None else None
            self.post(_given(action, "whisper <Gather> action"), {**child, "Digits": answer})
            status = "completed"
            if answer == "1":
                self.say("[you are talking with a counselor]")
        status_form = {"CallSid": self.sid, "DialCallStatus": status}
        return self.post(_given(dial.get("action"), "<Dial> action"), status_form)

    def text(self, body: str) -> str | None:
        """One incoming text; returns the reply (a follow-up on its own line), or None."""
        form = {"MessageSid": fresh_sid("SM"), "Body": body}
        messages = [m.text or "" for m in self.post("/sms", form).iter("Message")]
        return "\n".join(messages) if messages else None

    def withheld(self) -> str:
        """Why the last text got no reply, read from the event the line stored for this number."""
        query = (
            select(Event.kind, Event.detail)
            .where(Event.caller == self.store.caller(self.caller), Event.channel == "sms")
            .order_by(Event.id.desc())
            .limit(1)
        )
        try:
            with self.store.session() as session:
                last = session.execute(query).first()
        except StoreError:
            last = None
        if last is None or last.detail != "silent":
            return "the line stays silent"
        return WITHHELD.get(last.kind, f"the line stays silent ({last.kind})")
