"""Opening hours, holidays and closures, and how the line says when it opens."""

from __future__ import annotations

from datetime import datetime

import pytest

from ivr import schedule


def at(text: str) -> datetime:
    return datetime.fromisoformat(text)


@pytest.mark.parametrize(
    ("now", "lang", "said"),
    [
        ("2026-12-01T07:00:00-05:00", "en", "today at 9 a.m."),
        ("2026-12-01T07:00:00-05:00", "es", "hoy a las 9 de la mañana"),
        ("2026-12-01T18:00:00-05:00", "en", "tomorrow at 9 a.m."),
        ("2026-12-04T18:00:00-05:00", "en", "on Monday at 9 a.m."),
        ("2026-12-04T18:00:00-05:00", "es", "el lunes a las 9 de la mañana"),
        ("2026-11-26T10:00:00-05:00", "en", "tomorrow at 9 a.m."),  # Thanksgiving
        ("2026-12-23T18:00:00-05:00", "en", "on Monday at 9 a.m."),  # closure, Christmas, weekend
        # Dec 31 is a closure and Jan 1 New Year's Day; Jan 2 and 3 are a weekend.
        ("2026-12-30T18:00:00-05:00", "en", "on Monday at 9 a.m."),
    ],
)
def test_opening_in_words(line, now, lang, said):
    assert schedule.opening(line.spec.center, at(now), lang) == said


@pytest.mark.parametrize(
    ("hour", "minute", "en", "es"),
    [
        (13, 30, "today at 1:30 p.m.", "hoy a la 1:30 de la tarde"),
        (0, 0, "today at 12 a.m.", "hoy a las 12 de la mañana"),
        (20, 15, "today at 8:15 p.m.", "hoy a las 8:15 de la noche"),
    ],
)
def test_say_moment(hour, minute, en, es):
    moment = at(f"2026-12-01T{hour:02d}:{minute:02d}:00-05:00")
    now = at("2026-12-01T00:00:00-05:00")
    assert schedule.say_moment(moment, now, "en") == en
    assert schedule.say_moment(moment, now, "es") == es


@pytest.mark.parametrize(
    ("now", "when"),
    [
        ("2026-12-01T10:00:00-05:00", "today"),
        ("2026-12-01T16:30:00-05:00", "after we open, tomorrow at 9 a.m."),  # closing soon
        ("2026-12-05T10:00:00-05:00", "after we open, on Monday at 9 a.m."),
    ],
)
def test_callback_promise(line, now, when):
    assert schedule.callback_when(line.spec.center, at(now), "en") == when


def test_hours_to_midnight_and_a_center_with_no_hours(line):
    always = line.spec.center.model_copy(
        update={"hours": line.spec.center.hours.model_copy(update={"tuesday": "18:00-24:00"})}
    )
    assert schedule.is_open(always, at("2026-12-01T23:59:00-05:00"))
    assert not schedule.is_open(always, at("2026-12-02T00:00:00-05:00"))
    closed = line.spec.center.model_copy(update={"hours": type(line.spec.center.hours)()})
    assert schedule.next_opening(closed, at("2026-12-01T10:00:00-05:00")) is None
    assert schedule.opening(closed, at("2026-12-01T10:00:00-05:00"), "es") == "lo antes posible"
