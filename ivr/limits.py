"""How much the text line answers one number: limits for machines, not people.

Pure: the web layer counts what was sent lately and applies `limit` to the reply.
A person texting fast gets answers, then one "please wait" notice with 911 and
988; a crisis message is always answered; an auto-responder repeating the same
words is cut off in silence, so two machines cannot keep each other talking.
"""

from __future__ import annotations

from dataclasses import dataclass

from .menus import Line
from .texting import outgoing
from .textline import ReplyKind, TextReply

UNLIMITED: frozenset[ReplyKind] = frozenset(
    {"crisis", "opt-out", "opt-in"}
)  # safety and the law come first


@dataclass(frozen=True)
class Limits:
    """The settings: replies a minute to one number, and answers to the same words."""

    per_minute: int = 20
    repeats: int = 3
    crisis_repeats: int = 10  # the same crisis words: a person has had 911 and 988 ten times


@dataclass(frozen=True)
class Recent:
    """What the line sent one number lately."""

    replies: int = 0  # replies in the last minute, notices included
    notices: int = 0  # "please wait" notices in the last minute
    repeats: int = 0  # replies to these same words in the repeat window


def limit(line: Line, decision: TextReply, recent: Recent, limits: Limits) -> TextReply:
    """The reply to send once the limits are applied: the decision, a wait notice, or silence."""
    if decision.kind == "crisis" and recent.repeats >= limits.crisis_repeats:
        # Only a machine sends the same crisis words this often: an echo must not loop forever.
        return TextReply(None, decision.lang, "repeated", decision.topic, decision.crisis)
    if not decision.body or decision.kind in UNLIMITED:
        return decision
    if recent.repeats >= limits.repeats:
        # No notice: a notice to an auto-responder is one more message to repeat.
        return TextReply(None, decision.lang, "repeated", decision.topic)
    if recent.replies < limits.per_minute:
        return decision
    if recent.notices == 0:
        body = outgoing(line.spec.messages.sms_wait[decision.lang])
        return TextReply(body, decision.lang, "wait", decision.topic)
    return TextReply(None, decision.lang, "rate-limited", decision.topic)
