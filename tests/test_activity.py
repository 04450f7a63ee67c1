"""How the line is used: events in, figures, CSV and charts out (ivr/activity.py)."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import date, datetime, timedelta

import pytest

from ivr import activity
from ivr.activity import Seen, Waited

SVG = "{http://www.w3.org/2000/svg}"


def at(text: str) -> datetime:
    """A moment at the center (New York time)."""
    return datetime.fromisoformat(text + "-05:00")


EVENTS = [
    Seen(at("2026-12-01T10:00"), "voice", "call-started", caller="a"),  # Tuesday, open
    Seen(at("2026-12-01T10:01"), "voice", "topic-heard", "withdrawal", caller="a"),
    Seen(at("2026-12-01T10:02"), "voice", "transfer-outcome", None, "answered", caller="a"),
    Seen(at("2026-12-01T21:30"), "voice", "call-started", caller="b"),  # closed
    Seen(at("2026-12-01T21:31"), "voice", "crisis", None, "overdose", caller="b"),
    Seen(at("2026-12-02T09:00"), "voice", "call-started", caller="c"),
    Seen(at("2026-12-02T09:05"), "voice", "transfer-outcome", None, "no-answer", caller="c"),
    Seen(at("2026-12-02T23:00"), "sms", "keyword", "medications", "reply", caller="d"),  # closed
    Seen(at("2026-12-02T23:01"), "sms", "crisis", None, "reply", caller="d"),
    Seen(at("2026-12-03T11:00"), "sms", "keyword", "withdrawal", "reply", caller="a"),
    Seen(at("2026-11-20T11:00"), "sms", "keyword", "withdrawal", "reply", caller="z"),  # before
]
WAITED = [
    Waited(at("2026-12-01T21:40"), at("2026-12-02T09:10")),  # 11 h 30 min
    Waited(at("2026-12-02T09:06"), at("2026-12-02T09:51")),  # 45 min
    Waited(at("2026-12-03T12:00"), None),
]


@pytest.fixture
def found(line):
    return activity.count(line.spec.center, date(2026, 12, 1), date(2026, 12, 3), EVENTS, WAITED)


def test_the_headline_figures(found):
    assert activity.summary(found) == [
        ("Calls", "3"),
        ("Texts answered or received", "3"),
        ("Different people (hashed numbers)", "4"),
        ("Calls put through to staff: answered", "1"),
        ("Calls put through to staff: missed", "1"),
        ("Calls when closed", "1"),
        ("Texts when closed", "2"),
        ("Crisis calls and texts", "2"),
        ("Call-backs and voicemails handled", "2"),
        ("Typical wait until handled", "6 h 7 min"),
        ("Longest wait until handled", "11 h 30 min"),
        ("Still waiting", "1"),
    ]


def test_days_topics_and_transfers(found):
    assert [(d.day, found.calls[d], found.texts[d]) for d in found.days()] == [
        (1, 2, 0),
        (2, 1, 2),
        (3, 0, 1),
    ]
    assert found.topics_heard == {"withdrawal": 1}
    assert found.topics_texted == {"medications": 1, "withdrawal": 1}
    assert found.transfers_by(0) == {1: (1, 0), 2: (0, 1)}  # Tuesday answered, Wednesday missed
    assert found.transfers_by(1) == {10: (1, 0), 9: (0, 1)}


@pytest.mark.parametrize(
    ("wait", "said"),
    [
        (timedelta(minutes=45), "45 min"),
        (timedelta(hours=3, minutes=10), "3 h 10 min"),
        (timedelta(days=1, hours=4), "1 day 4 h"),
        (timedelta(days=2, hours=4, minutes=59), "2 days 4 h"),
    ],
)
def test_waits_in_plain_words(wait, said):
    assert activity.hours_text(wait) == said


def test_the_csv_download(found):
    lines = activity.as_csv(found).splitlines()
    assert lines[:4] == ["day,calls,texts", "2026-12-01,2,0", "2026-12-02,1,2", "2026-12-03,0,1"]
    assert "Still waiting,1" in lines
    assert "withdrawal,1,1" in lines and "medications,0,1" in lines
    assert "Tue,1,0" in lines and "Wed,0,1" in lines


def test_charts_have_a_title_a_description_and_every_number(found):
    per_day, topics, transfers = (ET.fromstring(svg) for svg in activity.charts(found))
    assert per_day.get("role") == "img"
    assert per_day.find(f"{SVG}title").text == "Calls and texts per day"
    assert per_day.find(f"{SVG}desc").text == (
        "12-01: 2 calls, 0 texts; 12-02: 1 calls, 2 texts; 12-03: 0 calls, 1 texts"
    )
    numbers = [t.text for t in per_day.iter(f"{SVG}text") if t.text.isdigit()]
    assert sorted(numbers) == ["1", "1", "2", "2"]  # every bar above zero carries its value
    assert "Tue: 1 answered, 0 missed" in transfers.find(f"{SVG}desc").text
    assert topics.find(f"{SVG}title").text == "Topics heard and texted"


def test_an_empty_period_says_so(line):
    empty = activity.count(line.spec.center, date(2026, 1, 1), date(2026, 1, 1), [], [])
    chart = ET.fromstring(activity.charts(empty)[1])
    assert chart.find(f"{SVG}desc").text == "Nothing in this period."
    assert ("Typical wait until handled", "-") in activity.summary(empty)
