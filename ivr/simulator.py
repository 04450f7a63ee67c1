"""Try the line without a phone: a call or a text in the terminal, through the real webhooks."""

from __future__ import annotations

import itertools
import xml.etree.ElementTree as ET
from collections.abc import Callable

from flask import Flask
from twilio.request_validator import RequestValidator

Ask = Callable[[str], str]
CALLER = "+12035550100"  # a fictional number (555-01xx is reserved for fiction)


class Simulator:
    """Posts what Twilio would post, signed with the app's own auth token, and reads the TwiML."""

    def __init__(self, app: Flask, ask: Ask, say: Callable[[str], None], caller: str = CALLER):
        self.client = app.test_client()
        self.settings = app.config["IVR"]
        self.ask, self.say = ask, say
        self.caller = caller
        self.ids = itertools.count(1)
        self.sid = f"CA{'0' * 31}1"

    def post(self, path: str, form: dict[str, str]) -> ET.Element:
        """One webhook request, signed as Twilio signs it."""
        form = {"From": self.caller, "To": "+12032450412", "AccountSid": "AC" + "0" * 32, **form}
        url = f"http://localhost{path}"
        signature = RequestValidator(self.settings.TWILIO_AUTH_TOKEN).compute_signature(url, form)
        response = self.client.post(path, data=form, headers={"X-Twilio-Signature": signature})
        if response.status_code != 200:
            raise RuntimeError(f"{path} answered {response.status_code}")
        return ET.fromstring(response.data)

    def call(self) -> None:
        """A whole call: speak each <Say>, ask at each <Gather>, play out <Dial> and <Record>."""
        root = self.post("/voice", {"CallSid": self.sid})
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
                return self.post(verb.get("action"), {"CallSid": self.sid, **field})
            elif verb.tag == "Dial":
                return self._dial(verb)
            elif verb.tag == "Record":
                self.ask("[recording: say your message, then press Enter] > ")
                form = {
                    "CallSid": self.sid,
                    "RecordingUrl": "https://api.twilio.com/simulated",
                    "RecordingDuration": "12",
                    "RecordingSid": f"RE{next(self.ids):032x}",
                }
                return self.post(verb.get("action"), form)
            elif verb.tag == "Redirect":
                return self.post(verb.text, {"CallSid": self.sid})
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
            child = {"CallSid": f"CA{next(self.ids):032x}", "ParentCallSid": self.sid}
            whisper = self.post(number.get("url"), child)
            for say in whisper.iter("Say"):
                self.say(f"[staff hears] {' '.join(''.join(say.itertext()).split())}")
            gather = whisper.find("Gather")
            self.post(gather.get("action"), {**child, "Digits": answer})
            status = "completed"
            if answer == "1":
                self.say("[you are talking with a counselor]")
        return self.post(dial.get("action"), {"CallSid": self.sid, "DialCallStatus": status})

    def text(self, body: str) -> str | None:
        """One incoming text; returns the reply, or None for silence."""
        form = {"MessageSid": f"SM{next(self.ids):032x}", "Body": body}
        message = self.post("/sms", form).find("Message")
        return message.text if message is not None else None
