"""When a person can answer: opening hours, holidays and closures, an admin's "closed now" or
"open now" from the staff console, said in plain words."""

from __future__ import annotations

from dataclasses import dataclass
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


@dataclass(frozen=True)
class Override:
    """An admin closed the line, or opened it outside its hours, until a moment."""

    open: bool
    until: datetime


class OnCallCenter(Center):
    """menus.yaml's center with the staff console's changes: on-call numbers and an override."""

    override: Override | None = None


def override_at(center: Center, now: datetime) -> Override | None:
    """The admin's override in force at `now`, or None (none set, or it has ended)."""
    override = center.override if isinstance(center, OnCallCenter) else None
    return override if override is not None and now < override.until else None


def regular_open(center: Center, now: datetime) -> bool:
    """True when `now` is in the center's regular hours (menus.yaml), whatever an admin set."""
    local = now.astimezone(ZoneInfo(center.time_zone))
    span = _span(center, local.date())
    return span is not None and span[0] <= local < span[1]


def is_open(center: Center, now: datetime) -> bool:
    """True when staff answer the line at `now`: the admin's override while it lasts, else the
    regular hours."""
    override = override_at(center, now)
    return override.open if override is not None else regular_open(center, now)


def regular_opening(center: Center, now: datetime) -> datetime | None:
    """The next moment the regular hours begin after `now` (within 3 weeks), or None."""
    local = now.astimezone(ZoneInfo(center.time_zone))
    for ahead in range(22):
        span = _span(center, local.date() + timedelta(days=ahead))
        if span and span[0] > local:
            return span[0]
    return None


def regular_closing(center: Center, now: datetime) -> datetime | None:
    """When the regular opening period around `now` (or the next one) ends, or None."""
    local = now.astimezone(ZoneInfo(center.time_zone))
    span = _span(center, local.date())
    if span and span[0] <= local < span[1]:
        return span[1]
    opens = regular_opening(center, now)
    later = _span(center, opens.date()) if opens else None
    return later[1] if later else None


def next_opening(center: Center, now: datetime) -> datetime | None:
    """The next moment the line opens after `now`: when an admin's closing ends (or the regular
    opening after it), else the next regular opening."""
    override = override_at(center, now)
    if override is not None and not override.open:
        ends = override.until.astimezone(ZoneInfo(center.time_zone))  # said in the center's time
        return ends if regular_open(center, ends) else regular_opening(center, ends)
    return regular_opening(center, now)


def closes_at(center: Center, now: datetime) -> datetime | None:
    """When the line, open at `now`, stops answering; None when it is closed at `now`."""
    if not is_open(center, now):
        return None
    override = override_at(center, now)
    if override is not None:  # open by an admin: on into regular hours that follow, if any
        ends = override.until.astimezone(ZoneInfo(center.time_zone))
        return regular_closing(center, ends) if regular_open(center, ends) else ends
    return regular_closing(center, now)


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
    closes = closes_at(center, now)
    if closes is not None and now < closes - SOON:
        return "today" if lang == "en" else "hoy"
    when = opening(center, now, lang)
    return f"after we open, {when}" if lang == "en" else f"cuando abramos, {when}"
