"""On call and open now, call-backs and alerts, in real headless Chromium under gunicorn, on
SQLite and PostgreSQL, with every outbound REST call going to Prism (Twilio's API description).

Each page visited is checked as in test_console.py: axe-core finds no serious or critical
violation at a desktop width, at 200% zoom and at a phone's width, nothing scrolls sideways,
and a screenshot goes to artifacts/screenshots/.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import pytest
from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import WebDriverWait

from ivr import accounts, migrate
from ivr.store import Store

from ..caller import Caller
from ..conftest import app_settings
from ..server import Gunicorn
from .conftest import ADDED, ADMIN, COUNSELOR, COUNSELOR_PHONE, PASSWORD, Console
from .test_console import (
    assert_focus_seen,
    leave_a_voicemail,
    sign_in,
    tab_through,
    text,
    visit,
    wait_for_path,
)

LINE = "+12032450412"  # the shipped menu's public number and staff line
CALLER = "+12035550123"
TEXTER = "+12035559876"
ACCOUNT = "AC" + "0" * 32
CLOSED = "The center is closed now. We open again tomorrow at 9 a.m."


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def running(request, tmp_path_factory, postgres_database, prism):
    """As tests/browser/conftest.py's, with the REST API at Prism: the console places calls."""
    folder = tmp_path_factory.mktemp(f"oncall-{request.param}")
    url = f"sqlite:///{folder / 'store.sqlite3'}" if request.param == "sqlite" else None
    url = url or postgres_database()
    store = Store(url, "test-secret-key")
    migrate.upgrade(store.engine)
    hashed = accounts.hash_password(PASSWORD)
    assert store.add_staff(ADMIN, "admin", hashed, ADDED, "test")
    assert store.add_staff(COUNSELOR, "counselor", hashed, ADDED, "test", phone=COUNSELOR_PHONE)
    changes = {
        "DATABASE_URL": url,
        "IVR_STAFF_LOGINS_PER_MINUTE": "1000",
        "TWILIO_API_BASE": prism.base,
    }
    server = Gunicorn({**app_settings(folder), **changes}, folder / "gunicorn.log", workers=2)
    yield Console(server, store, request.param)
    server.stop()
    store.engine.dispose()


def status_says(page) -> str:
    status = WebDriverWait(page.driver, 10).until(
        lambda d: d.find_elements(By.CSS_SELECTOR, "[role=status]")
    )
    return status[0].text


def click(page, text: str) -> None:
    page.driver.find_element(By.XPATH, f"//button[normalize-space(.)='{text}']").click()


def press_zero(console) -> Caller:
    """A simulated call to the gunicorn server, signed as Twilio signs it: 0 for a person."""
    caller = Caller(console.wire, number=CALLER, line_number=LINE)
    caller.call()
    caller.press("0")
    return caller


def test_call_back_from_the_browser_rings_the_counselor_through_prism(console, page, prism):
    text(console, "CALL", "SM" + "5" * 32)
    [entry] = console.store.waiting()
    sign_in(page, console, COUNSELOR)
    mark = prism.mark()
    click(page, f"Call back #{entry.id} as the center")
    wait_for_path(page, "/staff")
    assert status_says(page).startswith(f"Calling your phone now for #{entry.id}.")
    [create] = [seen for seen in prism.requests(mark) if seen.path.endswith("/Calls.json")]
    assert create.method == "POST" and create.valid
    assert (create.form["To"], create.form["From"]) == (COUNSELOR_PHONE, LINE)
    answer = urlsplit(create.form["Url"])
    assert answer.netloc == urlsplit(console.server.base).netloc
    # Twilio then drives the counselor's leg through the signed webhooks, which bridge it.
    sid = console.store.callbacks([entry.id])[entry.id].call_sid
    leg = Caller(console.wire, number=LINE, line_number=COUNSELOR_PHONE)
    leg.sid = sid
    leg.post(answer.path, AnsweredBy="human")
    assert f"This is your call-back of entry {entry.id}" in leg.heard
    leg.press("1")
    dial = leg.dial
    assert (dial.get("callerId"), dial.find("Number").text) == (LINE, TEXTER)
    leg.post(dial.get("action"), DialCallStatus="completed", DialCallDuration="95")
    page.driver.refresh()
    assert f"{COUNSELOR} called back on" in page.driver.page_source
    assert "connected with the caller for 2 min" in page.driver.page_source
    page.check_page(f"{console.engine}-queue-called-back")


def test_an_admin_closes_the_line_and_a_call_hears_it_closed_then_opens_it(console, page):
    sign_in(page, console, ADMIN)
    page.driver.find_element(By.LINK_TEXT, "On call").click()
    wait_for_path(page, "/staff/on-call")
    page.check_page(f"{console.engine}-oncall")
    assert_focus_seen(tab_through(page, most=60))

    page.driver.find_element(By.ID, "close-reason").send_keys("Staff training")
    click(page, "Close the line now")
    wait_for_path(page, "/staff/on-call")
    assert status_says(page) == "The line is closed from the next call until Wed 02 Dec, 09:00."
    page.check_page(f"{console.engine}-oncall-closed")

    caller = press_zero(console)
    assert caller.said[0] == CLOSED and caller.root.find("Dial") is None

    page.driver.find_element(By.LINK_TEXT, "Waiting").click()
    wait_for_path(page, "/staff")
    banner = page.driver.find_element(By.CSS_SELECTOR, ".line-state")
    assert banner.find_element(By.TAG_NAME, "h2").text == "The line is closed now by an admin"
    assert "Reason: Staff training." in banner.text
    page.check_page(f"{console.engine}-queue-line-closed")

    page.driver.find_element(By.LINK_TEXT, "On call and open now: change it").click()
    wait_for_path(page, "/staff/on-call")
    click(page, "Back to the regular hours now")
    assert status_says(page) == "The line follows its regular hours again."
    caller = press_zero(console)
    assert caller.said[0] == "Please hold. We are connecting you with a counselor."
    assert caller.dial.find("Number").text == LINE


def test_an_admin_sets_who_is_on_call_and_a_counselor_sees_it_masked(console, page):
    sign_in(page, console, ADMIN)
    visit(page, console, "/staff/on-call", "oncall-admin")
    field = page.driver.find_element(By.ID, "staff_line")
    field.clear()
    field.send_keys("+12035550177")
    page.driver.find_element(By.ID, "backup_line").send_keys("+12035550188")
    click(page, "Save who is on call")
    assert status_says(page).startswith("Who is on call is changed.")
    caller = press_zero(console)
    assert caller.dial.find("Number").text == "+12035550177"
    caller.dial_ends("no-answer")
    assert caller.dial.find("Number").text == "+12035550188"
    caller.dial_ends("no-answer")  # both missed: the caller waits as a missed call

    click(page, "Sign out")
    sign_in(page, console, COUNSELOR)
    heading = page.driver.find_element(By.CSS_SELECTOR, ".entry h2").text
    assert heading.startswith("#") and "Missed call" in heading
    page.check_page(f"{console.engine}-queue-missed-call")
    visit(page, console, "/staff/on-call", "oncall-counselor")
    source = page.driver.page_source
    assert "number ending in 0177" in source and "number ending in 0188" in source
    assert not re.search(r"203555\d{4}", re.sub(r"\D", "", source))
    assert not page.driver.find_elements(By.ID, "staff_line")


def test_an_undelivered_alert_is_shown_in_the_console(console, page, prism):
    mark = prism.mark()
    text(console, "CALL", "SM" + "6" * 32)
    [alert] = [s.form for s in prism.requests(mark) if s.path.endswith("/Messages.json")]
    callback = urlsplit(alert["StatusCallback"])
    form = {
        "MessageSid": "SM" + "7" * 32,
        "AccountSid": ACCOUNT,
        "From": LINE,
        "To": LINE,
        "MessageStatus": "undelivered",
        "ErrorCode": "30003",
    }
    assert console.server.post(callback.path, form)[0] == 200
    sign_in(page, console, COUNSELOR)
    section = page.driver.find_element(By.CSS_SELECTOR, "section[aria-labelledby=alerts-title]")
    assert "not delivered (Twilio could not reach the phone), error 30003" in section.text
    assert "It could not be sent again: no backup line is set." in section.text
    page.check_page(f"{console.engine}-queue-alert-not-delivered")


def call_back_and_talk(page, console, prism, entry_id: int, number: str) -> None:
    """Press Call back on an entry; Twilio then drives the counselor's leg through the signed
    webhooks: answered, 1 pressed, bridged to `number` under the center's, 95 s of talk."""
    mark = prism.mark()
    click(page, f"Call back #{entry_id} as the center")
    calling = f"Calling your phone now for #{entry_id}."
    # The click loads a new page: a status found on the old one may be gone when it is read.
    WebDriverWait(page.driver, 10, ignored_exceptions=(StaleElementReferenceException,)).until(
        lambda d: any(
            e.text.startswith(calling) for e in d.find_elements(By.CSS_SELECTOR, "[role=status]")
        )
    )
    [create] = [seen for seen in prism.requests(mark) if seen.path.endswith("/Calls.json")]
    assert create.valid and create.form["To"] == COUNSELOR_PHONE
    leg = Caller(console.wire, number=LINE, line_number=COUNSELOR_PHONE)
    leg.sid = console.store.callbacks([entry_id])[entry_id].call_sid
    leg.post(urlsplit(create.form["Url"]).path, AnsweredBy="human")
    assert f"This is your call-back of entry {entry_id}" in leg.heard
    leg.press("1")
    dial = leg.dial
    assert (dial.get("callerId"), dial.find("Number").text) == (LINE, number)
    leg.post(dial.get("action"), DialCallStatus="completed", DialCallDuration="95")


def test_a_voicemail_and_a_crisis_text_are_called_back_and_handled_end_to_end(console, page, prism):
    """Issue 12's whole promise, on each engine: a simulated call leaves a voicemail and a
    simulated text is a crisis; both wait, each is called back as the center and handled."""
    leave_a_voicemail(console)
    assert "911" in text(console, "i think my brother is overdosing", "SM" + "6" * 32)
    waiting = {request.kind: request for request in console.store.waiting()}
    assert set(waiting) == {"voicemail", "crisis-text"}
    sign_in(page, console, COUNSELOR)
    for kind, number in (("voicemail", CALLER), ("crisis-text", TEXTER)):
        entry = waiting[kind]
        call_back_and_talk(page, console, prism, entry.id, number)
        page.driver.refresh()
        assert "connected with the caller for 2 min" in page.driver.page_source
        note = page.driver.find_element(By.ID, f"note-{entry.id}")
        note.send_keys("Called back, safe for now", Keys.ENTER)
        assert status_says(page) == f"#{entry.id} is marked handled."
    assert console.store.waiting() == []
    visit(page, console, "/staff/handled", "handled-end-to-end")
    rows = [row.text for row in page.driver.find_elements(By.CSS_SELECTOR, "tbody tr")]
    assert len(rows) == 2 and all("Called back, safe for now" in row for row in rows), rows
    assert all(COUNSELOR in row for row in rows), rows
