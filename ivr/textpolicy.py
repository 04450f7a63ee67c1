"""What the text line does with one message: the whole policy, as values.

Pure: given a message and what the line knew of its sender (`Known`), `decide` returns
a `Turn`: the reply after the limits, what must be kept with it (an opt-out, an opt-in,
a call-back request) and the staff alert it owes. The web layer (sms.py) only reads,
writes once and sends. When keeping fails, `unkept` says what to answer instead, and
`alert_anyway` which alert still goes out. Tested as tables in tests/test_textpolicy.py.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Literal

from . import schedule, textline
from .limits import Limits, Recent, limit
from .menus import Line
from .texting import outgoing
from .textline import TextReply

Keep = Literal["opt-out", "opt-in", "callback", "crisis", "crisis-opt-out"]


@dataclass(frozen=True)
class Known:
    """What the line knew of the sender when the text arrived."""

    opted_out: bool = False
    last_language: str | None = None
    recent: Recent = field(default_factory=Recent)


@dataclass(frozen=True)
class Turn:
    """One text's outcome: the reply, what to keep with it, and the staff alert it owes."""

    reply: TextReply
    keep: Keep | None = None
    alert: str | None = None

    @property
    def detail(self) -> str:
        """The event's detail: whether the line answered (what the limits count)."""
        return "reply" if self.reply.body else "silent"


def decide(
    line: Line, body: str, known: Known, limits: Limits, now: datetime, opt_out_type: str = ""
) -> Turn:
    """The reply to a text, with the limits applied, what to keep and whom to alert."""
    decision = textline.reply_to(
        line, body, known.opted_out, opt_out_type, now, last_lang=known.last_language
    )
    decision = limit(line, decision, known.recent, limits)
    keep: Keep | None = None
    if decision.kind in ("opt-out", "opt-in"):
        keep = "opt-out" if decision.kind == "opt-out" else "opt-in"
    elif decision.kind == "callback" and decision.body:
        keep = "callback"
    elif decision.kind == "crisis" and decision.body:
        # a person for staff to follow up, once for the same words; and an opt-out asked for
        first = known.recent.repeats == 0
        if decision.opts_out:
            keep = "crisis-opt-out" if first else "opt-out"
        elif first:
            keep = "crisis"
    return Turn(decision, keep, _alert(line, decision, known.recent, now))


def _alert(line: Line, decision: TextReply, recent: Recent, now: datetime) -> str | None:
    """The staff alert a reply calls for: a call-back; a crisis in opening hours, once for
    the same words from the same number. None when no on-call phone is set."""
    spec = line.spec
    if not spec.center.alert_number:
        return None
    if decision.kind == "callback" and decision.body:
        return spec.staff.alert_callback
    first_time = recent.repeats == 0
    if decision.kind == "crisis" and first_time and schedule.is_open(spec.center, now):
        language = spec.languages[decision.lang].name
        return spec.staff.alert_crisis.format(kind=decision.crisis, language=language)
    return None


def unkept(line: Line, turn: Turn) -> TextReply:
    """The reply when what the turn had to keep could not be kept: say so plainly.

    Never "you can get texts again" while the opt-out stands, never "we will call you"
    when the request is not stored; a reply that keeps nothing is unchanged.
    """
    reply = turn.reply
    if reply.kind == "crisis":
        # the safety reply never waits for the database; an opt-out it could not keep is
        # not confirmed
        return replace(reply, followup=None, opts_out=False) if reply.opts_out else reply
    if turn.keep == "opt-out":
        name = "sms_optout_failed"
    elif turn.keep is not None and reply.body:
        name = "sms_storage_down"
    else:
        return reply
    body = outgoing(getattr(line.spec.messages, name)[reply.lang])
    return TextReply(body, reply.lang, "not-stored", reply.topic)


def alert_anyway(turn: Turn) -> str | None:
    """The alert that goes out even when nothing could be kept: safety does not wait for
    the database (a crisis); a call-back that was not stored is not announced."""
    return turn.alert if turn.reply.kind == "crisis" else None
