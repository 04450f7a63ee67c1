"""The rendering of a call step's reply value as TwiML, with the twilio package."""

from __future__ import annotations

from flask import url_for
from twilio.twiml import TwiML
from twilio.twiml.voice_response import VoiceResponse

from .menus import Line
from .reply import Dial, Gather, Hangup, Record, Redirect, Reply, Say, Step, Where
from .schema import Language

GATHER_SECONDS = 10  # at least 8 (ACCESSIBILITY.md rule 8): relay users and older callers
DIAL_SECONDS = 20
RECORD_SECONDS = 120
SLOW_RATE = "85%"


def url(step: Step, where: Where) -> str:
    """The relative URL of a step (Twilio resolves it against the current request).

    The path comes from the step's route, so it needs an app or request context.
    """
    query = where.query()
    return url_for(f"voice.{step}") + (f"?{query}" if query else "")


def render(reply: Reply, line: Line) -> str:
    """TwiML for a reply: every verb and attribute Twilio allows, nested as it allows."""
    response = VoiceResponse()
    language = line.spec.languages[reply.lang]
    for verb in reply.verbs:
        if isinstance(verb, Say):
            _say(response, verb, language, line)
        elif isinstance(verb, Gather):
            gather = response.gather(
                input="dtmf speech" if verb.speech else "dtmf",
                action=url(verb.step, verb.where),
                method="POST",
                timeout=GATHER_SECONDS,
                num_digits=1,
                speech_timeout="auto" if verb.speech else None,
                language=language.speech if verb.speech else None,
                hints=", ".join(verb.hints) or None,
                action_on_empty_result=True,
            )
            for say in verb.says:
                _say(gather, say, language, line)
        elif isinstance(verb, Dial):
            if verb.plain:
                response.dial(verb.number, timeout=DIAL_SECONDS)
                continue
            dial = response.dial(
                action=url("dialed", verb.where), method="POST", timeout=DIAL_SECONDS
            )
            dial.number(verb.number, url=url("whisper", verb.where), method="POST")
        elif isinstance(verb, Record):
            response.record(
                action=url("recorded", verb.where),
                method="POST",
                max_length=RECORD_SECONDS,
                finish_on_key="#",
                play_beep=True,
                timeout=10,
            )
        elif isinstance(verb, Redirect):
            response.redirect(url(verb.step, verb.where), method="POST")
        elif isinstance(verb, Hangup):
            response.hangup()
    return str(response)


def _say(parent: TwiML, say: Say, language: Language, line: Line) -> None:
    if say.lang:
        language = line.spec.languages[say.lang]
    if say.slow:
        parent.say(voice=language.voice, language=language.speech).prosody(say.text, rate=SLOW_RATE)
    else:
        parent.say(say.text, voice=language.voice, language=language.speech)
