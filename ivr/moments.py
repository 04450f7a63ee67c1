"""The moments the preview can play the line at: now, after hours, a holiday, or any moment.

Pure: the center's hours and holidays (menus.yaml) and the line's clock in, choices out.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from . import schedule
from .schema import Center

EARLIEST, LATEST = 2000, 2100  # a moment outside these years is a typing slip
AFTER_CLOSING = timedelta(hours=2)  # "after hours": this long after an ordinary day closes
HOLIDAYS_SHOWN = 4  # the next holidays and closures offered
LOOK_AHEAD_DAYS = 400


class PreviewError(ValueError):
    """The preview was asked for something it cannot play (a moment it cannot read)."""


@dataclass(frozen=True)
class Moment:
    """One choice of the preview's "at" control: its value (ISO 8601, "" for the line's own
    clock) and what the menu calls it."""

    value: str
    label: str


def parse_at(text: str, time_zone: str) -> datetime | None:
    """A moment typed or chosen: ISO 8601, in the center's time zone when it has no offset;
    None for "" (the line's own clock). PreviewError when it cannot be read."""
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise PreviewError(f"not a date and time: {text[:40]!r}") from None
    if not EARLIEST <= moment.year < LATEST:
        raise PreviewError(f"a year from {EARLIEST} to {LATEST - 1}, please: {text[:40]!r}")
    return moment if moment.tzinfo else moment.replace(tzinfo=ZoneInfo(time_zone))


def _words(moment: datetime) -> str:
    return f"{moment:%a %d %b %Y, %H:%M %Z}"


def after_hours(center: Center, now: datetime) -> datetime | None:
    """The next evening of an ordinary open day (not a holiday), after closing: None when the
    center never closes on an open day."""
    zone = ZoneInfo(center.time_zone)
    today = now.astimezone(zone).date()
    for ahead in range(14):
        day = today + timedelta(days=ahead)
        hours = center.hours.span(day.weekday())
        if hours is None or hours[1] is None or schedule.closure(center, day):
            continue
        moment = datetime.combine(day, hours[1], zone) + AFTER_CLOSING
        if moment > now and not schedule.is_open(center, moment):
            return moment
    return None


def holidays(center: Center, now: datetime) -> list[tuple[str, datetime]]:
    """The next holidays and closures that fall on a day the center is open otherwise, each
    an hour after it would open."""
    zone = ZoneInfo(center.time_zone)
    today: date = now.astimezone(zone).date()
    found = []
    for ahead in range(LOOK_AHEAD_DAYS):
        day = today + timedelta(days=ahead)
        hours = center.hours.span(day.weekday())
        name = schedule.closure(center, day)
        if hours is None or name is None:
            continue
        moment = datetime.combine(day, hours[0], zone) + timedelta(hours=1)
        if moment > now:
            found.append((name, moment))
        if len(found) == HOLIDAYS_SHOWN:
            break
    return found


def choices(center: Center, now: datetime) -> list[Moment]:
    """The "at" control's presets: the line's clock, after hours, the next holidays."""
    zone = ZoneInfo(center.time_zone)
    state = "open" if schedule.is_open(center, now) else "closed"
    found = [Moment("", f"Now: {_words(now.astimezone(zone))} ({state})")]
    evening = after_hours(center, now)
    if evening is not None:
        found.append(Moment(evening.isoformat(), f"After hours: {_words(evening)}"))
    found += [
        Moment(moment.isoformat(), f"Holiday: {name}, {_words(moment)}")
        for name, moment in holidays(center, now)
    ]
    return found
