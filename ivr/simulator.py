"""Try the line without a phone: a call or a text in the terminal, through the real webhooks.

Twilio's part (signed requests, the TwiML read back) is ivr.driver's, shared with the
console's preview; this module is the terminal's: it prints each turn and asks for keys.
"""

from __future__ import annotations

from collections.abc import Callable

from flask import Flask

from .driver import CALLER, WITHHELD, Said, SimulatorError, Turn, Twilio, moment_words
from .oncall import effective_center
from .outbound import PrintingMessenger
from .schema import Center
from .store import StoreError

__all__ = ["CALLER", "WITHHELD", "Simulator", "SimulatorError"]
Ask = Callable[[str], str]


def spoken(said: Said) -> str:
    """A <Say> as the terminal prints it: its words, marked when read slowly."""
    return f"{'(slowly) ' if said.rate else ''}{said.text}"


class Simulator:
    """Plays a whole call or a text in the terminal: prints what the line says, asks for keys.

    Without Twilio credentials, texts and staff alerts are shown on the console, not sent.
    """

    def __init__(self, app: Flask, ask: Ask, say: Callable[[str], None], caller: str = CALLER):
        self.twilio = Twilio(app, caller)
        self.settings = self.twilio.settings
        self.store = self.twilio.store
        try:  # as the staff console set it (on-call phone, closed or open now)
            self.center: Center = effective_center(
                app.extensions["ivr.line"], self.store.line_state()
            )
        except StoreError:
            self.center = self.twilio.center  # menus.yaml's
        self.ask, self.say = ask, say
        self.caller = caller
        if not (self.settings.TWILIO_ACCOUNT_SID and self.settings.TWILIO_AUTH_TOKEN):
            app.extensions["ivr.messenger"] = PrintingMessenger(say, self.center.alert_number)

    def clock(self) -> str:
        """The line's moment in the center's time zone, and whether staff answer then."""
        return f"[{moment_words(self.center, self.twilio.now())}]"

    def call(self) -> None:
        """A whole call: speak each <Say>, ask at each <Gather>, play out <Dial> and <Record>."""
        turn: Turn | None = self.twilio.call()
        while turn is not None:
            turn = self._play(turn)
        self.say("[call ended]")

    def _play(self, turn: Turn) -> Turn | None:
        for said in turn.said:
            self.say(spoken(said))
        wait = turn.then
        if wait.kind == "gather":
            heard = self.ask("press a key, type words, or Enter for silence > ").strip()
            if len(heard) == 1:
                return self.twilio.gather(wait, digits=heard)
            return self.twilio.gather(wait, words=heard)
        if wait.kind == "dial":
            return self._dial(turn)
        if wait.kind == "record":
            self.ask("[recording: say your message, then press Enter] > ")
            return self.twilio.record(wait)
        if wait.kind == "redirect":
            return self.twilio.redirect(wait)
        return None  # hangup, or no more verbs

    def _dial(self, turn: Turn) -> Turn | None:
        wait = turn.then
        self.say(f"[ringing {wait.number}]")
        if not wait.whisper or not wait.action:
            return None  # a plain dial (the fallback's): nothing comes back to the line
        answer = self.ask("[staff phone] 1 = take the call, Enter = no answer > ").strip()
        heard, after = self.twilio.staff(wait, answer)
        for said in heard:
            self.say(f"[staff hears] {said.text}")
        if answer == "1":
            self.say("[you are talking with a counselor]")
        return after

    def text(self, body: str) -> str | None:
        """One incoming text; returns the reply (a follow-up on its own line), or None."""
        messages = self.twilio.text(body)
        return "\n".join(messages) if messages else None

    def withheld(self) -> str:
        """Why the last text got no reply, read from the event the line stored for this number."""
        return self.twilio.withheld()
