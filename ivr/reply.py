"""The reply value of a call step: what the line does next, and where the caller is.

Pure values for the call core; `twiml.py` (the web layer) renders them as TwiML.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Literal, TypedDict, Unpack
from urllib.parse import urlencode

from .menus import Line

WHY = re.compile(r"[a-z][a-z-]{0,15}")

# The call's steps after the first: each is the webhook /voice/<step> (see voice.py).
Step = Literal["menu", "summary", "message", "recorded", "dialed", "whisper", "accept"]


@dataclass(frozen=True)
class Where:
    """Where a caller is in the line; it travels in the query string of each next step."""

    lang: str = "en"
    menu: str = "main"
    topic: str = ""
    tries: int = 0
    why: str = ""  # why a transfer happened: asked | tries | option
    leg: int = 0  # 0 the staff line, 1 the backup line

    def query(self) -> str:
        """The URL query that carries this place to the next step."""
        fields = {
            "l": self.lang,
            "m": self.menu,
            "t": self.topic,
            "n": self.tries,
            "w": self.why,
            "g": self.leg,
        }
        return urlencode({k: v for k, v in fields.items() if v not in ("", 0)})

    @classmethod
    def parse(cls, args: Mapping[str, str], line: Line) -> Where:
        """Read a place from a query; anything unknown falls back to the main menu in English."""
        lang = args.get("l", "en")
        menu = args.get("m", "main")
        topic = args.get("t", "")
        return cls(
            lang=lang if lang in ("en", "es") else "en",
            menu=menu if menu in line.spec.menus else "main",
            topic=topic if topic in line.spec.topics else "",
            tries=_small(args.get("n")),
            why=args.get("w", "") if WHY.fullmatch(args.get("w", "")) else "",
            leg=1 if args.get("g") == "1" else 0,
        )

    def to(self, **changes: Unpack[Changes]) -> Where:
        """This place with some fields changed."""
        return replace(self, **changes)


class Changes(TypedDict, total=False):
    """The fields of a Where that `Where.to` may change."""

    lang: str
    menu: str
    topic: str
    tries: int
    why: str
    leg: int


def _small(value: str | None) -> int:
    return min(int(value), 9) if value and value.isdigit() and len(value) < 3 else 0


@dataclass(frozen=True)
class Say:
    text: str
    slow: bool = False
    lang: str = ""  # another language than the reply's, said with that language's voice


@dataclass(frozen=True)
class Gather:
    """Listen for one key or speech while saying `says`; the answer goes to `step`."""

    says: tuple[Say, ...]
    step: Step
    where: Where
    hints: tuple[str, ...] = ()
    speech: bool = True  # staff whispers listen for keys only


@dataclass(frozen=True)
class Dial:
    """Ring `number`; the staff member first hears the whisper for `where`."""

    number: str
    where: Where
    plain: bool = False  # no whisper and no action: for the fallback, which trusts nothing


@dataclass(frozen=True)
class Record:
    where: Where


@dataclass(frozen=True)
class Redirect:
    step: Step
    where: Where


@dataclass(frozen=True)
class Hangup:
    pass


Verb = Say | Gather | Dial | Record | Redirect | Hangup
Event = tuple[str, str, str]  # (kind, topic, detail)


@dataclass(frozen=True)
class Reply:
    """What the line does next, in order, and the events worth recording."""

    lang: str
    verbs: tuple[Verb, ...]
    events: tuple[Event, ...] = field(default=())
