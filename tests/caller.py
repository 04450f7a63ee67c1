"""A pretend caller that walks the phone line through its webhooks, as Twilio would."""

from __future__ import annotations

import itertools

from . import twiml_rules

_ids = itertools.count(1)


class Caller:
    """Posts Twilio's form fields to the app and follows the TwiML it gets back."""

    def __init__(self, client, number: str = "+12035550123", line_number: str = "+12032450412"):
        self.client = client
        self.number = number
        self.line_number = line_number
        self.sid = f"CA{next(_ids):032x}"
        self.root = None

    def post(self, path: str, **fields: str):
        """Post to a webhook; check the answer is valid TwiML; keep and return its root."""
        form = {
            "CallSid": self.sid,
            "AccountSid": "AC" + "0" * 32,
            "From": self.number,
            "To": self.line_number,
            "CallStatus": "in-progress",
            "Direction": "inbound",
            "ApiVersion": "2010-04-01",
            **fields,
        }
        response = self.client.post(path, data=form)
        assert response.status_code == 200, (path, response.status_code)
        assert response.mimetype == "text/xml"
        self.root = twiml_rules.check(response.data)
        return self.root

    def call(self):
        return self.post("/voice")

    @property
    def gather(self):
        gather = self.root.find("Gather")
        assert gather is not None, twiml_rules.shape(self.root)
        return gather

    def press(self, key: str):
        return self.post(self.gather.get("action"), Digits=key)

    def say(self, words: str):
        return self.post(self.gather.get("action"), SpeechResult=words, Confidence="0.87")

    def silence(self):
        return self.post(self.gather.get("action"))

    @property
    def said(self) -> list[str]:
        return twiml_rules.says(self.root)

    @property
    def heard(self) -> str:
        return " ".join(self.said)

    @property
    def dial(self):
        dial = self.root.find("Dial")
        assert dial is not None, twiml_rules.shape(self.root)
        return dial

    def staff_answers(self, key: str | None):
        """The staff phone picks up: hear the whisper, then press `key` (None: no key)."""
        number = self.dial.find("Number")
        child = f"CA{next(_ids):032x}"
        whisper = Caller(self.client, number=self.number)
        whisper.sid = child
        whisper.post(number.get("url"), ParentCallSid=self.sid)
        fields = {"ParentCallSid": self.sid}
        if key is not None:
            fields["Digits"] = key
        whisper.post(whisper.gather.get("action"), **fields)
        return whisper

    def dial_ends(self, status: str, duration: str = "0"):
        """The dialed leg ended with DialCallStatus `status`."""
        return self.post(
            self.dial.get("action"),
            DialCallStatus=status,
            DialCallSid=f"CA{next(_ids):032x}",
            DialCallDuration=duration,
        )

    def records(self, seconds: int, url: str = "https://api.twilio.com/2010-04-01/Recordings/RE1"):
        record = self.root.find("Record")
        assert record is not None, twiml_rules.shape(self.root)
        return self.post(
            record.get("action"),
            RecordingUrl=url,
            RecordingDuration=str(seconds),
            RecordingSid=f"RE{next(_ids):032x}",
            Digits="#",
        )
