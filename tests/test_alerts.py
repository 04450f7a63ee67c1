"""Alerts people can trust: each staff alert links its console entry, goes to the effective
alert phone with a status callback (checked by Prism against Twilio's API description), keeps
its delivery status from the signed webhook, and an undelivered one is retried once to the
backup line and shown in the console. On both engines."""

from __future__ import annotations

import html
import re

import pytest

from .caller import Caller
from .conftest import twilio_signature
from .test_staff import ADMIN, NOW, add_staff, sign_in

CALLER = "+12035550123"
CENTER = "+12032450412"
ALERT, BACKUP, STAFF_LINE = "+12035550199", "+12035550188", "+12035550177"
ACCOUNT = "AC" + "0" * 32
EMPTY = '<?xml version="1.0" encoding="UTF-8"?><Response/>'
VOICEMAIL = "New voicemail on the help line. Listen to it in the staff queue."
STATUS_URL = re.compile(r"http://localhost/sms/alert-status/[A-Za-z0-9_-]{32}")


@pytest.fixture
def alerting(make_app, db_url, prism):
    """The app on each engine, texting through Prism, with on-call numbers set in the console."""
    app = make_app(DATABASE_URL=db_url, TWILIO_API_BASE=prism.base)
    add_staff(app, ADMIN, "admin")
    app.extensions["ivr.store"].set_on_call(STAFF_LINE, BACKUP, ALERT, ADMIN, NOW)
    return app


def texts(prism, mark):
    """The texts Prism was asked to send since `mark`: (valid, form)."""
    return [(seen.valid, seen.form) for seen in prism.requests(mark) if "/Messages" in seen.path]


def voicemail(app, prism) -> tuple[int, dict]:
    """A caller whom no one answered leaves a message; returns its entry and the alert sent."""
    caller = Caller(app.test_client(), number=CALLER)
    caller.call()
    caller.press("0")
    caller.dial_ends("no-answer")  # the staff line
    caller.dial_ends("no-answer")  # the backup line
    mark = prism.mark()
    caller.press("1")
    caller.records(20)
    [(valid, alert)] = texts(prism, mark)
    assert valid
    [entry] = app.extensions["ivr.store"].waiting()
    return entry.id, alert


def status(app, url: str, state: str, signed: bool = True, **fields: str):
    """Twilio's status callback for one alert, signed as Twilio signs it."""
    form = {
        "MessageSid": "SM" + "9" * 32,
        "AccountSid": ACCOUNT,
        "From": CENTER,
        "To": ALERT,
        "MessageStatus": state,
        "SmsStatus": state,
        "ApiVersion": "2010-04-01",
        **fields,
    }
    headers = {"X-Twilio-Signature": twilio_signature(url, form) if signed else None}
    return app.test_client().post(url.removeprefix("http://localhost"), data=form, headers=headers)


def alert_rows(app):
    from ivr.tables import Alert

    with app.extensions["ivr.store"].session() as s:
        rows = s.query(Alert).order_by(Alert.id).all()
    return [(a.sent_to, a.phone, a.status, a.error_code, a.retry_of is not None) for a in rows]


def test_an_alert_links_its_entry_and_asks_for_its_delivery_status(alerting, prism):
    entry, alert = voicemail(alerting, prism)
    assert alert["To"] == ALERT and alert["From"] == CENTER
    assert alert["Body"] == f"{VOICEMAIL} http://localhost/staff/entry/{entry}"
    assert STATUS_URL.fullmatch(alert["StatusCallback"])
    assert alert_rows(alerting) == [("alert", ALERT, "sent", None, False)]
    browser = alerting.test_client()
    sign_in(browser, ADMIN)
    response = browser.get(f"/staff/entry/{entry}")
    assert (response.status_code, response.location) == (302, f"/staff#entry-{entry}")


@pytest.mark.parametrize(
    ("state", "error", "rows", "retried"),
    [
        ("delivered", "", [("alert", ALERT, "delivered", None, False)], False),
        ("sent", "", [("alert", ALERT, "sent", None, False)], False),
        (
            "undelivered",
            "30003",
            [
                ("alert", ALERT, "undelivered", "30003", False),
                ("backup", BACKUP, "sent", None, True),
            ],
            True,
        ),
        (
            "failed",
            "30008",
            [("alert", ALERT, "failed", "30008", False), ("backup", BACKUP, "sent", None, True)],
            True,
        ),
    ],
)
def test_each_status_is_kept_and_an_undelivered_alert_goes_to_the_backup_line_once(
    alerting, prism, state, error, rows, retried
):
    _, alert = voicemail(alerting, prism)
    mark = prism.mark()
    for _ in range(2):  # Twilio may post the same status twice: one retry at most
        response = status(alerting, alert["StatusCallback"], state, ErrorCode=error)
        assert (response.status_code, response.get_data(as_text=True)) == (200, EMPTY)
    again = texts(prism, mark)
    assert alert_rows(alerting) == rows
    if not retried:
        assert again == []
        return
    [(valid, retry)] = again
    assert valid and (retry["To"], retry["From"], retry["Body"]) == (BACKUP, CENTER, alert["Body"])
    assert STATUS_URL.fullmatch(retry["StatusCallback"])
    assert retry["StatusCallback"] != alert["StatusCallback"]
    mark = prism.mark()
    status(alerting, retry["StatusCallback"], "undelivered", To=BACKUP)  # a retry is not retried
    assert texts(prism, mark) == []
    assert alert_rows(alerting)[1][2] == "undelivered"


def test_a_final_status_is_never_undone(alerting, prism):
    _, alert = voicemail(alerting, prism)
    status(alerting, alert["StatusCallback"], "delivered")
    status(alerting, alert["StatusCallback"], "sent")  # late, out of order
    assert alert_rows(alerting) == [("alert", ALERT, "delivered", None, False)]


def test_the_console_shows_alerts_not_delivered(alerting, prism):
    entry, alert = voicemail(alerting, prism)
    mark = prism.mark()
    status(alerting, alert["StatusCallback"], "undelivered", ErrorCode="30003")
    [(_, retry)] = texts(prism, mark)
    status(alerting, retry["StatusCallback"], "delivered", To=BACKUP)
    browser = alerting.test_client()
    sign_in(browser, ADMIN)
    page = html.unescape(browser.get("/staff").get_data(as_text=True))
    assert "Staff alerts not delivered (last 7 days)" in page
    said = re.search(r"<li>(Tue 01 Dec, 10:00: the alert to the alert phone[^<]*)</li>", page)
    assert said.group(1) == (
        "Tue 01 Dec, 10:00: the alert to the alert phone (number ending in 0199), not "
        "delivered (Twilio could not reach the phone), error 30003: "
        f"\u201c{VOICEMAIL} http://localhost/staff/entry/{entry}\u201d. It was sent again to "
        "the backup line (number ending in 0188): delivered."
    )


def test_with_no_backup_line_the_console_says_it_was_not_sent_again(alerting, prism):
    alerting.extensions["ivr.store"].set_on_call(STAFF_LINE, None, ALERT, ADMIN, NOW)
    _, alert = voicemail_no_backup(alerting, prism)
    mark = prism.mark()
    status(alerting, alert["StatusCallback"], "failed")
    assert texts(prism, mark) == []
    browser = alerting.test_client()
    sign_in(browser, ADMIN)
    page = html.unescape(browser.get("/staff").get_data(as_text=True))
    assert "the alert to the alert phone (number ending in 0199), failed (Twilio could " in page
    assert "It could not be sent again: no backup line is set." in page


def voicemail_no_backup(app, prism):
    caller = Caller(app.test_client(), number=CALLER)
    caller.call()
    caller.press("0")
    caller.dial_ends("busy")
    mark = prism.mark()
    caller.press("1")
    caller.records(20)
    [(_, alert)] = texts(prism, mark)
    return None, alert


def test_the_status_callback_needs_twilios_signature(alerting, prism):
    _, alert = voicemail(alerting, prism)
    mark = prism.mark()
    response = status(alerting, alert["StatusCallback"], "undelivered", signed=False)
    assert response.status_code == 403
    assert texts(prism, mark) == []
    assert alert_rows(alerting) == [("alert", ALERT, "sent", None, False)]


@pytest.mark.parametrize("ref", ["x", "A" * 32, "%20"])
def test_an_unknown_alert_changes_nothing(alerting, prism, ref):
    _, alert = voicemail(alerting, prism)
    mark = prism.mark()
    response = status(alerting, f"http://localhost/sms/alert-status/{ref}", "undelivered")
    assert (response.status_code, response.get_data(as_text=True)) == (200, EMPTY)
    assert texts(prism, mark) == []
    assert alert_rows(alerting) == [("alert", ALERT, "sent", None, False)]


def test_a_crisis_text_alert_links_the_crisis_entry(alerting, prism):
    mark = prism.mark()
    form = {"MessageSid": "SM" + "4" * 32, "From": CALLER, "To": CENTER, "Body": "i took too much"}
    form["Body"] = "my brother is not breathing"
    assert alerting.test_client().post("/sms", data=form).status_code == 200
    [entry] = alerting.extensions["ivr.store"].waiting()
    [(valid, alert)] = texts(prism, mark)
    assert valid and alert["To"] == ALERT
    assert alert["Body"] == (
        "Crisis text on the help line (overdose, in English). The 911 and 988 reply was sent. "
        f"No details are kept. http://localhost/staff/entry/{entry.id}"
    )


def test_alerts_are_purged_with_the_rest_and_the_on_call_stays(alerting, prism):
    from datetime import timedelta

    voicemail(alerting, prism)
    store = alerting.extensions["ivr.store"]
    store.purge(NOW + timedelta(days=1))
    assert alert_rows(alerting) == []
    assert store.line_state().alert_number == ALERT  # what an admin set is not a record to purge
