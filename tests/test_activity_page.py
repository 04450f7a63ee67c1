"""The console's activity page and its CSV, from what the webhooks really store."""

from __future__ import annotations

import re

from .caller import Caller
from .test_staff import ADMIN, CALLER, sign_in


def _use_the_line(app) -> None:
    """Two calls (one hears withdrawal, one asks for a counselor) and two texts."""
    client = app.test_client()
    first = Caller(client, number=CALLER)
    first.call()
    first.press("2")  # withdrawal and detox, read out
    second = Caller(client, number="+12035559876")
    second.call()
    second.press("0")  # the staff line
    second.dial_ends("no-answer")
    for body, sid in (("DETOX", "SM" + "a" * 32), ("metadona", "SM" + "b" * 32)):
        client.post("/sms", data={"MessageSid": sid, "From": CALLER, "Body": body})


def test_the_activity_page_counts_what_the_line_stored(console):
    _use_the_line(console)
    client = console.test_client()
    sign_in(client)
    page = client.get("/staff/activity?from=2026-12-01&to=2026-12-01").text
    assert "<h1>How the line was used</h1>" in page
    rows = dict(re.findall(r'<tr><th scope="row">([^<]+)</th><td>([^<]+)</td></tr>', page))
    assert rows["Calls"] == "2"
    assert rows["Texts answered or received"] == "2"
    assert rows["Different people (hashed numbers)"] == "2"
    assert rows["Calls put through to staff: missed"] == "1"
    assert page.count('role="img"') == 3  # three charts, each with a title and description
    assert '<desc id="per-day-desc">12-01: 2 calls, 2 texts</desc>' in page
    assert "5550123" not in re.sub(r"\D", "", page)


def test_the_csv_download(console):
    _use_the_line(console)
    client = console.test_client()
    sign_in(client, ADMIN)
    response = client.get("/staff/activity.csv?from=2026-12-01&to=2026-12-01")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert response.headers["Content-Disposition"] == (
        'attachment; filename="helpline-activity-2026-12-01-to-2026-12-01.csv"'
    )
    lines = response.text.splitlines()
    assert lines[:2] == ["day,calls,texts", "2026-12-01,2,2"]
    assert "withdrawal,1,1" in lines and "medications,0,1" in lines


def test_a_period_that_makes_no_sense_falls_back_to_the_last_30_days(console):
    client = console.test_client()
    sign_in(client)
    page = client.get("/staff/activity?from=yesterday&to=2026-13-45").text
    assert 'value="2026-11-02"' in page and 'value="2026-12-01"' in page
