"""The staff console in real headless Chromium, under gunicorn, on SQLite and PostgreSQL.

Every page a test visits is checked at a desktop width, at 200% zoom and at a phone's
width: axe-core finds no serious or critical WCAG 2.x A/AA violation, nothing scrolls
sideways, and a screenshot goes to artifacts/screenshots/.
"""

from __future__ import annotations

import re

from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import WebDriverWait

from ..caller import Caller
from .chrome import SCREENSHOTS
from .conftest import ADMIN, COUNSELOR, PASSWORD

CALLER = "+12035550123"  # leaves a voicemail
TEXTER = "+12035559876"  # texts CALL for a call back
LINE = "+12032450412"

FOCUS_STYLE = """
    const s = getComputedStyle(arguments[0]);
    return [s.outlineStyle, s.outlineWidth, s.outlineColor, s.boxShadow].join(" | ");
"""


def visit(page, console, path: str, name: str) -> None:
    """Open a console page and check it (axe-core, zoom, phone width, screenshot)."""
    page.driver.get(console.url(path))
    page.check_page(f"{console.engine}-{name}")


def sign_in(page, console, email: str) -> None:
    """Fill in the sign-in form and send it."""
    visit(page, console, "/staff/login", "login")
    page.driver.find_element(By.ID, "email").send_keys(email)
    page.driver.find_element(By.ID, "password").send_keys(PASSWORD)
    page.driver.find_element(By.CSS_SELECTOR, "form.stack button[type=submit]").click()
    wait_for_path(page, "/staff")


def wait_for_path(page, path: str) -> None:
    WebDriverWait(page.driver, 10).until(lambda d: d.current_url.split("?")[0].endswith(path))


def press(page, *keys: str) -> None:
    """Keys typed into whatever has the focus, as a keyboard would (no click first)."""
    ActionChains(page.driver).send_keys(*keys).perform()


def focused(page):
    """The element that has the keyboard focus."""
    return page.driver.switch_to.active_element


def tab_through(page, most: int = 40) -> list[tuple[str, str]]:
    """Tab from the top of the page to its end: each stop's name and its focus style."""
    page.driver.find_element(By.TAG_NAME, "body")  # the page is there
    page.driver.execute_script("document.activeElement.blur()")
    stops: list[tuple[str, str]] = []
    for _ in range(most):
        press(page, Keys.TAB)
        element = focused(page)
        name = f"{element.tag_name} {element.get_attribute('id') or element.text}".strip()
        if element.tag_name == "body" or (stops and name == stops[0][0]):
            break
        stops.append((name, page.driver.execute_script(FOCUS_STYLE, element)))
    return stops


def visible_ring(style: str) -> bool:
    """An outline of 2 px or more, or a box shadow: a focus a sighted keyboard user sees."""
    outline, width, _, shadow = style.split(" | ")
    return (outline not in ("none", "") and float(width.removesuffix("px")) >= 2) or (
        shadow != "none"
    )


def assert_focus_seen(stops: list[tuple[str, str]]) -> None:
    """Every stop of a tab_through shows where the focus is."""
    # An <audio controls> is the exception: Chromium rings the focused button inside its
    # own controls (play, menu), which no style of the element itself shows.
    unseen = [
        (n, ring) for n, ring in stops if not n.startswith("audio ") and not visible_ring(ring)
    ]
    assert not unseen, f"focus not visible on: {unseen}"


def leave_a_voicemail(console, seconds: int = 8) -> None:
    """A call through the real webhooks: 0 for a counselor, no answer, a message left."""
    caller = Caller(console.wire, number=CALLER, line_number=LINE)
    caller.call()
    caller.press("0")
    caller.dial_ends("no-answer")
    assert "press 1" in caller.heard.lower(), caller.heard  # the message offer
    caller.press("1")
    caller.records(seconds)


def text(console, body: str, sid: str, number: str = TEXTER) -> str:
    """A text to the line through the real webhook; the reply's TwiML."""
    status, reply = console.server.post(
        "/sms", {"MessageSid": sid, "From": number, "To": LINE, "Body": body}
    )
    assert status == 200, reply
    return reply


def entry_ids(page) -> list[str]:
    """The ids of the entries on the waiting list, in the order shown."""
    headings = page.driver.find_elements(By.CSS_SELECTOR, ".entry h2")
    return [h.get_attribute("id").removeprefix("entry-") for h in headings]


def entry_heading(page, kind: str):
    """The heading of the one waiting entry of this kind ("Voicemail", "Call-back request")."""
    [heading] = [
        h for h in page.driver.find_elements(By.CSS_SELECTOR, ".entry h2") if kind in h.text
    ]
    return heading


# (a) Signing in with the keyboard alone ------------------------------------------------


def test_sign_in_with_the_keyboard_alone_and_see_where_the_focus_is(console, page):
    visit(page, console, "/staff/login", "login")
    email = page.driver.find_element(By.ID, "email")
    unfocused = page.driver.execute_script(FOCUS_STYLE, email)

    press(page, Keys.TAB)
    skip = focused(page)
    assert skip.text == "Skip to main content"
    assert page.driver.execute_script("return arguments[0].getBoundingClientRect().top", skip) >= 0
    press(page, Keys.ENTER)  # the skip link takes the focus to the main content
    assert focused(page).get_attribute("id") == "main"

    press(page, Keys.TAB)
    assert focused(page).get_attribute("id") == "email"
    ring = page.driver.execute_script(FOCUS_STYLE, focused(page))
    style, width = ring.split(" | ")[:2]
    assert ring != unfocused, f"focus changes nothing: {ring}"
    assert style == "solid" and float(width.removesuffix("px")) >= 2, ring
    page.screenshot(SCREENSHOTS / f"{console.engine}-login-focus.png")

    press(page, COUNSELOR, Keys.TAB)
    assert focused(page).get_attribute("id") == "password"
    press(page, PASSWORD, Keys.TAB)
    button = focused(page)
    assert (button.tag_name, button.text) == ("button", "Sign in")
    assert page.driver.execute_script(FOCUS_STYLE, button).startswith("solid | 3px")
    press(page, Keys.ENTER)

    wait_for_path(page, "/staff")
    assert f"{COUNSELOR} (counselor)" in page.driver.page_source
    page.check_page(f"{console.engine}-queue-empty")


def test_every_control_shows_the_focus(console, page):
    leave_a_voicemail(console)
    sign_in(page, console, COUNSELOR)
    stops = tab_through(page)
    names = [name for name, _ in stops]
    assert names[0] == "a Skip to main content" and "button Sign out" in names
    assert any(name.startswith("input note-") for name in names), names
    assert any(name.startswith("button Mark #") for name in names), names
    assert_focus_seen(stops)


def test_a_wrong_password_is_said_on_the_page(console, page):
    visit(page, console, "/staff/login", "login")
    page.driver.find_element(By.ID, "email").send_keys(COUNSELOR)
    page.driver.find_element(By.ID, "password").send_keys("not the password", Keys.ENTER)
    problem = WebDriverWait(page.driver, 10).until(
        lambda d: d.find_elements(By.CSS_SELECTOR, "[role=alert]")
    )
    assert "The email or password is wrong." in problem[0].text
    page.check_page(f"{console.engine}-login-refused")


# (b) Who is waiting, from real webhooks ------------------------------------------------


def test_a_voicemail_and_a_call_back_request_wait_with_the_number_masked(console, page):
    leave_a_voicemail(console, seconds=8)
    text(console, "CALL", "SM" + "1" * 32)
    sign_in(page, console, COUNSELOR)
    page.check_page(f"{console.engine}-queue-waiting")

    source = page.driver.page_source
    voicemail = entry_heading(page, "Voicemail")
    callback = entry_heading(page, "Call-back request")
    assert len(entry_ids(page)) == 2
    entries = page.driver.find_elements(By.CSS_SELECTOR, ".entry")
    said = {e.find_element(By.TAG_NAME, "h2").text: e.text for e in entries}
    assert "number ending in 0123" in said[voicemail.text]
    assert "a recording of 8 seconds" in said[voicemail.text]
    assert "by phone" in said[voicemail.text]
    assert "number ending in 9876" in said[callback.text] and "by text" in said[callback.text]
    digits = re.sub(r"\D", "", source)
    for number in (CALLER, TEXTER):
        assert number not in source and number[2:] not in digits, number
        assert number[-7:] not in digits, number


def test_a_voicemail_has_a_play_control(console, page):
    leave_a_voicemail(console)
    sign_in(page, console, COUNSELOR)
    entry = entry_heading(page, "Voicemail").find_element(By.XPATH, "./ancestor::article")
    players = entry.find_elements(By.CSS_SELECTOR, "audio[controls], button, a")
    play = [p for p in players if p.tag_name == "audio" or "play" in p.text.lower()]
    assert play and play[0].is_displayed()


def test_a_waiting_entry_can_be_called_back(console, page):
    text(console, "CALL", "SM" + "4" * 32)
    sign_in(page, console, COUNSELOR)  # an account with a phone of its own
    entry = entry_heading(page, "Call-back request").find_element(By.XPATH, "./ancestor::article")
    buttons = [b for b in entry.find_elements(By.TAG_NAME, "button") if "Call back" in b.text]
    assert buttons and buttons[0].is_displayed() and buttons[0].is_enabled()


def test_a_crisis_text_waits_too(console, page):
    reply = text(console, "I think he is overdosing", "SM" + "2" * 32)
    assert "911" in reply  # the safety reply went out first
    sign_in(page, console, COUNSELOR)
    entry = entry_heading(page, "Crisis text").find_element(By.XPATH, "./ancestor::article")
    assert "an overdose happening now" in entry.text
    assert "number ending in 9876" in page.driver.page_source
    assert TEXTER[2:] not in re.sub(r"\D", "", page.driver.page_source)


# (c) Marking an entry handled ----------------------------------------------------------


def test_mark_handled_with_a_note_moves_it_to_handled(console, page):
    leave_a_voicemail(console)
    text(console, "CALL", "SM" + "3" * 32)
    sign_in(page, console, COUNSELOR)
    voicemail = entry_heading(page, "Voicemail").get_attribute("id").removeprefix("entry-")

    note = page.driver.find_element(By.ID, f"note-{voicemail}")
    note.send_keys("Called back, she is OK", Keys.ENTER)  # Enter sends the form
    status = WebDriverWait(page.driver, 10).until(
        lambda d: d.find_elements(By.CSS_SELECTOR, "[role=status]")
    )
    assert status[0].text == f"#{voicemail} is marked handled."
    assert voicemail not in entry_ids(page) and len(entry_ids(page)) == 1
    page.check_page(f"{console.engine}-queue-after-handling")

    page.driver.find_element(By.LINK_TEXT, "Handled").click()
    wait_for_path(page, "/staff/handled")
    page.check_page(f"{console.engine}-handled")
    stops = tab_through(page)
    assert "div" in [name.split()[0] for name, _ in stops], stops  # the table's scroll region
    assert_focus_seen(stops)
    [row] = page.driver.find_elements(By.CSS_SELECTOR, "tbody tr")
    cells = row.text
    assert f"#{voicemail} Voicemail" in cells and "Called back, she is OK" in cells
    assert COUNSELOR in cells and "ending in 0123" in cells
    assert CALLER[2:] not in re.sub(r"\D", "", page.driver.page_source)


# (d) The audit list: admins only -------------------------------------------------------


def test_the_admin_reads_the_audit_list_and_a_counselor_is_refused(console, page):
    sign_in(page, console, COUNSELOR)
    assert not page.driver.find_elements(By.LINK_TEXT, "Audit list")
    visit(page, console, "/staff/audit", "forbidden")
    assert page.driver.find_element(By.TAG_NAME, "h1").text == "Not for your role"
    page.driver.find_element(By.XPATH, "//button[.='Sign out']").click()
    wait_for_path(page, "/staff/login")

    sign_in(page, console, ADMIN)
    page.driver.find_element(By.LINK_TEXT, "Audit list").click()
    wait_for_path(page, "/staff/audit")
    page.check_page(f"{console.engine}-audit")
    rows = page.driver.find_elements(By.CSS_SELECTOR, "tbody tr")
    who_what = [[cell.text for cell in row.find_elements(By.TAG_NAME, "td")][:2] for row in rows]
    assert who_what == [[ADMIN, "login"], [COUNSELOR, "logout"], [COUNSELOR, "login"]]


# (e) Signing out -----------------------------------------------------------------------


def test_sign_out(console, page):
    sign_in(page, console, COUNSELOR)
    page.driver.find_element(By.XPATH, "//button[.='Sign out']").click()
    wait_for_path(page, "/staff/login")
    assert "You are signed out." in page.driver.find_element(By.CSS_SELECTOR, "[role=status]").text
    page.check_page(f"{console.engine}-signed-out")
    page.driver.get(console.url("/staff"))
    wait_for_path(page, "/staff/login")  # the session is gone
