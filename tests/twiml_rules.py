"""What Twilio accepts in a voice or messaging TwiML document: verbs, nouns, nesting, attributes.

From Twilio's TwiML reference (voice: Say, Gather, Dial and Number, Record, Redirect,
Hangup; messaging: Message). A test fails on anything outside these rules.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET

VOICE_VERBS = {"Say", "Play", "Pause", "Gather", "Dial", "Record", "Redirect", "Hangup", "Reject"}
CHILDREN = {
    "Response": VOICE_VERBS | {"Message"},
    "Gather": {"Say", "Play", "Pause"},
    "Dial": {"Number", "Client", "Conference", "Queue", "Sip"},
    "Say": {"prosody", "break", "emphasis", "lang", "p", "s", "say-as", "sub", "w", "phoneme"},
    "prosody": {"break", "emphasis", "lang", "p", "s", "say-as", "sub", "w", "phoneme"},
    "Message": {"Body", "Media"},
}
ATTRIBUTES = {
    "Response": set(),
    "Say": {"voice", "language", "loop"},
    "prosody": {"rate", "pitch", "volume"},
    "Gather": {
        "input",
        "action",
        "method",
        "timeout",
        "speechTimeout",
        "maxSpeechTime",
        "profanityFilter",
        "finishOnKey",
        "numDigits",
        "partialResultCallback",
        "partialResultCallbackMethod",
        "language",
        "hints",
        "bargeIn",
        "debug",
        "actionOnEmptyResult",
        "speechModel",
        "enhanced",
    },
    "Dial": {
        "action",
        "method",
        "timeout",
        "hangupOnStar",
        "timeLimit",
        "callerId",
        "record",
        "trim",
        "answerOnBridge",
        "ringTone",
        "sequential",
    },
    "Number": {
        "url",
        "method",
        "sendDigits",
        "statusCallback",
        "statusCallbackEvent",
        "statusCallbackMethod",
        "byoc",
    },
    "Record": {
        "action",
        "method",
        "timeout",
        "finishOnKey",
        "maxLength",
        "playBeep",
        "trim",
        "recordingStatusCallback",
        "recordingStatusCallbackMethod",
        "transcribe",
        "transcribeCallback",
    },
    "Redirect": {"method"},
    "Hangup": set(),
    "Message": {"to", "from", "action", "method", "statusCallback"},
}
MAX_BYTES = 64_000
MAX_SAY_CHARS = 3_000  # Amazon Polly voices
MAX_HINTS, MAX_HINT_CHARS = 500, 100  # <Gather hints>: warning 13330 past these


def check(document: str | bytes) -> ET.Element:
    """Parse a TwiML document and fail on anything Twilio would not accept; return its root."""
    raw = document.encode() if isinstance(document, str) else document
    assert len(raw) < MAX_BYTES, f"TwiML of {len(raw)} bytes; Twilio's limit is 64 kB"
    root = ET.fromstring(raw)
    assert root.tag == "Response", root.tag
    _check(root)
    return root


def _check(node: ET.Element) -> None:
    allowed = ATTRIBUTES.get(node.tag)
    assert allowed is not None or node.tag in CHILDREN.get("Say", ()), (
        f"unknown element <{node.tag}>"
    )
    if allowed is not None:
        extra = set(node.attrib) - allowed
        assert not extra, f"<{node.tag}> does not take {sorted(extra)}"
    if node.tag == "Say":
        text = "".join(node.itertext()).strip()
        assert text, "<Say> with nothing to say"
        assert len(text) <= MAX_SAY_CHARS, f"<Say> of {len(text)} characters"
    if node.tag in ("Redirect", "Number"):
        assert (node.text or "").strip(), f"<{node.tag}> needs a value"
    if node.tag == "Gather":
        assert node.get("input") in ("dtmf", "dtmf speech", "speech"), node.get("input")
        assert int(node.get("timeout", "5")) >= 8, "first-input timeout under 8 seconds"
        hints = node.get("hints", "").split(",") if node.get("hints") else []
        assert len(hints) <= MAX_HINTS, f"{len(hints)} hints; Twilio reads {MAX_HINTS} (13330)"
        assert all(0 < len(h.strip()) <= MAX_HINT_CHARS for h in hints), "a hint of 0 or >100"
    for child in node:
        assert child.tag in CHILDREN.get(node.tag, set()), f"<{child.tag}> inside <{node.tag}>"
        _check(child)


def says(root: ET.Element) -> list[str]:
    """Every <Say> text in document order."""
    return [" ".join("".join(s.itertext()).split()) for s in root.iter("Say")]


def shape(root: ET.Element) -> list[str]:
    """The top-level verbs, such as ['Say', 'Dial']."""
    return [child.tag for child in root]
