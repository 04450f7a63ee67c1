"""When a person can answer: opening hours, holidays and closures, said in plain words."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

import holidays

from .schema import Center

DAYS = {
    "en": ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"),
    "es": ("lunes", "martes", "miércoles", "jueves", "viernes", "sábado", "domingo"),
}
SOON = timedelta(hours=1)  # less than this before closing, promise the next opening instead


@lru_cache(maxsize=8)
def _public_holidays(country: str, subdivision: str | None, year: int) -> holidays.HolidayBase:
    return holidays.country_holidays(country, subdiv=subdivision, years=year)


def closure(center: Center, day: date) -> str | None:
    """The name of the holiday or closure on `day`, or None when it is a normal day."""
    for extra in center.holidays.closures:
        if extra.date == day:
            return extra.name
    calendar = _public_holidays(center.holidays.country, center.holidays.subdivision, day.year)
    return calendar.get(day)


def _span(center: Center, day: date) -> tuple[datetime, datetime] | None:
    """Opening and closing moments of `day` in the center's zone, or None when closed."""
    hours = center.hours.span(day.weekday())
    if hours is None or closure(center, day):
        return None
    zone = ZoneInfo(center.time_zone)
    opens = datetime.combine(day, hours[0], zone)
    closes = datetime.combine(day, hours[1] or time(0), zone) + (
        timedelta(days=1) if hours[1] is None else timedelta(0)
    )
    return opens, closes


def is_open(center: Center, now: datetime) -> bool:
    """True when staff answer the line at `now`."""
    local = now.astimezone(ZoneInfo(center.time_zone))
    span = _span(center, local.date())
    return span is not None and span[0] <= local < span[1]


def next_opening(center: Center, now: datetime) -> datetime | None:
    """The next moment the center opens after `now` (within 3 weeks), or None."""
    local = now.astimezone(ZoneInfo(center.time_zone))
    for ahead in range(22):
        span = _span(center, local.date() + timedelta(days=ahead))
        if span and span[0] > local:
            return span[0]
    return None


def say_moment(moment: datetime, now: datetime, lang: str) -> str:
    """'today at 9 a.m.', 'on Monday at 1:30 p.m.' (en); 'hoy a las 9 de la mañana' (es)."""
    local_now = now.astimezone(moment.tzinfo)
    days = (moment.date() - local_now.date()).days
    hour = moment.hour % 12 or 12
    clock = f"{hour}:{moment.minute:02d}" if moment.minute else f"{hour}"
    if lang == "es":
        part = (
            "de la mañana"
            if moment.hour < 12
            else "de la tarde"
            if moment.hour < 19
            else "de la noche"
        )
        at = f"a la {clock} {part}" if hour == 1 else f"a las {clock} {part}"
        day = (
            "hoy" if days == 0 else "mañana" if days == 1 else f"el {DAYS['es'][moment.weekday()]}"
        )
        return f"{day} {at}"
    at = f"at {clock} {'a.m.' if moment.hour < 12 else 'p.m.'}"
    day = (
        "today" if days == 0 else "tomorrow" if days == 1 else f"on {DAYS['en'][moment.weekday()]}"
    )
    return f"{day} {at}"


def opening(center: Center, now: datetime, lang: str) -> str:
    """When the center opens next, in words; a kind fallback if no hours are set."""
    moment = next_opening(center, now)
    if moment is None:
        return "as soon as we can" if lang == "en" else "lo antes posible"
    return say_moment(moment, now, lang)


def callback_when(center: Center, now: datetime, lang: str) -> str:
    """When staff will call back: today if open for a while yet, else after the next opening."""
    local = now.astimezone(ZoneInfo(center.time_zone))
    span = _span(center, local.date())
    if span and span[0] <= local < span[1] - SOON:
        return "today" if lang == "en" else "hoy"
    when = opening(center, now, lang)
    return f"after we open, {when}" if lang == "en" else f"cuando abramos, {when}"
