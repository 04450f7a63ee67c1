"""The shape of menus.yaml and content/*.yaml, as immutable pydantic models."""

from __future__ import annotations

import re
from datetime import date, time
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import phonenumbers
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

LANGS = ("en", "es")
Lang = Literal["en", "es"]
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
HOURS = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)-([01]\d|2[0-4]):([0-5]\d)$")


class Model(BaseModel):
    """Immutable, strict about unknown keys."""

    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


NonEmpty = Field(min_length=1)


class Text(Model):
    """The same words in English and Spanish."""

    en: str = NonEmpty
    es: str = NonEmpty

    def __getitem__(self, lang: str) -> str:
        text: str = getattr(self, lang)
        return text


class Words(Model):
    """Lists of words or phrases per language."""

    en: tuple[str, ...] = ()
    es: tuple[str, ...] = ()

    def __getitem__(self, lang: str) -> tuple[str, ...]:
        words: tuple[str, ...] = getattr(self, lang)
        return words


def e164(value: str | None) -> str | None:
    """Accept only a valid phone number written in E.164 (+ and digits)."""
    if value is None:
        return None
    if not re.fullmatch(r"\+[1-9]\d{6,14}", value):
        raise ValueError(f"{value!r} is not in E.164 form, such as +12032450412")
    try:
        valid = phonenumbers.is_valid_number(phonenumbers.parse(value, None))
    except phonenumbers.NumberParseException:
        valid = False
    if not valid:
        raise ValueError(f"{value!r} is not a valid phone number")
    return value


class Closure(Model):
    """A day the center is closed beyond the public holidays."""

    date: date
    name: str = NonEmpty


class Holidays(Model):
    """Public holidays from the holidays package, plus the center's own closures."""

    country: str = "US"
    subdivision: str | None = None
    closures: tuple[Closure, ...] = ()

    @model_validator(mode="after")
    def _known(self) -> Holidays:
        import holidays

        try:
            holidays.country_holidays(self.country, subdiv=self.subdivision)
        except NotImplementedError as exc:
            raise ValueError(f"unknown holiday calendar: {exc}") from None
        return self


class Hours(Model):
    """Opening hours per weekday: "HH:MM-HH:MM" or "closed"."""

    monday: str = "closed"
    tuesday: str = "closed"
    wednesday: str = "closed"
    thursday: str = "closed"
    friday: str = "closed"
    saturday: str = "closed"
    sunday: str = "closed"

    @field_validator(*WEEKDAYS)
    @classmethod
    def _hours(cls, value: str) -> str:
        if value == "closed":
            return value
        match = HOURS.match(value)
        if not match:
            raise ValueError(f"{value!r} is not HH:MM-HH:MM (24-hour) or closed")
        opens, closes = value.split("-")
        if closes != "24:00" and time.fromisoformat(closes) <= time.fromisoformat(opens):
            raise ValueError(f"{value!r} closes before it opens")
        return value

    def span(self, weekday: int) -> tuple[time, time | None] | None:
        """Opening and closing time of weekday 0=Monday (close None = midnight); None if closed."""
        value = getattr(self, WEEKDAYS[weekday])
        if value == "closed":
            return None
        opens, closes = value.split("-")
        return time.fromisoformat(opens), None if closes == "24:00" else time.fromisoformat(closes)


class Center(Model):
    """Who the line belongs to and when a person can answer."""

    name: str = NonEmpty
    public_number: str
    staff_line: str
    backup_line: str | None = None
    alert_number: str | None = None
    time_zone: str
    hours: Hours
    holidays: Holidays = Holidays()

    @field_validator("public_number", "staff_line", "backup_line", "alert_number")
    @classmethod
    def _numbers(cls, value: str | None) -> str | None:
        return e164(value)

    @field_validator("time_zone")
    @classmethod
    def _zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r}, such as America/New_York") from None
        return value


class Language(Model):
    """How the line speaks and listens in one language."""

    name: str = NonEmpty
    voice: str = NonEmpty
    speech: str = NonEmpty


class Languages(Model):
    en: Language
    es: Language

    def __getitem__(self, lang: str) -> Language:
        language: Language = getattr(self, lang)
        return language


Key = Literal["0", "1", "2", "3", "4", "5", "6", "7", "8", "9", "*", "#"]


class Keys(Model):
    """Keys that mean the same thing in every menu."""

    counselor: Key = "0"
    back: Key = "*"
    repeat: Key = "9"
    slower: Key = "8"
    language: Key = "7"

    @model_validator(mode="after")
    def _distinct(self) -> Keys:
        used = list(self.model_dump().values())
        if len(set(used)) != len(used) or "#" in used:
            raise ValueError("each reserved key must be different, and # ends entry")
        return self


class Option(Model):
    """One choice in a voice menu: a topic, a submenu, or an action."""

    label: Text
    topic: str | None = None
    menu: str | None = None
    action: Literal["counselor", "callback", "voicemail"] | None = None

    @model_validator(mode="after")
    def _one_target(self) -> Option:
        if sum(x is not None for x in (self.topic, self.menu, self.action)) != 1:
            raise ValueError("an option needs exactly one of topic, menu or action")
        return self


class Menu(Model):
    """A voice menu: its options, said in order and numbered from 1."""

    intro: Text | None = None
    options: tuple[Option, ...] = Field(min_length=1)


class Topic(Model):
    """A subject the line can read or text, and the words that ask for it."""

    title: Text
    keywords: Words
    related: Words = Words()  # point here only when no topic's keyword is in the message
    priority: int = 0  # wins over topics of a lower one named in the same message


class VoiceWords(Model):
    """Words a caller may say instead of pressing a key."""

    counselor: Words
    repeat: Words
    slower: Words
    back: Words
    text: Words
    record: Words
    callback: Words
    english: Words
    spanish: Words


class Crisis(Model):
    """Phrases that get the safety reply first, and the words that say a phrase is not now."""

    overdose: Words
    suicide: Words
    overdose_past: Words = Words()
    suicide_past: Words = Words()
    suicide_lacking: Words = Words()
    without: Words = Words()
    attempted: Words = Words()
    not_now: Words = Words()
    long_ago: Words = Words()
    was_then: Words = Words()
    idioms: Words = Words()
    fiction: Words = Words()
    not_overdose: Words = Words()
    right_now: Words = Words()
    over: Words = Words()
    negation: Words = Words()
    skip: Words = Words()
    danger_words: Words = Words()
    clause_break: Words = Words()
    back_to_now: Words = Words()
    still_now: Words = Words()
    laughter: Words = Words()
    nervous: Words = Words()
    condition: Words = Words()
    what_to_do: Words = Words()


class Messages(Model):
    """Fixed things the line says or texts, in both languages."""

    greeting: Text
    language_offer: Text
    option: Text
    counselor_option: Text
    menu_keys: Text
    back_option: Text
    slower_offer: Text
    invalid: Text
    silence: Text
    after_summary: Text
    texted: Text
    text_opted_out: Text
    text_failed: Text
    connecting: Text
    safety: Text
    more_lines: Text
    no_answer: Text
    after_hours: Text
    message_offer: Text
    record_prompt: Text
    message_saved: Text
    callback_saved: Text
    storage_down: Text
    problem: Text
    goodbye: Text
    sms_footer: Text
    sms_menu: Text
    sms_unknown: Text
    sms_help: Text
    sms_stopped: Text
    sms_started: Text
    sms_crisis_overdose: Text
    sms_crisis_suicide: Text
    sms_callback: Text
    sms_wait: Text
    sms_optout_failed: Text
    sms_storage_down: Text
    sms_fallback: Text


class Staff(Model):
    """What staff hear and read (English only; never caller details)."""

    whisper: str = NonEmpty
    alert_voicemail: str = NonEmpty
    alert_voicemail_unsaved: str = NonEmpty
    alert_callback: str = NonEmpty
    alert_crisis: str = NonEmpty


# The fields each message may fill in; any other {name} is a mistake that would
# break a call at the moment it is said.
PLACEHOLDERS: dict[str, set[str]] = {
    "language_offer": {"key"},
    "option": {"label", "key"},
    "counselor_option": {"counselor"},
    "menu_keys": {"repeat"},
    "slower_offer": {"slower"},
    "back_option": {"back"},
    "after_summary": {"counselor", "back"},
    "after_hours": {"opening"},
    "message_offer": {"repeat"},
    "message_saved": {"when"},
    "callback_saved": {"when"},
    "sms_menu": {"keywords"},
    "sms_unknown": {"menu"},
    "sms_callback": {"when"},
    "whisper": {"language", "context"},
    "alert_crisis": {"kind", "language"},
}


class MenusFile(Model):
    """The whole of menus.yaml."""

    center: Center
    languages: Languages
    keys: Keys = Keys()
    menus: dict[str, Menu]
    topics: dict[str, Topic]
    voice_words: VoiceWords
    crisis: Crisis
    messages: Messages
    staff: Staff


class TopicContent(Model):
    """A topic's words: read aloud on a call, and sent as a text."""

    spoken: Text
    text: Text
