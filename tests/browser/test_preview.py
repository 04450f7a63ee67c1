"""The preview, the menu map and the activity page in real headless Chromium, under gunicorn.

The preview is walked with the keyboard alone: Tab to a control, Enter, and digits typed on
the keypad. Speech is checked through the page's hook (window.ivrPreview.spoken), which lists
each utterance handed to the browser's speech synthesis, not by listening. Every page is
checked as the console's are (axe-core at three sizes, no sideways scroll, screenshots).
"""

from __future__ import annotations

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import WebDriverWait

from .conftest import COUNSELOR
from .test_console import (
    FOCUS_STYLE,
    focused,
    press,
    sign_in,
    visible_ring,
    visit,
    wait_for_path,
)

SUMMARY_START = {
    "en": "When a person stops using heroin or other opioids, the body reacts.",
    "es": "Cuando una persona deja de usar heroína u otros opioides, el cuerpo reacciona.",
}
SPEECH = {"en": "en-US", "es": "es-US"}


def steps(page) -> int:
    """How many answers of the server the page has shown."""
    return page.driver.execute_script("return window.ivrPreview ? window.ivrPreview.steps : -1")


def then(page, done: int) -> None:
    """Wait until the page has shown its `done`-th answer."""
    WebDriverWait(page.driver, 20).until(lambda d: steps(page) >= done)
    problem = page.driver.find_element(By.ID, "problem")
    assert not problem.is_displayed(), problem.text


def tab_to(page, describe, most: int = 60):
    """Press Tab until the focus is on the element `describe` picks; that element."""
    for _ in range(most):
        press(page, Keys.TAB)
        element = focused(page)
        if describe(element):
            return element
    raise AssertionError("never reached by Tab")


def is_button(text: str):
    return lambda e: e.tag_name == "button" and e.text.strip() == text


def log(page, which: str) -> list[str]:
    """The transcript shown, one string a line."""
    return [li.text for li in page.driver.find_elements(By.CSS_SELECTOR, f"#{which}-log li")]


def spoken(page) -> list[dict]:
    return page.driver.execute_script("return window.ivrPreview.spoken")


def open_preview(page, console) -> None:
    """Sign in, then reach the preview from the console's navigation with the keyboard."""
    sign_in(page, console, COUNSELOR)
    link = tab_to(page, lambda e: e.tag_name == "a" and e.text == "Preview")
    assert visible_ring(page.driver.execute_script(FOCUS_STYLE, link))
    press(page, Keys.ENTER)
    wait_for_path(page, "/staff/preview")
    page.driver.execute_script("document.activeElement.blur()")


@pytest.mark.parametrize("lang", ["en", "es"])
def test_walk_to_a_summary_and_to_the_counselor_with_the_keyboard_alone(console, page, lang):
    open_preview(page, console)
    tab_to(page, is_button("Call the line"))
    press(page, Keys.ENTER)
    then(page, 1)
    assert log(page, "call")[0].startswith("Line (English): Thank you for calling Waterstone")
    key = tab_to(page, lambda e: e.get_attribute("data-key") == "1")
    assert visible_ring(page.driver.execute_script(FOCUS_STYLE, key))
    done = 1
    if lang == "es":
        press(page, "7")  # typed on the keypad: presses its 7
        done += 1
        then(page, done)
        assert "Line (Spanish): Gracias por llamar a Waterstone Counseling Center." in "\n".join(
            log(page, "call")
        )
    press(page, "2")
    then(page, done + 1)
    shown = log(page, "call")
    name = "English" if lang == "en" else "Spanish"
    assert "You: Press 2." in shown
    assert any(line.startswith(f"Line ({name}): {SUMMARY_START[lang]}") for line in shown)
    assert focused(page).get_attribute("data-key") == "2"  # the focus stays on the keypad
    press(page, "0")
    then(page, done + 2)
    assert log(page, "call")[-1] == "Line: Rings the staff line for up to 20 seconds."
    status = page.driver.find_element(By.ID, "call-status").text
    assert status.startswith("The line is ringing the staff phone.")

    said = spoken(page)
    summary = [s for s in said if s["text"].startswith(SUMMARY_START[lang])]
    assert [(s["lang"], s["rate"]) for s in summary] == [(SPEECH[lang], 1)]
    assert said[0]["lang"] == "en-US" and said[1] == {
        "text": "Para español, oprima el 7.",
        "lang": "es-US",
        "rate": 1,
    }
    page.check_page(f"{console.engine}-preview-{lang}")


def test_typed_words_and_a_text(console, page):
    open_preview(page, console)
    tab_to(page, is_button("Call the line"))
    press(page, Keys.ENTER)
    then(page, 1)
    tab_to(page, lambda e: e.get_attribute("id") == "words")
    press(page, "counselor", Keys.ENTER)  # Enter sends the words
    then(page, 2)
    assert "You: Say: “counselor”." in log(page, "call")
    assert log(page, "call")[-1] == "Line: Rings the staff line for up to 20 seconds."

    tab_to(page, lambda e: e.get_attribute("id") == "text-body")
    press(page, "info metadona", Keys.ENTER)
    then(page, 3)
    texts = log(page, "text")
    assert texts[0] == "You: info metadona"
    assert texts[1].startswith("Line: Las medicinas")
    assert focused(page).get_attribute("id") == "text-body"
    press(page, "STOP", Keys.ENTER)
    then(page, 4)
    press(page, "detox", Keys.ENTER)
    then(page, 5)
    assert log(page, "text")[-1] == "Line: No reply: this number opted out."
    page.check_page(f"{console.engine}-preview-texts")


def test_a_holiday_chosen_with_the_keyboard_closes_the_line(console, page):
    visit(page, console, "/preview", "preview-development")  # development: no sign-in
    choice = tab_to(page, lambda e: e.get_attribute("id") == "at-choice")
    options = [o.text for o in choice.find_elements(By.TAG_NAME, "option")]
    christmas = next(n for n, text in enumerate(options) if "Christmas Day" in text)
    press(page, *([Keys.ARROW_DOWN] * christmas))
    assert "Christmas Day" in choice.find_element(By.CSS_SELECTOR, "option:checked").text
    tab_to(page, is_button("Call the line"))
    press(page, Keys.ENTER)
    then(page, 1)
    clock = page.driver.find_element(By.ID, "clock").text
    assert clock == "Fri 25 Dec 2026 10:00 EST at the center: closed"
    tab_to(page, lambda e: e.get_attribute("data-key") == "1")
    press(page, "0")
    then(page, 2)
    assert "Line (English): The center is closed now. We open again on Monday at 9 a.m." in log(
        page, "call"
    )
    page.check_page(f"{console.engine}-preview-holiday")


def test_open_the_map_and_the_activity_page(console, page):
    sign_in(page, console, COUNSELOR)
    page.driver.find_element(By.LINK_TEXT, "Map").click()
    wait_for_path(page, "/staff/map")
    page.check_page(f"{console.engine}-map")
    assert page.driver.find_element(By.CSS_SELECTOR, "svg title").get_attribute("textContent") == (
        "Phone menu map (en): 15 places"
    )
    rows = page.driver.find_elements(By.CSS_SELECTOR, "table.places tbody tr")
    assert len(rows) == 15
    page.driver.find_element(By.LINK_TEXT, "Spanish").click()
    WebDriverWait(page.driver, 10).until(lambda d: d.current_url.endswith("lang=es"))
    page.check_page(f"{console.engine}-map-es")
    page.driver.find_element(By.LINK_TEXT, "Activity").click()
    wait_for_path(page, "/staff/activity")
    page.check_page(f"{console.engine}-activity")
    assert page.driver.find_element(By.TAG_NAME, "h1").text == "How the line was used"
