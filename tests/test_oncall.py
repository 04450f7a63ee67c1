"""On call and open now: an admin's override of menus.yaml's on-call numbers and hours, from
the pure schedule to a call and a text through the real webhooks, on both engines."""

from __future__ import annotations

import html
import re
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from ivr import call, oncall, schedule
from ivr.oncall import OnCall, OnCallError
from ivr.reply import Where
from ivr.understand import Heard

from .caller import Caller
from .test_staff import ADMIN, COUNSELOR, NOW, add_staff, set_clock, sign_in, token

ZONE = ZoneInfo("America/New_York")
CALLER = "+12035550123"
SHIPPED = "+12032450412"  # menus.yaml's staff line, alert phone and public number


def at(text: str) -> datetime:
    return datetime.fromisoformat(text)


def closed_until(until: str) -> OnCall:
    return OnCall(hours_state="closed", hours_reason="snow", hours_until=at(until))


def open_until(until: str) -> OnCall:
    return OnCall(hours_state="open", hours_until=at(until))


# The schedule, pure ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("state", "moment", "is_open", "opening", "callback_when"),
    [
        # Tuesday 10:00, regular hours 9-17.
        (None, "2026-12-01T10:00:00-05:00", True, "2026-12-02T09:00:00-05:00", "today"),
        (
            closed_until("2026-12-02T09:00:00-05:00"),
            "2026-12-01T10:00:00-05:00",
            False,
            "2026-12-02T09:00:00-05:00",
            "after we open, tomorrow at 9 a.m.",
        ),
        (  # closed for a training until 13:00: the line opens again at 13:00, today
            closed_until("2026-12-01T13:00:00-05:00"),
            "2026-12-01T10:00:00-05:00",
            False,
            "2026-12-01T13:00:00-05:00",
            "after we open, today at 1 p.m.",
        ),
        (  # closed until Saturday noon: the next regular opening after it is Monday
            closed_until("2026-12-05T12:00:00-05:00"),
            "2026-12-01T10:00:00-05:00",
            False,
            "2026-12-07T09:00:00-05:00",
            "after we open, on Monday at 9 a.m.",
        ),
        (  # the override has ended: the regular hours again
            closed_until("2026-12-01T09:30:00-05:00"),
            "2026-12-01T10:00:00-05:00",
            True,
            "2026-12-02T09:00:00-05:00",
            "today",
        ),
        # Tuesday 20:00, after hours.
        (
            None,
            "2026-12-01T20:00:00-05:00",
            False,
            "2026-12-02T09:00:00-05:00",
            "after we open, tomorrow at 9 a.m.",
        ),
        (
            open_until("2026-12-01T23:00:00-05:00"),
            "2026-12-01T20:00:00-05:00",
            True,
            "2026-12-02T09:00:00-05:00",
            "today",
        ),
        (  # open until 20:30: less than an hour left, so the call-back is promised after opening
            open_until("2026-12-01T20:30:00-05:00"),
            "2026-12-01T20:00:00-05:00",
            True,
            "2026-12-02T09:00:00-05:00",
            "after we open, tomorrow at 9 a.m.",
        ),
        (  # open through the night into the regular hours: open until 17:00 tomorrow
            open_until("2026-12-02T09:00:00-05:00"),
            "2026-12-02T08:30:00-05:00",
            True,
            "2026-12-02T09:00:00-05:00",
            "today",
        ),
    ],
)
def test_an_override_decides_while_it_lasts(line, state, moment, is_open, opening, callback_when):
    center = oncall.effective_center(line, state)
    now = at(moment)
    assert schedule.is_open(center, now) is is_open
    assert schedule.next_opening(center, now) == at(opening)
    assert schedule.callback_when(center, now, "en") == callback_when


def test_the_closing_of_an_open_override_runs_on_into_regular_hours(line):
    center = oncall.effective_center(line, open_until("2026-12-02T10:00:00-05:00"))
    assert schedule.closes_at(center, at("2026-12-02T08:00:00-05:00")) == at(
        "2026-12-02T17:00:00-05:00"
    )
    assert schedule.closes_at(center, at("2026-12-01T12:00:00-05:00")) == at(
        "2026-12-02T17:00:00-05:00"  # open all night: from today's hours into tomorrow's
    )
    assert schedule.closes_at(center, at("2026-12-02T10:00:00-05:00")) == at(
        "2026-12-02T17:00:00-05:00"  # the override has ended: the regular hours
    )


@pytest.mark.parametrize(
    ("moment", "closed", "opened"),
    [
        # During the hours: closed for the rest of today; open (already) until tomorrow's start.
        ("2026-12-01T10:00:00-05:00", "2026-12-02T09:00:00-05:00", "2026-12-02T09:00:00-05:00"),
        # Before opening: closed for today's hours too.
        ("2026-12-01T07:00:00-05:00", "2026-12-02T09:00:00-05:00", "2026-12-01T09:00:00-05:00"),
        # Friday evening: closed for Monday's hours; open all weekend until Monday.
        ("2026-12-04T18:00:00-05:00", "2026-12-08T09:00:00-05:00", "2026-12-07T09:00:00-05:00"),
    ],
)
def test_until_the_regular_hours(line, moment, closed, opened):
    assert oncall.until_choices(line, at(moment)) == {"closed": at(closed), "open": at(opened)}


@pytest.mark.parametrize(
    ("state", "until", "reason", "message"),
    [
        ("closed", None, "snow", "Choose when it ends"),
        ("closed", NOW - timedelta(minutes=1), "snow", "The end you chose has passed"),
        ("closed", NOW, "snow", "The end you chose has passed"),
        ("closed", NOW + timedelta(days=15), "snow", "An override lasts 14 days at most"),
        ("closed", NOW + timedelta(hours=2), "  ", "Say why the line is closed"),
        ("closed", NOW + timedelta(hours=2), "x" * 121, "The reason has 120 characters"),
        ("shut", NOW + timedelta(hours=2), "snow", "Choose to close the line or to open it"),
    ],
)
def test_an_override_that_could_leave_the_line_wrong_is_refused(state, until, reason, message):
    with pytest.raises(OnCallError, match=message):
        oncall.check_override(state, until, reason, NOW)


@pytest.mark.parametrize(
    ("state", "until", "reason"),
    [
        ("closed", NOW + timedelta(days=14), "training"),
        ("open", NOW + timedelta(minutes=1), ""),
    ],
)
def test_an_override_that_ends_in_time_is_taken(state, until, reason):
    assert oncall.check_override(state, until, reason, NOW) is None


def test_the_effective_line_shares_what_was_built_from_the_menu(line):
    assert oncall.effective_line(line, None) is line
    assert oncall.effective_line(line, OnCall()) is line
    state = OnCall(staff_line="+12035550177", on_call_at=NOW, on_call_by=ADMIN)
    changed = oncall.effective_line(line, state)
    assert changed is oncall.effective_line(line, state)  # kept, not built again
    assert changed.spec.center.staff_line == "+12035550177"
    assert changed.spec.center.alert_number is None and changed.spec.center.backup_line is None
    assert changed.crisis is line.crisis and changed.keywords is line.keywords
    assert line.spec.center.staff_line == SHIPPED  # menus.yaml's is untouched


def test_the_call_core_takes_the_effective_line(line):
    """At the counselor key the core rings the console's staff line, or says it is closed."""
    moved = oncall.effective_line(
        line, OnCall(staff_line="+12035550177", on_call_at=NOW, on_call_by=ADMIN)
    )
    reply = call.at_menu(moved, Where(), Heard.from_form("0", None), NOW)
    assert [v.number for v in reply.verbs if hasattr(v, "number")] == ["+12035550177"]
    shut = oncall.effective_line(line, closed_until("2026-12-02T09:00:00-05:00"))
    reply = call.at_menu(shut, Where(), Heard.from_form("0", None), NOW)
    assert reply.events[-1] == ("after-hours", "", "")


# The console -------------------------------------------------------------------------


def admin(app):
    browser = app.test_client()
    sign_in(browser, ADMIN)
    return browser


def post(browser, path: str, form: dict) -> str:
    """Post a console form with its token; returns the page it leads to, unescaped."""
    response = browser.post(path, data={"csrf_token": token(browser, "/staff/on-call"), **form})
    assert (response.status_code, response.location) == (302, "/staff/on-call")
    return html.unescape(browser.get("/staff/on-call").get_data(as_text=True))


def close_now(browser, until: str = "regular", until_at: str = "", reason: str = "Snow storm"):
    form = {"close-until": until, "close-until_at": until_at, "close-reason": reason}
    return post(browser, "/staff/on-call/close", form)


def press_zero(app) -> Caller:
    caller = Caller(app.test_client(), number=CALLER)
    caller.call()
    caller.press("0")
    return caller


def test_an_admin_closes_the_line_and_the_next_call_hears_it_closed(console):
    browser = admin(console)
    page = close_now(browser)
    assert "The line is closed from the next call until Wed 02 Dec, 09:00." in page
    caller = press_zero(console)
    assert caller.said[:2] == [
        "The center is closed now. We open again tomorrow at 9 a.m.",
        "If this is an emergency or an overdose, hang up and dial 9 1 1. For a crisis, call "
        "or text 9 8 8, any time, day or night. 9 8 8 also helps with drug and alcohol crises.",
    ]
    assert caller.root.find("Dial") is None
    queue = browser.get("/staff").get_data(as_text=True)
    assert "The line is closed now by an admin" in queue
    assert "until <strong>Wed 02 Dec, 09:00 EST</strong>. Reason: Snow storm." in queue
    post(browser, "/staff/on-call/hours/clear", {})
    caller = press_zero(console)
    assert caller.dial.find("Number").text == SHIPPED
    whats = [(e.what, e.who, e.note) for e in console.extensions["ivr.store"].audit_entries()]
    assert whats[:2] == [
        ("hours override cleared", ADMIN, "back to the regular hours"),
        ("line closed", ADMIN, "until 2026-12-02 14:00 UTC: Snow storm"),
    ]


def test_a_closing_ends_by_itself(console):
    browser = admin(console)
    close_now(browser, "chosen", "2026-12-01T11:30")
    assert press_zero(console).root.find("Dial") is None
    set_clock(console, NOW + timedelta(minutes=90))  # 11:30 at the center
    assert press_zero(console).dial.find("Number").text == SHIPPED
    browser = admin(console)  # signed out meanwhile, after 30 idle minutes
    assert "The line is open (regular hours)" in browser.get("/staff").get_data(as_text=True)


def test_an_admin_opens_the_line_outside_its_hours(console):
    set_clock(console, datetime(2026, 12, 1, 20, 0, tzinfo=ZONE))
    assert press_zero(console).root.find("Dial") is None
    browser = admin(console)
    page = post(
        browser,
        "/staff/on-call/open",
        {"open-until": "chosen", "open-until_at": "2026-12-01T23:00", "open-reason": ""},
    )
    assert "The line is open now by an admin, outside its regular hours" in page
    caller = press_zero(console)
    assert caller.said == ["Please hold. We are connecting you with a counselor."]
    assert caller.dial.find("Number").text == SHIPPED


@pytest.mark.parametrize(
    ("form", "flashed"),
    [
        ({"close-until": "chosen", "close-until_at": ""}, "Choose when it ends"),
        ({"close-until": "chosen", "close-until_at": "2026-12-01T09:00"}, "has passed"),
        ({"close-until": "chosen", "close-until_at": "2026-12-20T09:00"}, "14 days at most"),
        ({"close-until": "regular", "close-reason": ""}, "Say why the line is closed"),
        ({"close-until": "sometime"}, "Choose when it ends"),
    ],
)
def test_a_closing_that_could_go_wrong_changes_nothing(quick_console, form, flashed):
    browser = admin(quick_console)
    page = post(browser, "/staff/on-call/close", {"close-reason": "snow", **form})
    assert re.search(f"<p>Nothing was changed: [^<]*{flashed}", page)
    assert quick_console.extensions["ivr.store"].line_state() == OnCall()


def test_an_admin_sets_who_is_on_call_and_calls_ring_them(console, prism):
    browser = admin(console)
    page = post(
        browser,
        "/staff/on-call/numbers",
        {"staff_line": "+1 203 555 0177", "backup_line": "+12035550188", "alert_number": ""},
    )
    assert "Who is on call is changed. It holds from the next call or text." in page
    assert 'value="+12035550177"' in page  # the admin editing sees the whole numbers
    caller = press_zero(console)
    assert caller.dial.find("Number").text == "+12035550177"
    caller.dial_ends("no-answer")
    assert caller.dial.find("Number").text == "+12035550188"  # the backup line now
    assert console.extensions["ivr.store"].audit_entries()[0].note == (
        "staff line ending in 0177, backup line ending in 0188, alert phone none"
    )
    post(browser, "/staff/on-call/numbers/clear", {})
    assert press_zero(console).dial.find("Number").text == SHIPPED


@pytest.mark.parametrize(
    ("form", "flashed"),
    [
        ({"staff_line": "", "backup_line": ""}, "not a phone number in E.164"),
        ({"staff_line": "+1203", "backup_line": ""}, "not a valid phone number: '+1203'"),
        ({"staff_line": "+12035550177", "backup_line": "backup"}, "not a phone number"),
    ],
)
def test_a_wrong_number_changes_nothing(quick_console, form, flashed):
    page = post(admin(quick_console), "/staff/on-call/numbers", form)
    assert re.search(f"<p>Nothing was changed: [^<]*{re.escape(flashed)}", page)
    assert quick_console.extensions["ivr.store"].line_state() == OnCall()


def test_a_counselor_reads_the_page_masked_and_changes_nothing(quick_console):
    post(
        admin(quick_console),
        "/staff/on-call/numbers",
        {"staff_line": "+12035550177", "backup_line": "", "alert_number": "+12035550199"},
    )
    counselor = quick_console.test_client()
    sign_in(counselor, COUNSELOR)
    page = counselor.get("/staff/on-call").get_data(as_text=True)
    assert "number ending in 0177" in page and "number ending in 0199" in page
    assert not re.search(r"\+?1?203555\d{4}", page)
    assert '<form class="stack"' not in page
    form = {"csrf_token": token(counselor, "/staff/on-call"), "close-until": "regular"}
    for path in ("close", "open", "hours/clear", "numbers", "numbers/clear"):
        assert counselor.post(f"/staff/on-call/{path}", data=form).status_code == 403
    assert quick_console.extensions["ivr.store"].line_state().staff_line == "+12035550177"


def test_the_text_line_honours_a_closing(make_app, db_url, prism):
    """A crisis text in hours alerts the on-call phone, not while an admin closed the line;
    a call-back request then promises the call after the line opens again."""
    console = make_app(DATABASE_URL=db_url, TWILIO_API_BASE=prism.base)
    add_staff(console, ADMIN, "admin")
    close_now(admin(console))
    mark = prism.mark()
    form = {"MessageSid": "SM" + "1" * 32, "From": CALLER, "To": SHIPPED, "Body": "CALL"}
    reply = console.test_client().post("/sms", data=form).get_data(as_text=True)
    assert "after we open, tomorrow at 9 a.m." in reply
    form = {**form, "MessageSid": "SM" + "2" * 32, "Body": "he is not breathing"}
    console.test_client().post("/sms", data=form)
    alerts = [seen.form["Body"] for seen in prism.requests(mark)]
    assert [body.split(" http")[0] for body in alerts] == [
        "New call back request on the help line. See the staff queue."
    ]


def test_ivr_call_shows_the_line_closed(console):
    from ivr.simulator import Simulator

    close_now(admin(console))
    simulator = Simulator(console, lambda _: "", lambda _: None)
    assert simulator.clock() == "[Tue 01 Dec 2026 10:00 EST at the center: closed]"


@pytest.fixture
def quick_console(make_app):
    """The app on SQLite only, with a counselor and an admin."""
    app = make_app(IVR_STAFF_LOGINS_PER_MINUTE="1000")
    add_staff(app)
    add_staff(app, ADMIN, "admin")
    return app
