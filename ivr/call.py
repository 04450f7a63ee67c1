"""The phone line's decisions: the menu, where the caller is and what they did -> a Reply.

Pure functions: no Flask, no database, no network. Steps that need the outside
world (sending a text, saving a call-back or a voicemail) return an Effect; the
web layer performs it and asks `after_*` what to say about the outcome.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Concatenate, Literal, ParamSpec

from . import prompts, schedule, understand
from .menus import Line
from .reply import Dial, Event, Gather, Hangup, Record, Redirect, Reply, Say, Verb, Where
from .understand import Heard

MAX_TRIES = 2  # failed tries on one menu before a person takes over (rule 9)
MAX_NET_TRIES = 5  # silent re-readings of the safety net in a row before a last goodbye
# A caller gone this soon after being put through most likely changed their mind or pressed 0
# by mistake: no missed-call entry. One who waited longer for a person is called back.
HUNG_UP_AT_ONCE = timedelta(seconds=8)
ANSWERED = {"completed", "answered"}
P = ParamSpec("P")
BUILT_MOST = 4096  # menu replies kept per loaded menu; the shipped menu has a few hundred


EffectKind = Literal["text", "callback"]


@dataclass(frozen=True)
class Effect:
    """Something only the outside world can do: text the topic, or store a call-back."""

    kind: EffectKind
    where: Where


def _text(line: Line, name: str, where: Where, **fields: str) -> Say:
    return Say(prompts.say(line, name, where.lang, **fields))


def kept(build: Callable[Concatenate[Line, P], Reply]) -> Callable[Concatenate[Line, P], Reply]:
    """A step whose reply depends on the menu and its arguments alone (a menu read, a
    summary): built the first time, then kept with the loaded menu (`Line.built`)."""

    def step(line: Line, /, *args: P.args, **kwargs: P.kwargs) -> Reply:
        key = (build.__name__, args, tuple(sorted(kwargs.items())))
        reply: Reply | None = line.built.get(key)
        if reply is None:
            reply = build(line, *args, **kwargs)
            if len(line.built) < BUILT_MOST:
                line.built[key] = reply
        return reply

    step.__doc__ = build.__doc__
    return step


# Menus ------------------------------------------------------------------------


@kept
def menu(
    line: Line,
    where: Where,
    lead: tuple[Say, ...] = (),
    slow: bool = False,
    greet: bool = False,
    event: Event | None = None,
    tail: tuple[Say, ...] = (),
) -> Reply:
    """Read a menu inside a Gather, after any lead-in (greeting, 'sorry', 'sent')."""
    says = list(lead)
    if greet:
        other = prompts.OTHER[where.lang]
        says.append(Say(prompts.say(line, "greeting", where.lang), slow))
        says.append(Say(prompts.language_offer(line, where.lang), slow, lang=other))
    says.append(Say(prompts.options_prompt(line, where.menu, where.lang), slow))
    says += tail
    hints = understand.hints(line, where.lang, where.menu)
    events = (event or ("menu", "", where.menu),)
    gather = Gather(tuple(says), "menu", where.to(topic=""), hints)
    return Reply(where.lang, (gather, Redirect("menu", where.to(topic=""))), events)


def answer(line: Line) -> Reply:
    """A new call: the greeting with the emergency sentence, the other language, the main menu."""
    reply = menu(line, Where(), greet=True)
    return Reply(reply.lang, reply.verbs, (("call-started", "", ""), *reply.events))


def at_menu(line: Line, where: Where, heard: Heard, now: datetime) -> Reply | Effect:
    """The caller pressed or said something (or nothing) at a menu."""
    said = understand.intent(line, where.lang, where.menu, heard)
    again = where.to(tries=0)
    options = line.spec.menus[where.menu].options
    if said.kind == "crisis":
        return crisis(line, again, now, said.value)
    if said.kind == "counselor":
        return transfer(line, where, now, "asked")
    if said.kind == "back":
        return menu(line, again.to(menu=line.parent(where.menu) or "main"))
    if said.kind == "repeat":
        return menu(line, again, tail=(_slower_offer(line, where),))
    if said.kind == "slower":
        return menu(line, again, slow=True)
    if said.kind == "language":
        event = ("language", "", said.value)
        return menu(line, again.to(lang=said.value), greet=True, event=event)
    if said.kind == "digit" and 1 <= int(said.value) <= len(options):
        return _choose(line, where, int(said.value), now)
    if said.kind == "topic":
        return summary(line, again.to(topic=said.value, menu=_home(line, said.value, where.menu)))
    if said.kind == "callback":
        return Effect("callback", again)
    if said.kind == "record":
        return record(line, again)
    return _missed(line, where, heard, now, lambda lead, w: menu(line, w, lead))


def _slower_offer(line: Line, where: Where) -> Say:
    return _text(
        line, "slower_offer", where, slower=prompts.key_name(line.spec.keys.slower, where.lang)
    )


def _choose(line: Line, where: Where, number: int, now: datetime) -> Reply | Effect:
    option = line.spec.menus[where.menu].options[number - 1]
    if option.topic:
        return summary(line, where.to(topic=option.topic, tries=0))
    if option.menu:
        return menu(line, where.to(menu=option.menu, tries=0))
    if option.action == "callback":
        return Effect("callback", where.to(tries=0))
    if option.action == "voicemail":
        return record(line, where.to(tries=0))
    return transfer(line, where, now, "option")


def _home(line: Line, topic: str, fallback: str) -> str:
    for menu_id, m in line.spec.menus.items():
        if any(o.topic == topic for o in m.options):
            return menu_id
    return fallback


def _missed(
    line: Line,
    where: Where,
    heard: Heard,
    now: datetime,
    again: Callable[[tuple[Say, ...], Where], Reply],
) -> Reply:
    """Silence or a wrong key: say so kindly and read again; the second time, a person."""
    kind = "no-input" if heard.empty else "invalid"
    if where.tries + 1 >= MAX_TRIES:
        reply = transfer(line, where, now, "tries")
        return Reply(reply.lang, reply.verbs, ((kind, where.topic, where.menu), *reply.events))
    lead = (_text(line, "silence" if heard.empty else "invalid", where),)
    reply = again(lead, where.to(tries=where.tries + 1))
    return Reply(reply.lang, reply.verbs, ((kind, where.topic, where.menu),))


# Summaries --------------------------------------------------------------------


@kept
def summary(
    line: Line, where: Where, lead: tuple[Say, ...] = (), slow: bool = False, read: bool = True
) -> Reply:
    """Read a topic's summary, then offer: again, by text, a counselor, back."""
    says = list(lead)
    if read:
        says.append(Say(line.content[where.topic].spoken[where.lang], slow))
    says.append(Say(prompts.summary_prompt(line, where.lang), slow))
    hints = understand.hints(line, where.lang, None)
    gather = Gather(tuple(says), "summary", where, hints)
    events = (("topic-heard", where.topic, ""),) if read else ()
    return Reply(where.lang, (gather, Redirect("summary", where)), events)


def at_summary(line: Line, where: Where, heard: Heard, now: datetime) -> Reply | Effect:
    """The caller pressed or said something (or nothing) after a summary."""
    said = understand.intent(line, where.lang, None, heard)
    again = where.to(tries=0)
    if said.kind == "crisis":
        return crisis(line, again, now, said.value)
    if said.kind == "counselor":
        return transfer(line, where, now, "asked")
    if said.kind == "repeat" or (said.kind == "digit" and said.value == "1"):
        return summary(line, again)
    if said.kind == "slower":
        return summary(line, again, slow=True)
    if said.kind == "text" or (said.kind == "digit" and said.value == "2"):
        return Effect("text", again)
    if said.kind == "back":
        return menu(line, again.to(topic=""))
    if said.kind == "language":
        return summary(line, again.to(lang=said.value))
    if said.kind == "topic":
        return summary(line, again.to(topic=said.value, menu=_home(line, said.value, where.menu)))
    if said.kind == "callback":  # said, as at a menu: no key for it here
        return Effect("callback", again)
    if said.kind == "record":
        return record(line, again)
    return _missed(line, where, heard, now, lambda lead, w: summary(line, w, lead, read=False))


def after_text(line: Line, where: Where, outcome: str) -> Reply:
    """Tell the caller whether the text went out (sent, opted-out, failed), then offer again."""
    name = {"sent": "texted", "opted-out": "text_opted_out"}.get(outcome, "text_failed")
    reply = summary(line, where, lead=(_text(line, name, where),), read=False)
    return Reply(reply.lang, reply.verbs, (("topic-texted", where.topic, outcome),))


# A person, or the safety net ----------------------------------------------------


def crisis(line: Line, where: Where, now: datetime, kind: str) -> Reply:
    """Words of an overdose or suicide, said anywhere: 911 and 988 first, then a person.

    In opening hours the staff line rings (its whisper says it is a crisis); when closed,
    the safety net follows, which says 911 and 988 again and takes a message.
    """
    first = _text(line, "safety", where)
    reply = transfer(line, where, now, "crisis")
    return Reply(reply.lang, (first, *reply.verbs), (("crisis", where.topic, kind), *reply.events))


def transfer(line: Line, where: Where, now: datetime, why: str) -> Reply:
    """Put the caller through in opening hours; otherwise the after-hours safety net."""
    center = line.spec.center
    if not schedule.is_open(center, now):
        return safety_net(line, where.to(why=why, tries=0), now, "after-hours")
    dialing = where.to(why=why, tries=0, leg=0)
    verbs = (_text(line, "connecting", where), Dial(center.staff_line, dialing))
    return Reply(where.lang, verbs, (("transfer", where.topic, why),))


def dialed(line: Line, where: Where, status: str, accepted: bool, now: datetime) -> Reply:
    """The staff leg ended: goodbye after a real conversation, else the backup line or the net."""
    if status in ANSWERED and accepted:
        verbs: tuple[Verb, ...] = (_text(line, "goodbye", where), Hangup())
        return Reply(where.lang, verbs, (("transfer-outcome", where.topic, "answered"),))
    outcome = "not-accepted" if status in ANSWERED else status or "unknown"
    backup = line.spec.center.backup_line
    if where.leg == 0 and backup and schedule.is_open(line.spec.center, now):
        verbs = (_text(line, "connecting", where), Dial(backup, where.to(leg=1)))
        return Reply(where.lang, verbs, (("transfer-outcome", where.topic, outcome),))
    reply = safety_net(line, where.to(tries=0), now, "no-answer")
    return Reply(reply.lang, reply.verbs, (("transfer-outcome", where.topic, outcome),))


def missed(reply: Reply, put_through: datetime | None, now: datetime, gone: bool) -> bool:
    """True when a transfer's last leg ended with no one answering (`reply`, what `dialed`
    said, rings no one else) and the caller waited for a person: a missed call to return.

    Not when the caller was `gone` (hung up while it rang) within HUNG_UP_AT_ONCE of being
    `put_through`; when that moment is unknown, the entry is kept (the side to err on).
    """
    outcomes = [detail for kind, _, detail in reply.events if kind == "transfer-outcome"]
    if not outcomes or outcomes[-1] == "answered":
        return False
    if any(isinstance(verb, Dial) for verb in reply.verbs):
        return False  # the backup line rings now

    return not (gone and put_through is not None and now - put_through < HUNG_UP_AT_ONCE)


def safety_net(
    line: Line,
    where: Where,
    now: datetime,
    reason: str,
    lead: tuple[Say, ...] = (),
    slow: bool = False,
) -> Reply:
    """No one can answer: say so, give 911 and 988 (and more lines after hours), offer a message."""
    says = list(lead)
    if reason == "after-hours":
        opening = schedule.opening(line.spec.center, now, where.lang)
        says.append(_text(line, "after_hours", where, opening=opening))
    else:
        says.append(_text(line, "no_answer", where))
    says.append(_text(line, "safety", where))
    if reason == "after-hours":
        says.append(_text(line, "more_lines", where))
    says.append(
        _text(
            line, "message_offer", where, repeat=prompts.key_name(line.spec.keys.repeat, where.lang)
        )
    )
    net = where.to(why=reason)
    says = [Say(s.text, slow) for s in says] if slow else says
    gather = Gather(tuple(says), "message", net, understand.hints(line, where.lang, None))
    return Reply(where.lang, (gather, Redirect("message", net)), ((reason, where.topic, ""),))


def at_message(line: Line, where: Where, heard: Heard, now: datetime) -> Reply | Effect:
    """At the safety net: 1 leave a message, 2 a call back, 0 try a person, repeat, back."""
    said = understand.intent(line, where.lang, None, heard)
    again = where.to(tries=0)
    reason = where.why if where.why in ("after-hours", "no-answer") else "no-answer"
    if said.kind == "crisis":
        return crisis(line, again, now, said.value)
    if said.kind == "record" or (said.kind == "digit" and said.value == "1"):
        return record(line, again)
    if said.kind == "callback" or (said.kind == "digit" and said.value == "2"):
        return Effect("callback", again)
    if said.kind == "counselor":
        return transfer(line, again, now, "asked")
    if said.kind == "back":
        return menu(line, again.to(topic="", why=""))
    if said.kind in ("repeat", "slower"):
        return safety_net(line, again, now, reason, slow=said.kind == "slower")
    if said.kind == "language":
        return safety_net(line, again.to(lang=said.value), now, reason)
    kind = "no-input" if heard.empty else "invalid"
    if heard.empty and where.tries + 1 >= MAX_NET_TRIES:
        # Minutes of silence after 911 and 988 were said again and again: a last goodbye.
        verbs = (_text(line, "safety", where), _text(line, "goodbye", where), Hangup())
        return Reply(where.lang, verbs, ((kind, where.topic, "net-ended"),))
    # A key, even a wrong one, says someone is there: a call never ends for input errors
    # (ACCESSIBILITY.md 9), so only silence in a row counts toward the goodbye.
    tries = where.tries + 1 if heard.empty else 0
    lead = (_text(line, "silence" if heard.empty else "invalid", where),)
    reply = safety_net(line, where.to(tries=tries), now, reason, lead)
    return Reply(reply.lang, reply.verbs, ((kind, where.topic, "net"),))


def record(line: Line, where: Where) -> Reply:
    """Ask for a message and record it; # ends it."""
    verbs = (_text(line, "record_prompt", where), Record(where), Redirect("message", where))
    return Reply(where.lang, verbs, ())


def after_voicemail(line: Line, where: Where, now: datetime, saved: bool) -> Reply:
    """Thank the caller and say when staff will call back (or, with no recording, offer again:
    the safety net's offer, or the menu or summary the message was asked for at, where no
    one was rung and "no one could answer" would not be true)."""
    if not saved:
        lead = (_text(line, "silence", where),)
        if where.why:
            reply = safety_net(line, where, now, where.why, lead=lead)
        elif where.topic:
            reply = summary(line, where, lead, read=False)
        else:
            reply = menu(line, where, lead)
        return Reply(reply.lang, reply.verbs, (("voicemail", where.topic, "empty"),))
    when = schedule.callback_when(line.spec.center, now, where.lang)
    verbs = (
        _text(line, "message_saved", where, when=when),
        _text(line, "safety", where),
        _text(line, "goodbye", where),
        Hangup(),
    )
    return Reply(where.lang, verbs, (("voicemail", where.topic, ""),))


def after_callback(line: Line, where: Where, now: datetime, saved: bool) -> Reply:
    """Confirm the call-back; or, when it could not be saved (the database is down), say so
    and take a message instead: a recording is kept by Twilio, and staff are told of it
    without the database (voice.recorded)."""
    if not saved:
        taken = record(line, where)
        verbs = (_text(line, "storage_down", where), _text(line, "safety", where), *taken.verbs)
        return Reply(where.lang, verbs, (("callback", where.topic, "failed"),))
    when = schedule.callback_when(line.spec.center, now, where.lang)
    first = _text(line, "callback_saved", where, when=when)
    verbs = (first, _text(line, "safety", where), _text(line, "goodbye", where), Hangup())
    return Reply(where.lang, verbs, (("callback", where.topic, "saved"),))


def fallback(line: Line, now: datetime) -> Reply:
    """When the line itself is failing: sorry, 911 and 988 in both languages, staff in hours."""
    en, es = Where(), Where(lang="es")
    spanish = [Say(_text(line, name, es).text, lang="es") for name in ("problem", "safety")]
    verbs: list[Verb] = [_text(line, "problem", en), _text(line, "safety", en), *spanish]
    if schedule.is_open(line.spec.center, now):
        staff = line.spec.center.staff_line
        verbs += [
            _text(line, "connecting", en),
            Dial(staff, en, plain=True),
            _text(line, "safety", en),
        ]
    else:
        verbs.append(_text(line, "more_lines", en))
    verbs += [_text(line, "goodbye", en), Hangup()]
    return Reply("en", tuple(verbs), (("fallback", "", ""),))


# The staff side ------------------------------------------------------------------


def whisper(line: Line, where: Where) -> Reply:
    """What the staff member hears before the caller is joined; only 1 accepts."""
    language = line.spec.languages[where.lang].name
    if where.topic:
        context = f"after the {line.spec.topics[where.topic].title.en.lower()} summary"
    elif where.menu == "main":
        context = "from the main menu"
    else:
        context = f"from the {where.menu} menu"
    if where.why == "tries":
        context += ", after two tries with no choice"
    if where.why == "crisis":
        context = f"CRISIS: the caller spoke of an overdose or suicide, {context}"
    text = line.spec.staff.whisper.format(language=language, context=context)
    gather = Gather((Say(text),), "accept", where, speech=False)
    return Reply("en", (gather, Hangup()), ())


def accept(heard: Heard) -> Reply:
    """The staff member pressed a key during the whisper: 1 joins the caller, else let it go."""
    if heard.key == "1":
        return Reply("en", (), (("transfer-accepted", "", ""),))
    return Reply("en", (Hangup(),), ())
