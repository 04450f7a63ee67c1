"""How the line is used, for the people who staff it: counts from the events, as values,
tables, CSV and accessible SVG charts.

Pure: the store hands over event rows and the people who waited (`Seen`, `Waited`); no
numbers reach this module, only the keyed hashes events keep. Everything is counted in
the center's time zone, so "Tuesday 9 p.m." is the center's Tuesday evening.
"""

from __future__ import annotations

import csv
import io
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from html import escape
from zoneinfo import ZoneInfo

from . import schedule
from .schema import Center

WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
ANSWERED = "answered"


@dataclass(frozen=True)
class Seen:
    """One event as the report needs it (never a number: `caller` is a keyed hash)."""

    at: datetime
    channel: str
    kind: str
    topic: str | None = None
    detail: str | None = None
    caller: str | None = None


@dataclass(frozen=True)
class Waited:
    """A person who asked for a counselor: when, and when staff handled it (None: waiting)."""

    at: datetime
    handled_at: datetime | None


@dataclass
class Activity:
    """The figures for one period."""

    first: date
    last: date
    calls: Counter[date] = field(default_factory=Counter)
    texts: Counter[date] = field(default_factory=Counter)
    topics_heard: Counter[str] = field(default_factory=Counter)
    topics_texted: Counter[str] = field(default_factory=Counter)
    transfers: Counter[tuple[int, int, bool]] = field(default_factory=Counter)  # day, hour, ok
    after_hours: Counter[str] = field(default_factory=Counter)  # channel -> contacts when closed
    crisis: Counter[tuple[str, str]] = field(default_factory=Counter)  # (channel, kind)
    waits: list[timedelta] = field(default_factory=list)  # how long until handled
    still_waiting: int = 0
    people: int = 0  # different callers and texters (keyed hashes)

    def days(self) -> list[date]:
        """Every day of the period, first to last."""
        return [self.first + timedelta(days=n) for n in range((self.last - self.first).days + 1)]

    def transfers_by(self, index: int) -> dict[int, tuple[int, int]]:
        """Transfers (answered, missed) by weekday (index 0) or hour (index 1)."""
        found: dict[int, tuple[int, int]] = {}
        for key, count in self.transfers.items():
            answered, missed = found.get(key[index], (0, 0))
            found[key[index]] = (answered + count, missed) if key[2] else (answered, missed + count)
        return found


def count(
    center: Center, first: date, last: date, events: Iterable[Seen], waited: Iterable[Waited]
) -> Activity:
    """The period's figures (days `first` to `last` in the center's time zone, both included)."""
    zone = ZoneInfo(center.time_zone)
    found = Activity(first, last)
    people = set()
    for event in events:
        local = event.at.astimezone(zone)
        if not first <= local.date() <= last:
            continue
        if event.caller:
            people.add(event.caller)
        starts = (event.channel, event.kind) == ("voice", "call-started") or (
            event.channel == "sms" and event.detail in ("reply", "silent")
        )
        if starts:
            (found.calls if event.channel == "voice" else found.texts)[local.date()] += 1
            if not schedule.is_open(center, event.at):
                found.after_hours[event.channel] += 1
        if event.kind == "topic-heard" and event.topic:
            found.topics_heard[event.topic] += 1
        elif event.channel == "sms" and event.kind == "keyword" and event.topic:
            found.topics_texted[event.topic] += 1
        elif event.kind == "transfer-outcome":
            found.transfers[(local.weekday(), local.hour, event.detail == ANSWERED)] += 1
        elif event.kind == "crisis":
            found.crisis[(event.channel, event.detail or event.topic or "crisis")] += 1
    for person in waited:
        if not first <= person.at.astimezone(zone).date() <= last:
            continue
        if person.handled_at is None:
            found.still_waiting += 1
        else:
            found.waits.append(person.handled_at - person.at)
    found.people = len(people)
    return found


def hours_text(wait: timedelta) -> str:
    """A wait in plain words: '45 min', '3 h 10 min', '2 days 4 h'."""
    minutes = int(wait.total_seconds() // 60)
    days, minutes = divmod(minutes, 24 * 60)
    hours, minutes = divmod(minutes, 60)
    if days:
        return f"{days} day{'s' if days > 1 else ''} {hours} h"
    return f"{hours} h {minutes} min" if hours else f"{minutes} min"


def summary(found: Activity) -> list[tuple[str, str]]:
    """The headline figures, as (what, how many) rows."""
    answered = sum(n for key, n in found.transfers.items() if key[2])
    missed = sum(n for key, n in found.transfers.items() if not key[2])
    waits = sorted(found.waits)
    return [
        ("Calls", str(sum(found.calls.values()))),
        ("Texts answered or received", str(sum(found.texts.values()))),
        ("Different people (hashed numbers)", str(found.people)),
        ("Calls put through to staff: answered", str(answered)),
        ("Calls put through to staff: missed", str(missed)),
        ("Calls when closed", str(found.after_hours["voice"])),
        ("Texts when closed", str(found.after_hours["sms"])),
        ("Crisis calls and texts", str(sum(found.crisis.values()))),
        ("Call-backs and voicemails handled", str(len(waits))),
        ("Typical wait until handled", hours_text(_middle(waits)) if waits else "-"),
        ("Longest wait until handled", hours_text(waits[-1]) if waits else "-"),
        ("Still waiting", str(found.still_waiting)),
    ]


def _middle(waits: list[timedelta]) -> timedelta:
    """The median of sorted waits."""
    half = len(waits) // 2
    return waits[half] if len(waits) % 2 else (waits[half - 1] + waits[half]) / 2


def as_csv(found: Activity) -> str:
    """One row a day (calls, texts), then the summary, topics and transfers, as CSV."""
    out = io.StringIO()
    write = csv.writer(out).writerow
    write(["day", "calls", "texts"])
    for day in found.days():
        write([day.isoformat(), found.calls[day], found.texts[day]])
    write([])
    write(["figure", "value"])
    for row in summary(found):
        write(row)
    write([])
    write(["topic", "heard on a call", "asked by text"])
    for topic in sorted(set(found.topics_heard) | set(found.topics_texted)):
        write([topic, found.topics_heard[topic], found.topics_texted[topic]])
    write([])
    write(["weekday", "transfers answered", "transfers missed"])
    by_day = found.transfers_by(0)
    for n, name in enumerate(WEEKDAYS):
        write([name, *by_day.get(n, (0, 0))])
    return out.getvalue()


@dataclass(frozen=True)
class Bar:
    """One group of bars in a chart: its label and its values (one per series)."""

    label: str
    values: tuple[int, ...]


def bar_chart(title: str, series: Sequence[str], bars: Sequence[Bar], chart_id: str) -> str:
    """An SVG bar chart readable without colour: each series has its own fill pattern and
    its name in a key, every bar carries its number, and the title and a description say
    what it shows (the same numbers are in a table next to it)."""
    width_bar, gap, height, top, left = 14, 10, 160, 40, 36
    group = width_bar * len(series) + gap
    width = left + group * max(len(bars), 1) + 20
    most = max((v for bar in bars for v in bar.values), default=0) or 1
    fills = ("#1f4e79", "url(#stripes)", "#ffffff")
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height + top + 50}" '
        f'width="{width}" role="img" aria-labelledby="{chart_id}-title {chart_id}-desc">',
        f'<title id="{chart_id}-title">{escape(title)}</title>',
        f'<desc id="{chart_id}-desc">{escape(_describe(series, bars))}</desc>',
        '<defs><pattern id="stripes" width="6" height="6" patternUnits="userSpaceOnUse" '
        'patternTransform="rotate(45)"><rect width="6" height="6" fill="#ffffff"/>'
        '<line x1="0" y1="0" x2="0" y2="6" stroke="#1f4e79" stroke-width="3"/></pattern></defs>',
        f'<line x1="{left}" y1="{top + height}" x2="{width - 10}" y2="{top + height}" '
        'stroke="#111"/>',
    ]
    for n, name in enumerate(series):  # the key
        x = left + n * 150
        parts.append(
            f'<rect x="{x}" y="8" width="12" height="12" fill="{fills[n % 3]}" stroke="#111"/>'
            f'<text x="{x + 18}" y="19" font-size="12">{escape(name)}</text>'
        )
    for n, bar in enumerate(bars):
        x0 = left + n * group
        for k, value in enumerate(bar.values):
            h = round(height * value / most)
            x = x0 + k * width_bar
            parts.append(
                f'<rect x="{x}" y="{top + height - h}" width="{width_bar - 2}" height="{h}" '
                f'fill="{fills[k % 3]}" stroke="#111"/>'
            )
            if value:
                parts.append(
                    f'<text x="{x + (width_bar - 2) / 2}" y="{top + height - h - 3}" '
                    f'font-size="10" text-anchor="middle">{value}</text>'
                )
        parts.append(
            f'<text x="{x0 + group / 2 - gap / 2}" y="{top + height + 16}" font-size="11" '
            f'text-anchor="middle">{escape(bar.label)}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


def _describe(series: Sequence[str], bars: Sequence[Bar]) -> str:
    said = [
        f"{bar.label}: " + ", ".join(f"{v} {s}" for s, v in zip(series, bar.values, strict=True))
        for bar in bars
    ]
    return "; ".join(said) if said else "Nothing in this period."


def charts(found: Activity) -> list[str]:
    """The page's charts: contacts per day, topics, transfers by weekday."""
    days = [Bar(d.strftime("%m-%d"), (found.calls[d], found.texts[d])) for d in found.days()]
    topics = sorted(set(found.topics_heard) | set(found.topics_texted))
    by_day = found.transfers_by(0)
    return [
        bar_chart("Calls and texts per day", ("calls", "texts"), days, "per-day"),
        bar_chart(
            "Topics heard and texted",
            ("heard on a call", "asked by text"),
            [Bar(t, (found.topics_heard[t], found.topics_texted[t])) for t in topics],
            "topics",
        ),
        bar_chart(
            "Calls put through to staff, by weekday",
            ("answered", "missed"),
            [Bar(name, by_day.get(n, (0, 0))) for n, name in enumerate(WEEKDAYS)],
            "transfers",
        ),
    ]
