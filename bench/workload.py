"""What the load is made of: the endpoints, their distinct signed requests, and a first check.

Every request is a new call or text: its own CallSid or MessageSid and its own caller
number, signed with X-Twilio-Signature exactly as Twilio signs (HMAC-SHA1 of the URL the
app sees, then each form field's name and value in name order, base64).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import urllib.error
import urllib.request
import xml.etree.ElementTree as ET
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

import yaml
from servers import BenchError, Server
from twilio.request_validator import RequestValidator

ACCOUNT = "AC" + "0" * 32
LINE_NUMBER = "+12032450412"  # the number called or texted; never dialled
SPOKEN_WORD = "methadone"  # a topic keyword, said at the main menu
SMS_KEYWORD = "DETOX"
STOP_WORD = "STOP"
REPEAT_KEY = "1"  # after a summary: hear it again
MAX_SERIAL = 8_000_000  # distinct caller numbers +1203 200 0000 ... +1203 999 9999


@dataclass(frozen=True)
class Endpoint:
    """One kind of webhook request: where it goes and the form fields that make it that kind."""

    name: str
    channel: str  # voice | sms
    path: str  # with the query Twilio would use, as the app's own TwiML names it
    fields: Mapping[str, str] = field(default_factory=dict)
    large: bool = False  # also measured on the large menu


@dataclass(frozen=True)
class MenuFacts:
    """What the menu file says each endpoint must answer, read from the YAML itself."""

    greeting: str
    problem: str
    sms_fallback: str
    stopped: str
    submenus: Mapping[str, str]  # each main-menu key that opens a submenu: its first option
    topic_key: str  # a main-menu key that reads a summary ("" if none does)
    topic_summary: str
    spoken_summary: str  # the summary of the topic SPOKEN_WORD names
    keyword_text: str  # the text of the topic SMS_KEYWORD names

    @classmethod
    def read(cls, menus: Path) -> MenuFacts:
        """Read the facts from a menus.yaml and the content/ folder beside it."""
        try:
            return cls._read(read(menus), menus.parent / "content")
        except (KeyError, TypeError, StopIteration, OSError) as exc:
            raise BenchError(f"{menus} is not shaped as the benchmark expects: {exc!r}") from exc

    @classmethod
    def _read(cls, spec: dict[str, Any], content: Path) -> MenuFacts:
        messages = spec["messages"]
        options = list(enumerate(spec["menus"]["main"]["options"], 1))
        menus = spec["menus"]
        submenus = {
            str(n): menus[o["menu"]]["options"][0]["label"]["en"]
            for n, o in options
            if o.get("menu")
        }
        topic_key, topic_id = next(
            ((n, o["topic"]) for n, o in options if o.get("topic")), ("", "")
        )

        def topic(word: str) -> dict[str, Any]:
            found = next(
                t for t, v in spec["topics"].items() if word.upper() in v["keywords"]["en"]
            )
            return read(content / f"{found}.yaml")

        return cls(
            greeting=messages["greeting"]["en"],
            problem=messages["problem"]["en"],
            sms_fallback=messages["sms_fallback"]["en"],
            stopped=messages["sms_stopped"]["en"],
            submenus=submenus,
            topic_key=str(topic_key),
            topic_summary=read(content / f"{topic_id}.yaml")["spoken"]["en"] if topic_id else "",
            spoken_summary=topic(SPOKEN_WORD)["spoken"]["en"],
            keyword_text=topic(SMS_KEYWORD)["text"]["en"],
        )

    @property
    def menu_key(self) -> str:
        """A main-menu key that opens a submenu."""
        if not self.submenus:
            raise BenchError("no option of the main menu opens a submenu: nothing for 'menu key'")
        return next(iter(self.submenus))

    def expected(self, endpoint: Endpoint) -> str:
        """A sentence the endpoint's answer must say or text."""
        if endpoint.name == "menu key":
            return first_sentence(self.submenus.get(endpoint.fields["Digits"], "(no submenu)"))
        return first_sentence(
            {
                "greeting": self.greeting,
                "spoken choice": self.spoken_summary,
                "summary": self.topic_summary,
                "SMS keyword": self.keyword_text,
                "STOP": self.stopped,
            }[endpoint.name]
        )

    def fail_safe(self, channel: str) -> str:
        """The first words of the app's answer when its safety net caught a fault."""
        return first_sentence(self.problem if channel == "voice" else self.sms_fallback)


def read(path: Path) -> dict[str, Any]:
    """A YAML mapping from a file."""
    data: dict[str, Any] = yaml.safe_load(path.read_text(encoding="utf-8"))
    return data


def first_sentence(text: str) -> str:
    """The text's first sentence, spaces collapsed."""
    flat = " ".join(text.split())
    return re.split(r"(?<=[.!?])\s", flat, maxsplit=1)[0]


# Signing and request files -----------------------------------------------------


def signature(token: str, url: str, form: Mapping[str, str]) -> str:
    """X-Twilio-Signature for a form POST to `url` (twilio's RequestValidator, made faster)."""
    data = url + "".join(name + form[name] for name in sorted(form))
    digest = hmac.new(token.encode(), data.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


def number(serial: int) -> str:
    """A distinct caller number for each serial."""
    if not 0 <= serial < MAX_SERIAL:
        raise BenchError(f"only {MAX_SERIAL} distinct caller numbers; asked for #{serial}")
    return f"+1203{200 + serial // 10_000:03d}{serial % 10_000:04d}"


def form(endpoint: Endpoint, serial: int) -> dict[str, str]:
    """The form Twilio posts for this endpoint, as call or text number `serial`."""
    caller = number(serial)
    if endpoint.channel == "sms":
        sid = f"SM{serial:032x}"
        base = {
            "AccountSid": ACCOUNT,
            "ApiVersion": "2010-04-01",
            "From": caller,
            "MessageSid": sid,
            "NumMedia": "0",
            "NumSegments": "1",
            "SmsMessageSid": sid,
            "SmsSid": sid,
            "SmsStatus": "received",
            "To": LINE_NUMBER,
        }
    else:
        base = {
            "AccountSid": ACCOUNT,
            "ApiVersion": "2010-04-01",
            "CallSid": f"CA{serial:032x}",
            "CallStatus": "in-progress",
            "Called": LINE_NUMBER,
            "Caller": caller,
            "Direction": "inbound",
            "From": caller,
            "To": LINE_NUMBER,
        }
    return {**base, **endpoint.fields}


def encode(fields: Mapping[str, str]) -> str:
    """The form as an application/x-www-form-urlencoded body."""
    return "&".join(f"{quote(k, safe='')}={quote(v, safe='')}" for k, v in fields.items())


def write_requests(path: Path, endpoint: Endpoint, base: str, token: str, serials: range) -> Path:
    """Write one signed request per serial: path TAB X-Twilio-Signature TAB body, a line each."""
    url = base + endpoint.path
    first = form(endpoint, serials.start)
    if signature(token, url, first) != RequestValidator(token).compute_signature(url, first):
        raise BenchError("the fast signature differs from twilio's RequestValidator")
    with path.open("w", encoding="ascii") as out:
        for serial in serials:
            fields = form(endpoint, serial)
            out.write(f"{endpoint.path}\t{signature(token, url, fields)}\t{encode(fields)}\n")
    return path


class Serials:
    """Hands out ranges of serials that never overlap, so no two requests share an id."""

    def __init__(self) -> None:
        self._next = 0

    def take(self, count: int) -> range:
        """The next `count` serials."""
        taken = range(self._next, self._next + count)
        self._next += count
        return taken


# One request, checked -------------------------------------------------------------


@dataclass(frozen=True)
class Answer:
    """A webhook's answer: status, content type, and the TwiML's root."""

    status: int
    content_type: str
    body: str

    def root(self) -> ET.Element:
        """The TwiML document."""
        return ET.fromstring(self.body)

    def words(self) -> str:
        """Everything said (<Say>) or texted (<Message>), spaces collapsed."""
        texts = (e.text or "" for e in self.root().iter() if e.tag in {"Say", "Message", "prosody"})
        return " ".join(" ".join(texts).split())

    def action(self) -> str:
        """Where the answer's <Gather> posts the caller's key or words."""
        gather = self.root().find("Gather")
        if gather is None or not gather.get("action"):
            raise BenchError(f"no <Gather action> in the answer:\n{self.body}")
        return gather.get("action", "")


def post(server: Server, endpoint: Endpoint, token: str, serial: int) -> Answer:
    """Send one signed request, as the load does."""
    fields = form(endpoint, serial)
    url = server.base + endpoint.path
    request = urllib.request.Request(
        url,
        data=encode(fields).encode(),
        headers={"X-Twilio-Signature": signature(token, url, fields)},
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return Answer(
                response.status, response.headers.get_content_type(), response.read().decode()
            )
    except urllib.error.HTTPError as exc:
        return Answer(exc.code, exc.headers.get_content_type(), exc.read().decode(errors="replace"))


def check(server: Server, endpoint: Endpoint, facts: MenuFacts, token: str, serial: int) -> Answer:
    """One request: a 200 with TwiML that says what the menu says; BenchError otherwise."""
    answer = post(server, endpoint, token, serial)
    where = f"{endpoint.name} (POST {endpoint.path} {dict(endpoint.fields)})"
    if answer.status != 200 or answer.content_type != "text/xml":
        raise BenchError(
            f"{where}: answered {answer.status} {answer.content_type}, not 200 text/xml:\n"
            f"{answer.body[:2000]}\n--- server log ---\n{server.log_text()[-4000:]}"
        )
    words = answer.words()
    if facts.fail_safe(endpoint.channel) in words:
        raise BenchError(
            f"{where}: the app's safety net answered (a fault):\n{words}\n"
            f"--- server log ---\n{server.log_text()[-4000:]}"
        )
    if facts.expected(endpoint) not in words:
        raise BenchError(f"{where}: expected {facts.expected(endpoint)!r} in:\n{words}")
    return answer


def plan(server: Server, facts: MenuFacts, token: str, serials: Serials) -> list[Endpoint]:
    """The six endpoints, their paths found as a call finds them: from each <Gather action>."""
    if not facts.topic_key:
        raise BenchError("no option of the main menu reads a topic: nothing for 'summary'")
    greeting = Endpoint("greeting", "voice", "/voice", large=True)
    menu = check(server, greeting, facts, token, serials.take(1).start).action()
    topic = Endpoint("topic key", "voice", menu, {"Digits": facts.topic_key})
    summary = post(server, topic, token, serials.take(1).start).action()
    return [
        greeting,
        Endpoint("menu key", "voice", menu, {"Digits": facts.menu_key}, large=True),
        Endpoint(
            "spoken choice",
            "voice",
            menu,
            {"SpeechResult": SPOKEN_WORD, "Confidence": "0.91"},
            large=True,  # what was said is matched against every keyword
        ),
        Endpoint("summary", "voice", summary, {"Digits": REPEAT_KEY}),
        Endpoint("SMS keyword", "sms", "/sms", {"Body": SMS_KEYWORD}, large=True),
        Endpoint("STOP", "sms", "/sms", {"Body": STOP_WORD}),
    ]
