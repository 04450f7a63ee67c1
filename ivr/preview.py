"""The console's preview of the line: one step of a call or one text, played against the
sandbox's webhooks, told back as a transcript the page shows and speaks.

The browser holds the call between steps (`CallState`: the call's id, what the line waits for,
the moment it plays at) and sends it back with the next key, words or silence. Every URL in it
came from the line's own TwiML; one that is not a voice step of the line is refused.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any, Literal
from urllib.parse import urlsplit

from flask import Flask

from .driver import CALLER, Said, Turn, Twilio, Wait, moment_words
from .moments import PreviewError, parse_at
from .sandbox import OUTBOX, PREVIEW_NOW
from .schema import LANGS, Center

Move = Literal["call", "key", "words", "silence", "hangup"]
MOVES = frozenset({"call", "key", "words", "silence", "hangup"})
KEYS = frozenset("0123456789*#")
WORDS_MOST = 300  # characters of typed "spoken" words: more than anyone says at a menu
TEXT_MOST = 1600  # Twilio's longest text
REDIRECTS_MOST = 10  # a loop of redirects would be a menu fault: stop, and say so
FICTIONAL = re.compile(r"\+1[2-9][0-9]{2}55501[0-9]{2}")  # 555-0100 to 555-0199: for fiction
STATUS = {
    "gather": "The line is waiting for a key, or for words.",
    "dial": "The line is ringing the staff phone. You answer for the staff member: press 1 to "
    "take the call, another key to let it go, or Wait in silence for no answer.",
    "record": "The line is recording a message. Press # or Wait in silence to end it.",
}
ENDED = "No call is going on. Press Call the line to start one."


@dataclass(frozen=True)
class Item:
    """One line of the transcript: who (the line, you, the staff phone), what, and for words
    the line speaks, the language (BCP 47) and rate to speak them in."""

    kind: str  # say, wait, dial, record, staff, text, reply, end, you, note
    who: str
    text: str
    lang: str = ""
    rate: float = 1.0


@dataclass(frozen=True)
class CallState:
    """A call between two steps: its CallSid, what the line waits for, the moment it plays at."""

    sid: str
    wait: Wait
    at: str = ""

    def as_json(self) -> dict[str, Any]:
        """The state as the page keeps it."""
        return {"sid": self.sid, "at": self.at, "wait": asdict(self.wait)}


@dataclass(frozen=True)
class Played:
    """What one step did: the transcript lines, the call after it (None: ended), and the
    moment it was played at, in words."""

    items: tuple[Item, ...]
    state: CallState | None
    clock: str

    def as_json(self) -> dict[str, Any]:
        """The answer the page reads."""
        wait = self.state.wait.kind if self.state else None
        return {
            "items": [asdict(item) for item in self.items],
            "state": self.state.as_json() if self.state else None,
            "status": STATUS.get(wait or "", ENDED),
            "clock": self.clock,
        }


def voice_step(url: object) -> str | None:
    """A URL of one of the line's voice steps (relative, under /voice/), or None."""
    if not isinstance(url, str) or len(url) > 300:
        return None
    parts = urlsplit(url)
    path = parts.path
    if parts.scheme or parts.netloc or not path.startswith("/voice/") or ".." in path:
        return None
    return None if path.startswith("/voice/callback") else url


def call_state(data: object) -> CallState | None:
    """The call the page sent back, or None when there is none or it is not one of ours."""
    if not isinstance(data, dict) or not isinstance(data.get("wait"), dict):
        return None
    sid, at, wait = data.get("sid"), data.get("at", ""), data["wait"]
    kind, seconds = wait.get("kind"), wait.get("seconds", 0)
    number = wait.get("number")
    if (
        not isinstance(sid, str)
        or not re.fullmatch(r"CA[0-9a-f]{32}", sid)
        or not isinstance(at, str)
        or kind not in STATUS
        or voice_step(wait.get("action")) is None
        or not isinstance(seconds, int)
        or not (number is None or (isinstance(number, str) and len(number) <= 20))
    ):
        return None
    whisper = voice_step(wait.get("whisper"))
    speech = wait.get("speech") is True
    language = wait.get("language") if isinstance(wait.get("language"), str) else None
    kept = Wait(kind, wait["action"], seconds, speech, language, number, whisper)
    return CallState(sid, kept, at[:40])


class Preview:
    """Plays steps against one sandbox: a call as the fictional CALLER, texts as a texter."""

    def __init__(self, app: Flask, at: str, caller: str = CALLER):
        self.line = app.extensions["ivr.line"]
        self.center: Center = self.line.spec.center
        self.at = at
        moment = parse_at(at, self.center.time_zone)
        self.outbox: list[tuple[str, str]] = []
        environ: dict[str, object] = {OUTBOX: self.outbox}
        if moment is not None:
            environ[PREVIEW_NOW] = moment
        self.twilio = Twilio(app, caller, environ)
        self.moment: datetime = moment or self.twilio.now()
        languages = [self.line.spec.languages[code] for code in LANGS]
        self.speech: dict[str, str] = {lang.speech: lang.name for lang in languages}

    def clock(self) -> str:
        """The moment this step plays at, in the center's words."""
        return moment_words(self.center, self.moment)

    # A call ------------------------------------------------------------------------------

    def call(self, state: CallState | None, move: Move, value: str = "") -> Played:
        """One step: start a call, or answer what the line waits for with a key, words,
        silence, or hang up."""
        if move == "call":
            return self._follow([], self.twilio.call())
        if state is None:
            return Played((Item("note", "Preview", ENDED),), None, self.clock())
        if move == "hangup":
            return Played((Item("you", "You", "Hang up."),), None, self.clock())
        self.twilio.sid = state.sid
        wait = state.wait
        if wait.kind == "gather":
            return self._gather(wait, move, value)
        if wait.kind == "dial":
            return self._staff(wait, value if move == "key" else "")
        return self._record(state, move, value)

    def _gather(self, wait: Wait, move: Move, value: str) -> Played:
        if move == "key":
            return self._follow([self._you(f"Press {value}.")], self.twilio.gather(wait, value))
        if move == "words":
            said = self._you(f"Say: “{value}”.")
            return self._follow([said], self.twilio.gather(wait, words=value))
        return self._follow([self._you("Stay silent.")], self.twilio.gather(wait))

    def _staff(self, wait: Wait, key: str) -> Played:
        you = (
            f"As the staff member, answer and press {key}."
            if key
            else "No one answers the staff phone."
        )
        heard, turn = self.twilio.staff(wait, key)
        items = [self._you(you), *(Item("staff", "Staff phone hears", s.text) for s in heard)]
        if key == "1":
            items.append(Item("note", "Preview", "The caller and the staff member now talk."))
        return self._follow(items, turn)

    def _record(self, state: CallState, move: Move, value: str) -> Played:
        if move == "key" and value != "#":
            only = Item("note", "Preview", f"{value} does nothing here: only # ends a message.")
            return Played((only,), state, self.clock())
        if move == "words":
            words = self._you(f"Say (recorded): “{value}”.")
            return Played((words,), state, self.clock())
        ends = "Press # to end the message." if move == "key" else "Stay silent: the message ends."
        return self._follow([self._you(ends)], self.twilio.record(state.wait))

    def _follow(self, items: list[Item], turn: Turn) -> Played:
        """The transcript of a turn and of the redirects after it, up to what the line waits
        for next."""
        for _ in range(REDIRECTS_MOST):
            items += self._sent()
            items += [self._say(said) for said in turn.said]
            wait = turn.then
            if wait.kind != "redirect":
                return self._wait(items, wait)
            turn = self.twilio.redirect(wait)
        items.append(Item("note", "Preview", "The line redirects in a loop: the menu has a fault."))
        return Played(tuple(items), None, self.clock())

    def _wait(self, items: list[Item], wait: Wait) -> Played:
        state = CallState(self.twilio.sid, wait, self.at)
        if wait.kind == "gather":
            how = f"a key or words in {self._name(wait.language)}" if wait.speech else "a key"
            items.append(Item("wait", "Line", f"Waits {wait.seconds} seconds for {how}."))
        elif wait.kind == "dial":
            whom = self.whom(wait.number or "", texted=False)
            items.append(Item("dial", "Line", f"Rings {whom} for up to {wait.seconds} seconds."))
            if not (wait.action and wait.whisper):  # the fallback's plain dial: the end
                return Played(tuple(items), None, self.clock())
        elif wait.kind == "record":
            text = f"Records a message of up to {wait.seconds} seconds; # ends it."
            items.append(Item("record", "Line", text))
        else:
            ended = (
                "Hangs up." if wait.kind == "hangup" else "Has nothing more to say: the call ends."
            )
            items.append(Item("end", "Line", ended))
            return Played(tuple(items), None, self.clock())
        return Played(tuple(items), state, self.clock())

    # Words -------------------------------------------------------------------------------

    def _say(self, said: Said) -> Item:
        rate = float(said.rate.rstrip("%")) / 100 if said.rate and said.rate[:-1].isdigit() else 1.0
        how = self._name(said.language) + (", slower" if rate < 1 else "")
        return Item("say", f"Line ({how})", said.text, said.language, rate)

    def _name(self, speech: str | None) -> str:
        return self.speech.get(speech or "", speech or "the caller's language")

    @staticmethod
    def _you(text: str) -> Item:
        return Item("you", "You", text)

    def whom(self, number: str, texted: bool = True) -> str:
        """A number the line texts (or rings), as the console may show it: never whole."""
        center = self.center
        named = [
            (self.twilio.caller, "you"),
            (center.alert_number, "the staff phone")
            if texted
            else (center.staff_line, "the staff line"),
            (center.backup_line, "the backup line"),
        ]
        found = [name for known, name in named if known == number]
        return found[0] if found else f"the number ending in {number[-4:]}"

    def _sent(self) -> list[Item]:
        """The texts the last requests would have sent (none is sent), then forgotten."""
        sent = [
            Item("text", "Line", f"Would text {self.whom(to)} (not sent in the preview): {body}")
            for to, body in self.outbox
        ]
        self.outbox.clear()
        return sent

    # A text ------------------------------------------------------------------------------

    def text(self, body: str) -> Played:
        """One text from the texter: the line's replies (or why none), then any staff alert."""
        replies = self.twilio.text(body)
        items = [Item("you", "You", body)]
        items += [Item("reply", "Line", reply) for reply in replies]
        if not replies:
            items.append(Item("note", "Line", f"No reply: {self.twilio.withheld()}."))
        items += self._sent()
        return Played(tuple(items), None, self.clock())


def texter(number: object) -> str:
    """The texter's number the page sent: a fictional one (555-01xx), else CALLER."""
    return number if isinstance(number, str) and FICTIONAL.fullmatch(number) else CALLER


__all__ = ["CallState", "Item", "Played", "Preview", "PreviewError", "call_state", "texter"]
