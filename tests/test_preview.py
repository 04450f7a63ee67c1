"""The console's preview and menu map: exact transcripts of calls and texts played against the
sandbox, the "at" control, what it never touches (the queue, the figures, anyone's phone), and
who may open it (/staff signed in; /preview in development only)."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select

from ivr import moments
from ivr.driver import CALLER
from ivr.preview import ENDED, STATUS, voice_step
from ivr.sandbox import PREVIEW_NOW, SANDBOX, database_url
from ivr.store import Event
from ivr.texting import topic_text

from .test_staff import add_staff, sign_in, token

TOKEN = re.compile(r'id="csrf" value="([^"]+)"')
WAITS = {
    "en": "Waits 10 seconds for a key or words in English.",
    "es": "Waits 10 seconds for a key or words in Spanish.",
}
GREETING_EN = [
    (
        "say",
        "Line (English)",
        "Thank you for calling Waterstone Counseling Center. If this is "
        "an emergency or an overdose, hang up and dial 9 1 1.",
    ),
    ("say", "Line (Spanish)", "Para español, oprima el 7."),
    (
        "say",
        "Line (English)",
        "For treatment and medicines, press 1. For withdrawal and detox, "
        "press 2. For overdose and relapse, press 3. For signs of addiction, press 4. For privacy "
        "and contact information, press 5. For a counselor, press 0 at any time. To repeat, "
        "press 9.",
    ),
    ("wait", "Line", WAITS["en"]),
]
GREETING_ES = [
    ("you", "You", "Press 7."),
    (
        "say",
        "Line (Spanish)",
        "Gracias por llamar a Waterstone Counseling Center. Si es una "
        "emergencia o una sobredosis, cuelgue y marque el 9 1 1.",
    ),
    ("say", "Line (English)", "For English, press 7."),
    (
        "say",
        "Line (Spanish)",
        "Para tratamiento y medicinas, oprima 1. Para síntomas de abstinencia y "
        "desintoxicación, oprima 2. Para sobredosis y recaídas, oprima 3. Para señales de "
        "adicción, oprima 4. Para privacidad e información de contacto, oprima 5. Para hablar "
        "con un consejero, oprima el 0. Para oírlo otra vez, oprima 9.",
    ),
    ("wait", "Line", WAITS["es"]),
]
AFTER_SUMMARY = {
    "en": "To hear this again, press 1. To get it by text, press 2. To talk with a counselor, "
    "press 0. To go back to the menu, press star.",
    "es": "Para oír esto otra vez, oprima el 1. Para recibirlo por texto, oprima el 2. Para "
    "hablar con un consejero, oprima el 0. Para volver al menú, oprima asterisco.",
}
CONNECTING = {
    "en": "Please hold. We are connecting you with a counselor.",
    "es": "Espere, por favor. Ya lo comunicamos con un consejero.",
}
NAMES = {"en": "English", "es": "Spanish"}
RINGS = ("dial", "Line", "Rings the staff line for up to 20 seconds.")


class Page:
    """The preview as the page's script uses it: JSON posts with the session's CSRF token."""

    def __init__(self, client, path: str = "/preview"):
        self.client, self.path = client, path
        self.token = TOKEN.search(client.get(path).get_data(as_text=True)).group(1)
        self.state = None

    def post(self, what: str, body: dict):
        headers = {"X-CSRFToken": self.token}
        return self.client.post(f"{self.path}/{what}", json=body, headers=headers)

    def step(self, move: str, value: str = "", at: str = "") -> dict:
        body = {"move": move, "value": value, "state": self.state, "at": at}
        answer = self.post("call", body)
        assert answer.status_code == 200, answer.get_json()
        data = answer.get_json()
        self.state = data["state"]
        return data

    def text(self, words: str, at: str = "", number: str | None = None) -> dict:
        answer = self.post("text", {"body": words, "at": at, "from": number})
        assert answer.status_code == 200, answer.get_json()
        return answer.get_json()


def lines(data: dict) -> list[tuple[str, str, str]]:
    return [(item["kind"], item["who"], item["text"]) for item in data["items"]]


@pytest.fixture
def page(app):
    return Page(app.test_client())


@pytest.fixture
def sandbox(app, page):
    """The preview's sandbox, made by the first page step."""
    page.step("call")
    return app.extensions[SANDBOX]


# A call, key by key ------------------------------------------------------------------------


@pytest.mark.parametrize("lang", ["en", "es"])
def test_a_key_walk_to_a_summary_then_to_a_counselor(app, page, line, lang):
    start = page.step("call")
    assert lines(start) == GREETING_EN
    assert start["status"] == STATUS["gather"]
    assert start["clock"] == "Tue 01 Dec 2026 10:00 EST at the center: open"
    if lang == "es":
        assert lines(page.step("key", "7")) == GREETING_ES
    summary = page.step("key", "2")
    name = NAMES[lang]
    assert lines(summary) == [
        ("you", "You", "Press 2."),
        ("say", f"Line ({name})", line.content["withdrawal"].spoken[lang]),
        ("say", f"Line ({name})", AFTER_SUMMARY[lang]),
        ("wait", "Line", WAITS[lang]),
    ]
    speech = "en-US" if lang == "en" else "es-US"
    assert {(i["lang"], i["rate"]) for i in summary["items"] if i["kind"] == "say"} == {
        (speech, 1.0)
    }
    counselor = page.step("key", "0")
    assert lines(counselor) == [
        ("you", "You", "Press 0."),
        ("say", f"Line ({name})", CONNECTING[lang]),
        RINGS,
    ]
    assert counselor["status"] == STATUS["dial"]
    taken = page.step("key", "1")
    assert lines(taken) == [
        ("you", "You", "As the staff member, answer and press 1."),
        (
            "staff",
            "Staff phone hears",
            f"Help line call, in {name}, after the withdrawal and "
            "detox summary. Press 1 to take it. Press any other key or hang up to let it go.",
        ),
        ("note", "Preview", "The caller and the staff member now talk."),
        (
            "say",
            f"Line ({name})",
            "Thank you for calling. Take care of yourself."
            if lang == "en"
            else "Gracias por llamar. Cuídese mucho.",
        ),
        ("end", "Line", "Hangs up."),
    ]
    assert (taken["state"], taken["status"]) == (None, ENDED)


def test_slower_is_spoken_at_the_slower_rate(page):
    page.step("call")
    slower = page.step("key", "8")
    said = [(i["who"], i["lang"], i["rate"]) for i in slower["items"] if i["kind"] == "say"]
    assert said == [("Line (English, slower)", "en-US", 0.85)]


def test_typed_words_reach_the_line_as_speech(page, line):
    page.step("call")
    heard = page.step("words", "  methadone  ")
    assert lines(heard) == [
        ("you", "You", "Say: “methadone”."),
        ("say", "Line (English)", line.content["medications"].spoken["en"]),
        ("say", "Line (English)", AFTER_SUMMARY["en"]),
        ("wait", "Line", WAITS["en"]),
    ]
    assert lines(page.step("words", "counselor"))[-1] == RINGS
    assert lines(page.step("silence"))[0] == ("you", "You", "No one answers the staff phone.")


def test_a_message_left_and_a_topic_texted_are_shown_not_sent(app, page, line, monkeypatch):
    def never(*args, **kwargs):
        raise AssertionError("the preview sent a real text")

    monkeypatch.setattr(app.extensions["ivr.messenger"], "send", never)
    page.step("call")
    page.step("key", "2")
    texted = page.step("key", "2")
    sent = topic_text(line, "withdrawal", "en")
    assert lines(texted)[:3] == [
        ("you", "You", "Press 2."),
        ("text", "Line", f"Would text you (not sent in the preview): {sent}"),
        ("say", "Line (English)", "We sent this to your phone as a text."),
    ]
    page.step("key", "0")
    page.step("silence")  # no one answers: the message offer
    recording = page.step("key", "1")
    assert lines(recording)[-1] == (
        "record",
        "Line",
        "Records a message of up to 120 seconds; # ends it.",
    )
    assert recording["status"] == STATUS["record"]
    assert lines(page.step("key", "5")) == [
        ("note", "Preview", "5 does nothing here: only # ends a message.")
    ]
    saved = page.step("key", "#")
    texts = [text for kind, _, text in lines(saved) if kind == "text"]
    alert = (
        "Would text the staff phone (not sent in the preview): " + line.spec.staff.alert_voicemail
    )
    assert len(texts) == 1  # the alert may end with the console's link to the entry
    assert re.fullmatch(re.escape(alert) + r"( http://localhost/staff/entry/\d+)?", texts[0])
    assert (
        "say",
        "Line (English)",
        "Thank you. Your message is saved. A counselor will call you back today.",
    ) in lines(saved)
    assert lines(saved)[-1] == ("end", "Line", "Hangs up.")


def test_the_preview_leaves_nothing_in_the_queue_or_the_figures(app, page):
    page.step("call")
    page.step("key", "0")
    page.step("silence")
    page.step("key", "2")  # a call-back request
    page.text("I want to kill myself")  # a crisis text waits in the console, normally
    page.text("CALL")
    store = app.extensions["ivr.store"]
    assert store.waiting() == []
    with store.session() as session:
        assert session.execute(select(func.count()).select_from(Event)).scalar() == 0
    kept = app.extensions[SANDBOX].extensions["ivr.store"].waiting()
    assert sorted(r.kind for r in kept) == ["callback", "callback", "crisis-text"]
    assert {r.number for r in kept} == {CALLER}


# Texts -------------------------------------------------------------------------------------


def test_a_text_and_its_reply(page, line):
    assert lines(page.text("info metadona")) == [
        ("you", "You", "info metadona"),
        ("reply", "Line", topic_text(line, "medications", "es")),
    ]
    number = "+12035550177"  # another made-up texter
    page.text("STOP", number=number)
    assert lines(page.text("detox", number=number)) == [
        ("you", "You", "detox"),
        ("note", "Line", "No reply: this number opted out."),
    ]
    assert lines(page.text("detox"))[1][0] == "reply"  # the first texter did not opt out


def test_a_crisis_text_shows_the_staff_alert_in_opening_hours_only(page, line):
    alert = "Would text the staff phone (not sent in the preview): Crisis text on the help line"
    texts = [t for kind, _, t in lines(page.text("I want to kill myself")) if kind == "text"]
    assert len(texts) == 1 and texts[0].startswith(alert)
    closed = page.text("I want to kill myself", at="2026-12-25T10:00", number="+12035550150")
    assert [kind for kind, _, _ in lines(closed)] == ["you", "reply"]
    assert closed["clock"] == "Fri 25 Dec 2026 10:00 EST at the center: closed"


# The "at" control --------------------------------------------------------------------------


CLOSED = {
    "2026-12-01T19:00:00-05:00": "The center is closed now. We open again tomorrow at 9 a.m.",
    "2026-12-25T10:00": "The center is closed now. We open again on Monday at 9 a.m.",
}


@pytest.mark.parametrize(
    ("at", "clock"),
    [
        ("2026-12-01T19:00:00-05:00", "Tue 01 Dec 2026 19:00 EST at the center: closed"),
        ("2026-12-25T10:00", "Fri 25 Dec 2026 10:00 EST at the center: closed"),
    ],
)
def test_the_at_control_plays_the_line_after_hours_and_on_a_holiday(page, at, clock):
    assert page.step("call", at=at)["clock"] == clock
    closed = page.step("key", "0")
    assert closed["clock"] == clock  # the whole call keeps its moment
    assert lines(closed)[:2] == [
        ("you", "You", "Press 0."),
        ("say", "Line (English)", CLOSED[at]),
    ]
    assert lines(closed)[-1] == ("wait", "Line", WAITS["en"])  # the message offer


def test_the_presets_are_now_after_hours_and_the_next_holidays(line):
    now = datetime(2026, 12, 1, 15, 0, tzinfo=UTC)
    assert [(m.value, m.label) for m in moments.choices(line.spec.center, now)] == [
        ("", "Now: Tue 01 Dec 2026, 10:00 EST (open)"),
        ("2026-12-01T19:00:00-05:00", "After hours: Tue 01 Dec 2026, 19:00 EST"),
        ("2026-12-24T10:00:00-05:00", "Holiday: Christmas Eve, Thu 24 Dec 2026, 10:00 EST"),
        ("2026-12-25T10:00:00-05:00", "Holiday: Christmas Day, Fri 25 Dec 2026, 10:00 EST"),
        ("2026-12-31T10:00:00-05:00", "Holiday: New Year's Eve, Thu 31 Dec 2026, 10:00 EST"),
        ("2027-01-01T10:00:00-05:00", "Holiday: New Year's Day, Fri 01 Jan 2027, 10:00 EST"),
    ]


@pytest.mark.parametrize(
    ("at", "error"),
    [
        ("tomorrow", "The moment to play at cannot be read: not a date and time: 'tomorrow'."),
        (
            "1900-01-01T10:00",
            "The moment to play at cannot be read: a year from 2000 to 2099, "
            "please: '1900-01-01T10:00'.",
        ),
        (17, "The moment to play at is not a date and time."),
    ],
)
def test_a_moment_that_cannot_be_read_is_refused(page, at, error):
    answer = page.post("call", {"move": "call", "at": at})
    assert (answer.status_code, answer.get_json()) == (400, {"error": error})


def test_the_public_app_never_reads_the_previews_clock(app, client):
    # The sandbox reads PREVIEW_NOW from the WSGI environ; the line itself never does.
    christmas = datetime(2026, 12, 25, 15, tzinfo=UTC)
    form = {"CallSid": "CA" + "2" * 32, "From": CALLER, "To": "+12032450412", "Digits": "0"}
    answer = client.post(
        "/voice/menu?l=en&m=main", data=form, environ_overrides={PREVIEW_NOW: christmas}
    )
    assert "We are connecting you with a counselor" in answer.get_data(as_text=True)
    answer = client.post(
        "/voice/menu?l=en&m=main", data=form, headers={"X-Preview-Now": christmas.isoformat()}
    )
    assert "We are connecting you with a counselor" in answer.get_data(as_text=True)


# What the page may send --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "error"),
    [
        ({"move": "dance"}, "Send a move: call, key, words, silence or hangup."),
        ({"move": "key", "value": "A"}, "A key is one of 0 to 9, * and #."),
        ({"move": "key", "value": 5}, "A key is one of 0 to 9, * and #."),
        ([], "Send a move: call, key, words, silence or hangup."),
    ],
)
def test_a_move_the_line_has_no_key_for_is_refused(page, body, error):
    answer = page.post("call", body)
    assert (answer.status_code, answer.get_json()) == (400, {"error": error})


@pytest.mark.parametrize(
    ("url", "kept"),
    [
        ("/voice/menu?l=en&m=main", "/voice/menu?l=en&m=main"),
        ("/voice/dialed?l=es&m=main&w=asked", "/voice/dialed?l=es&m=main&w=asked"),
        ("/voice/callback/abc/connect", None),
        ("/staff/requests/1/handled", None),
        ("https://example.org/voice/menu", None),
        ("//example.org/voice/menu", None),
        ("/voice/../staff", None),
        (None, None),
    ],
)
def test_only_the_lines_own_voice_steps_are_followed(url, kept):
    assert voice_step(url) == kept


def test_a_call_state_from_elsewhere_is_no_call(page):
    page.step("call")
    page.state["wait"]["action"] = "https://example.org/voice/menu"
    assert lines(page.step("key", "1")) == [("note", "Preview", ENDED)]
    assert page.step("hangup")["items"] == [
        {"kind": "note", "who": "Preview", "text": ENDED, "lang": "", "rate": 1.0}
    ]


def test_the_sandbox_has_its_own_database(app, sandbox):
    assert sandbox.config["IVR"].DATABASE_URL == database_url(app.config["IVR"])
    assert database_url(app.config["IVR"]).endswith("/test-preview.sqlite3")
    assert sandbox.extensions["ivr.line"] is app.extensions["ivr.line"]


# Who may open it ---------------------------------------------------------------------------


PREVIEW_PATHS = [("GET", "/preview"), ("POST", "/preview/call"), ("POST", "/preview/text")]


@pytest.mark.parametrize(("method", "path"), PREVIEW_PATHS)
def test_preview_is_not_there_in_production(make_app, method, path):
    app = make_app(IVR_ENV="production", SECRET_KEY="a-production-secret-key")
    assert app.test_client().open(path, method=method, json={}).status_code == 404


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/staff/preview"),
        ("GET", "/staff/map"),
        ("POST", "/staff/preview/call"),
        ("POST", "/staff/preview/text"),
    ],
)
@pytest.mark.parametrize("env", ["production", "test"])
def test_the_console_preview_and_map_need_a_sign_in(make_app, method, path, env):
    app = make_app(IVR_ENV=env, SECRET_KEY="a-production-secret-key")
    client = app.test_client()
    if method == "GET":
        response = client.get(path)
        assert (response.status_code, response.location) == (302, f"/staff/login?next={path}")
    else:
        assert client.post(path, json={"move": "call"}).status_code == 403  # no CSRF token
        headers = {"X-CSRFToken": token(client)}  # a session, but not signed in
        response = client.post(path, json={"move": "call"}, headers=headers)
        assert (response.status_code, response.location) == (302, "/staff/login")


def test_signed_in_staff_play_the_line_in_the_console(app):
    add_staff(app)
    client = app.test_client()
    sign_in(client)
    page = Page(client, "/staff/preview")
    html = client.get("/staff/preview").text
    assert re.findall(r'data-key="([^"]+)"', html) == list("123456789*0#")
    assert '<a href="/staff/preview" aria-current="page">Preview</a>' in html
    assert lines(page.step("call")) == GREETING_EN
    assert lines(page.text("MENU"))[1][0] == "reply"


# The map -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("lang", "title"),
    [
        ("en", "Phone menu map (en): 15 places"),
        ("es", "Phone menu map (es): 15 places"),
        ("xx", "Phone menu map (en): 15 places"),
    ],
)
def test_the_map_page_draws_the_menu_and_tables_it(app, lang, title):
    add_staff(app)
    client = app.test_client()
    sign_in(client)
    html = client.get(f"/staff/map?lang={lang}").text
    svg = ET.fromstring(html[html.index("<svg") : html.index("</svg>") + 6])
    ns = "{http://www.w3.org/2000/svg}"
    assert svg.find(f"{ns}title").text == title
    assert svg.find(f"{ns}desc").text.startswith("One row a place")
    assert svg.find(f"{ns}style") is None  # the console forbids inline styles
    rows = re.findall(
        r"<tr>\s*<td>([^<]*)</td>\s*<th scope=\"row\" class=\"depth-(\d)\">([^<]*)<", html
    )
    assert rows[:3] == [
        ("(none: the greeting)", "0", "main menu" if lang != "es" else "menú principal"),
        ("1", "1", "treatment and medicines" if lang != "es" else "tratamiento y medicinas"),
        ("1 1", "2", "treatment basics" if lang != "es" else "saber del tratamiento"),
    ]
    assert len(rows) == 15
    assert "<td>English, Spanish</td>" in html
